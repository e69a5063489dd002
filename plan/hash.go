package plan

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"unsafe"

	"github.com/wxmedia/wxmedia/internal/parallel"
	"github.com/wxmedia/wxmedia/internal/safefile"
	"github.com/wxmedia/wxmedia/uploader"
)

// headSize is how many leading bytes are kept for magic-byte checks.
const headSize = uploader.MagicHeadSize

// FileResult is what hashing one source file found. It is kept small, as
// a plan holds one per instance: a record in the stat cache's entry layout
// (see statCacheMagic), which for a file the cache vouched for is the
// entry where it lies in the cache's bytes, so that such a file has
// nothing of its own; and, for the few files that need it, an error or
// another name.
type FileResult struct {
	// rec is the record's first byte: its fixed part, its path (empty
	// but for a cache entry) and its head follow. nil when the file
	// could not be read.
	rec *byte
	// odd holds what few files have: an error, another name, no SHA-256.
	odd *fileOdd
}

// fileOdd is what hashing found for a file that could not be read, that
// was found under another name, or that is too large to hash.
type fileOdd struct {
	err   error
	path  string
	noSum bool
}

// fileError is the result of a file that could not be read.
func fileError(err error) FileResult { return FileResult{odd: &fileOdd{err: err}} }

// newFileResult is the result of a file read: its size, first bytes and
// SHA-256 (nil when too large to hash), in a record of its own.
func newFileResult(size int64, head []byte, sum []byte, alt string) FileResult {
	head = head[:min(len(head), 0xff)]
	rec := make([]byte, fixedSize+len(head))
	binary.LittleEndian.PutUint64(rec[offSize:], uint64(size))
	copy(rec[offSum:], sum)
	rec[offHead] = byte(len(head))
	copy(rec[fixedSize:], head)
	r := FileResult{rec: &rec[0]}
	if alt != "" || sum == nil {
		r.odd = &fileOdd{path: alt, noSum: sum == nil}
	}
	return r
}

// record returns the record's fixed part, path and head.
func (f FileResult) record() []byte {
	fixed := unsafe.Slice(f.rec, fixedSize)
	pl, hl := int(binary.LittleEndian.Uint16(fixed)), int(fixed[offHead])
	return unsafe.Slice(f.rec, fixedSize+pl+hl)
}

// Size is the file's size; 0 when it could not be read.
func (f FileResult) Size() int64 {
	if f.rec == nil {
		return 0
	}
	return int64(binary.LittleEndian.Uint64(unsafe.Slice(f.rec, fixedSize)[offSize:]))
}

// Head is the file's first bytes, for magic-byte checks.
func (f FileResult) Head() []byte {
	if f.rec == nil {
		return nil
	}
	r := f.record()
	pl := int(binary.LittleEndian.Uint16(r))
	return r[fixedSize+pl : len(r) : len(r)]
}

// sum is the file's SHA-256 where it lies in the record; nil when the
// file could not be read or is too large for any API.
func (f FileResult) sum() *[sha256.Size]byte {
	if f.rec == nil || f.odd != nil && f.odd.noSum {
		return nil
	}
	return (*[sha256.Size]byte)(unsafe.Slice(f.rec, fixedSize)[offSum:])
}

// cached reports whether the stat cache vouched for the file: its record
// is a cache entry, the only kind with a path.
func (f FileResult) cached() bool {
	return f.rec != nil && binary.LittleEndian.Uint16(unsafe.Slice(f.rec, 2)) != 0
}

// SHA256 returns the file's SHA-256 in lowercase hex; "" when Err is set
// or the file is too large for any API.
func (f FileResult) SHA256() string {
	sum := f.sum()
	if sum == nil {
		return ""
	}
	return hex.EncodeToString(sum[:])
}

// Err returns why the file could not be read as a regular file; nil when
// it could.
func (f FileResult) Err() error {
	if f.odd == nil {
		return nil
	}
	return f.odd.err
}

// Path returns the name the file was found under when it differs from the
// one asked for only in its Unicode normalisation form; "" otherwise.
func (f FileResult) Path() string {
	if f.odd == nil {
		return ""
	}
	return f.odd.path
}

// Check applies the API's rules to the file: readable regular file, then
// the spec's suffix, size, emptiness and magic-byte rules.
func (f FileResult) Check(spec uploader.Spec, filename string) error {
	if err := f.Err(); err != nil {
		return err
	}
	return uploader.CheckFile(spec, filename, f.Size(), f.Head())
}

// sumHex writes f's SHA-256 in lowercase hex to buf and returns it as a
// string over buf, which the caller must not write again while the string
// is in use; "" when f has none.
func (f FileResult) sumHex(buf *[2 * sha256.Size]byte) string {
	sum := f.sum()
	if sum == nil {
		return ""
	}
	hex.Encode(buf[:], sum[:])
	return unsafe.String(&buf[0], len(buf))
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
		return fileError(sourceError(path, err))
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
			return fileError(fmt.Errorf("cannot read source file: %w", err))
		}
	}
	if size > maxSourceSize || st.Size() > maxSourceSize {
		return newFileResult(max(size, st.Size()), head, nil, resolved)
	}
	var sum [sha256.Size]byte
	return newFileResult(size, head, h.Sum(sum[:0]), resolved)
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
