package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/wxmedia/wxmedia/internal/parallel"
	"github.com/wxmedia/wxmedia/internal/safefile"
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
	// Path is the name the file was found under when it differs from the
	// one asked for only in its Unicode normalisation form; "" otherwise.
	Path   string
	cached bool // the stat cache vouched for it: nothing was read
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
	block := max(1, min(64, n/(8*parallel.Workers(n, 1))))
	workers := make([]*fileWorker, parallel.Workers(n, block))
	parallel.For(n, block, func(wi, lo, hi int) {
		w := workers[wi]
		if w == nil {
			w = &fileWorker{buf: make([]byte, readBuffer)}
			workers[wi] = w
		}
		for i := lo; i < hi; i++ {
			fn(i, w)
		}
	})
	for _, w := range workers {
		if w != nil {
			w.dirs.close()
		}
	}
}

// maxSourceSize is the largest size any upload API accepts: a source is
// never read past it (plus one byte), whatever it is.
var maxSourceSize = func() int64 {
	var n int64
	for _, s := range uploader.Specs() {
		n = max(n, s.MaxSize)
	}
	return n
}()

// hashFile reads the source at path through SHA-256. The file is opened
// without blocking and must be a regular file once open (see safefile); it
// is read up to maxSourceSize plus one byte: a larger file gives only its
// size and head, which the size rule then refuses, and no SHA-256.
// A path that does not exist as written may name an entry stored under
// another Unicode normalisation form (see resolveNormalized); Path then
// holds the name found.
func hashFile(path string, buf []byte) FileResult {
	f, st, err := safefile.Open(path)
	resolved := ""
	if errors.Is(err, fs.ErrNotExist) {
		if alt, ok := resolveNormalized(path); ok {
			if f, st, err = safefile.Open(alt); err == nil {
				resolved = alt
			}
		}
	}
	if err != nil {
		return FileResult{Err: sourceError(path, err)}
	}
	defer f.Close()
	h := sha256.New()
	var head []byte
	var size int64
	limit := maxSourceSize + 1
	if st.Size() > maxSourceSize {
		// Too large for every API: the head is enough for the messages.
		limit = headSize
	}
	r := io.LimitReader(f, limit)
	for {
		n, err := r.Read(buf)
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
	if size > maxSourceSize || st.Size() > maxSourceSize {
		return FileResult{Size: max(size, st.Size()), Head: head, Path: resolved}
	}
	return FileResult{SHA256: hex.EncodeToString(h.Sum(nil)), Size: size, Head: head, Path: resolved}
}

// sourceError says why the source at path cannot be read: a dangling
// symbolic link is named as one, with its target.
func sourceError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	var nr *safefile.NotRegularError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if target, ok := danglingLink(path); ok {
			return &BrokenLinkError{Target: target}
		}
		return errors.New("source file does not exist")
	case errors.As(err, &nr) && nr.Mode.IsDir():
		return errors.New("source is a directory, not a regular file")
	case errors.As(err, &nr):
		return fmt.Errorf("source %w", nr)
	}
	return fmt.Errorf("cannot read source file: %w", err)
}
