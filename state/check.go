package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"

	"github.com/wxmedia/wxmedia/internal/safefile"
)

// The layout of a bbolt meta page (go.etcd.io/bbolt/internal/common): a
// 16-byte page header followed by the meta record, whose last field is an
// FNV-64a checksum of the fields before it. bbolt writes them in the
// machine's byte order.
const (
	boltMagic          = 0xED0CDAED
	boltVersion        = 2
	boltPageHeaderSize = 16
	boltMetaPage       = 0x04 // a meta page's type flag
	boltMetaSumOffset  = 56
	boltMetaSize       = boltMetaSumOffset + 8
	boltNoFreelist     = ^uint64(0)
	boltMinPageSize    = 1024
	boltMaxPageSize    = 1 << 24
)

// boltMeta is the part of a bbolt meta page that checkFile needs.
type boltMeta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	pgid     uint64 // high water mark: every page in use is below it
	txid     uint64
}

// parseBoltMeta decodes the meta page at the start of b and reports
// whether it is a valid one.
func parseBoltMeta(b []byte) (boltMeta, bool) {
	if len(b) < boltPageHeaderSize+boltMetaSize {
		return boltMeta{}, false
	}
	m := b[boltPageHeaderSize : boltPageHeaderSize+boltMetaSize]
	ne := binary.NativeEndian
	if ne.Uint32(m[0:]) != boltMagic || ne.Uint32(m[4:]) != boltVersion {
		return boltMeta{}, false
	}
	h := fnv.New64a()
	h.Write(m[:boltMetaSumOffset])
	if h.Sum64() != ne.Uint64(m[boltMetaSumOffset:]) {
		return boltMeta{}, false
	}
	return boltMeta{
		pageSize: ne.Uint32(m[8:]),
		root:     ne.Uint64(m[16:]),
		freelist: ne.Uint64(m[32:]),
		pgid:     ne.Uint64(m[40:]),
		txid:     ne.Uint64(m[48:]),
	}, true
}

// checkLevel is how much of a state file checkFile checks.
type checkLevel int

const (
	// checkMeta checks the meta pages and the file's size: all bbolt reads
	// as it opens a file read-only (it loads the freelist only for a
	// writer, or for its consistency check).
	checkMeta checkLevel = iota
	// checkFreelist checks the freelist too, which bbolt loads as it opens
	// a file for writing.
	checkFreelist
	// checkTree checks every page of the tree too (walkPages), which only
	// makes sense once the file's lock is held: a writer may be changing
	// the tree meanwhile.
	checkTree
)

// checkFile refuses, with ErrCorrupt, a file that bbolt must not be given:
// one that is not a bbolt database, or whose pages run past its end (bbolt
// maps the file into memory and would crash reading beyond it). It only
// reads the file, as much of it as level says.
func checkFile(path string, level checkLevel) error {
	// Opened without blocking: a named pipe in the state's place would
	// otherwise block the open for ever.
	f, fi, err := safefile.Open(path)
	if errors.Is(err, safefile.ErrNotRegular) {
		return fmt.Errorf("%w: not a regular file", ErrCorrupt)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = checkOpened(f, fi.Size(), level)
	return err
}

// checkOpened is checkFile on the open file f of the given size; it
// returns the meta bbolt uses.
func checkOpened(f *os.File, size int64, level checkLevel) (boltMeta, error) {
	if size == 0 {
		return boltMeta{}, fmt.Errorf("%w: file is empty", ErrCorrupt)
	}

	readMeta := func(off int64) (boltMeta, bool) {
		var buf [boltPageHeaderSize + boltMetaSize]byte
		n, err := f.ReadAt(buf[:], off)
		if err != nil && !errors.Is(err, io.EOF) {
			return boltMeta{}, false
		}
		return parseBoltMeta(buf[:n])
	}

	// Find the page size as bbolt does: from the first meta page, or else
	// from the second, trying every page size bbolt supports.
	var pageSize int64
	if m, ok := readMeta(0); ok {
		pageSize = int64(m.pageSize)
	} else {
		for ps := int64(boltMinPageSize); ps <= boltMaxPageSize && ps < size; ps <<= 1 {
			if m, ok := readMeta(ps); ok {
				pageSize = int64(m.pageSize)
				break
			}
		}
	}
	if pageSize == 0 {
		return boltMeta{}, fmt.Errorf("%w: not a bbolt database", ErrCorrupt)
	}
	if pageSize < boltMinPageSize || pageSize > boltMaxPageSize {
		return boltMeta{}, fmt.Errorf("%w: unsupported page size %d", ErrCorrupt, pageSize)
	}
	if size < 2*pageSize {
		return boltMeta{}, fmt.Errorf("%w: file is truncated to %d bytes", ErrCorrupt, size)
	}

	// Pick the meta page bbolt will use: the valid one with the higher
	// transaction ID.
	m0, ok0 := readMeta(0)
	m1, ok1 := readMeta(pageSize)
	var m boltMeta
	switch {
	case ok0 && ok1:
		m = m0
		if m1.txid > m0.txid {
			m = m1
		}
	case ok0:
		m = m0
	case ok1:
		m = m1
	default:
		return boltMeta{}, fmt.Errorf("%w: both meta pages are invalid", ErrCorrupt)
	}
	if int64(m.pageSize) != pageSize {
		return boltMeta{}, fmt.Errorf("%w: meta pages disagree on the page size", ErrCorrupt)
	}
	// bbolt's checksum covers a meta page's record, not its page header,
	// which bbolt asserts on too.
	for id := int64(0); id < 2; id++ {
		var head [boltPageHeaderSize]byte
		if _, err := f.ReadAt(head[:], id*pageSize); err != nil {
			return boltMeta{}, fmt.Errorf("%w: meta page %d: %w", ErrCorrupt, id, err)
		}
		ne := binary.NativeEndian
		if ne.Uint64(head[0:]) != uint64(id) || ne.Uint16(head[8:]) != boltMetaPage {
			return boltMeta{}, fmt.Errorf("%w: meta page %d has a damaged header", ErrCorrupt, id)
		}
	}
	if m.freelist == boltNoFreelist {
		// wxmedia always syncs the freelist; bbolt would rewrite it on open.
		return boltMeta{}, fmt.Errorf("%w: database has no freelist", ErrCorrupt)
	}
	if m.pgid > uint64(size/pageSize) {
		return boltMeta{}, fmt.Errorf("%w: file is truncated to %d bytes; it has %d pages of %d bytes", ErrCorrupt, size, m.pgid, pageSize)
	}
	if m.root >= m.pgid || m.freelist >= m.pgid {
		return boltMeta{}, fmt.Errorf("%w: meta page is inconsistent", ErrCorrupt)
	}
	if level >= checkFreelist {
		if err := walkPages(f, m, level == checkTree); err != nil {
			return boltMeta{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
	}
	return m, nil
}

// checkCommit checks what CommitUpload records: a valid resource and cache
// entry that name the same service, merchant ID, API, SHA-256 and
// identifier.
func checkCommit(r Resource, e CacheEntry) error {
	if err := checkResource(r); err != nil {
		return err
	}
	if err := checkCacheEntry(e); err != nil {
		return err
	}
	if r.CacheKey() != e.CacheKey || r.ID != e.ID {
		return fmt.Errorf("%w: resource and cache entry disagree", ErrInvalid)
	}
	return nil
}
