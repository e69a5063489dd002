package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/wxmedia/wxmedia/uploader"
)

// headSize is how many leading bytes are kept for magic-byte checks.
const headSize = uploader.MagicHeadSize

// FileResult is what hashing one source file found.
type FileResult struct {
	SHA256 string // lowercase hex; "" when Err is set
	Size   int64
	Head   []byte // the first bytes, for magic-byte checks
	Err    error  // the file could not be read as a regular file
	cached bool   // the stat cache vouched for it: nothing was read
}

// Check applies the API's rules to the file: readable regular file, then
// the spec's suffix, size, emptiness and magic-byte rules.
func (f FileResult) Check(spec uploader.Spec, filename string) error {
	if f.Err != nil {
		return f.Err
	}
	return uploader.CheckFile(spec, filename, f.Size, f.Head)
}

// HashFiles hashes the files at paths on all cores, streaming each file
// through SHA-256 with a fixed buffer per worker. Results are in the order
// of paths.
func HashFiles(paths []string) []FileResult {
	return (*StatCache)(nil).Hash(paths)
}

// readBuffer is the buffer each hashing worker streams files through:
// memory does not grow with file sizes.
const readBuffer = 256 << 10

// fileWorker is what each hashing worker keeps: its read buffer and the
// directory it last looked into.
type fileWorker struct {
	buf  []byte
	dirs dirStat
	// hex is where hexString writes the next hex digest.
	hex []byte
}

// forEachFile runs fn for 0..n-1 on one worker per CPU. Workers take
// indices in small blocks from a shared counter (no channel per file), and
// each has its own read buffer.
func forEachFile(n int, fn func(i int, w *fileWorker)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	block := max(1, min(64, n/(8*max(1, workers))))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			w := &fileWorker{buf: make([]byte, readBuffer)}
			defer w.dirs.close()
			for {
				start := int(next.Add(int64(block))) - block
				if start >= n {
					return
				}
				for i := start; i < min(start+block, n); i++ {
					fn(i, w)
				}
			}
		})
	}
	wg.Wait()
}

func hashFile(path string, buf []byte) FileResult {
	st, err := os.Stat(path)
	if err != nil {
		var pe *fs.PathError
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return FileResult{Err: errors.New("source file does not exist")}
		case errors.As(err, &pe):
			return FileResult{Err: fmt.Errorf("cannot read source file: %w", pe.Err)}
		}
		return FileResult{Err: fmt.Errorf("cannot read source file: %w", err)}
	}
	if !st.Mode().IsRegular() {
		if st.IsDir() {
			return FileResult{Err: errors.New("source is a directory, not a regular file")}
		}
		return FileResult{Err: fmt.Errorf("source is not a regular file (%s)", st.Mode().Type())}
	}
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return FileResult{Err: fmt.Errorf("cannot read source file: %w", err)}
	}
	defer f.Close()
	h := sha256.New()
	var head []byte
	var size int64
	for {
		n, err := f.Read(buf)
		if n > 0 {
			if len(head) < headSize {
				take := min(n, headSize-len(head))
				head = append(head, buf[:take]...)
			}
			h.Write(buf[:n])
			size += int64(n)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return FileResult{Err: fmt.Errorf("cannot read source file: %w", err)}
		}
	}
	return FileResult{SHA256: hex.EncodeToString(h.Sum(nil)), Size: size, Head: head}
}
