package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/bits"
	"os"
	"runtime/debug"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// A damaged state file must give ErrCorrupt, never a crash. bbolt reads
// its pages from a memory map and trusts what it finds: a damaged page
// makes it panic on an assertion, and a page number pointing past the
// file makes it read outside the map, which the Go runtime treats as a
// fatal fault. So a state is checked in three steps before anything is
// read from it:
//
//  1. checkFile (check.go) checks the meta pages and the file's size;
//  2. walkPages follows every page of the tree from the file itself (not
//     the map), with ordinary bounds-checked reads, and refuses a page
//     number outside the file, a page referenced twice, a page of the
//     wrong type, or an element that runs past its page: after it, no
//     read bbolt makes while walking the tree leaves the file;
//  3. bbolt's own consistency check (Tx.Check) then checks what only bbolt
//     knows well: key order, and that every page is either in use or free.
//
// Step 3 is for writers only (checkOnOpen): a reader is safe after step 2.
// A reader runs step 1 (the meta pages only: bbolt loads no freelist for
// a reader) on opening, and step 2 at its first read of the whole state;
// before that, its point reads check only the pages they reach
// (pointcheck.go).
// Step 3 runs bbolt's walk in a goroutine of its own, which recovers
// bbolt's assertions but could not survive a fault: that is what step 2
// rules out, and why it is written here (bbolt exports no page reader).
// Every bbolt call on a Local's database then runs under guard, which
// turns any assertion bbolt still makes into ErrCorrupt.

// guard runs fn, which works on the state at path through bbolt, and turns
// a panic (a bbolt assertion on a damaged page) or a memory fault reading
// the file's map into an error wrapping ErrCorrupt.
func guard(path string, fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: reading %s failed: %v", ErrCorrupt, path, r)
		}
	}()
	return fn()
}

// Page layout (go.etcd.io/bbolt/internal/common), in the machine's byte
// order: a 16-byte header (id uint64, flags uint16, count uint16,
// overflow uint32), then count 16-byte elements, then their keys and
// values.
const (
	pageBranch   = 0x01
	pageLeaf     = 0x02
	pageFreelist = 0x10
	elemSize     = 16
	leafBucket   = 0x01 // a leaf element whose value is a nested bucket
	bucketHeader = 16   // root page id uint64, sequence uint64
	maxTreeDepth = 64
)

// pageWalker reads the page tree of a bbolt file with bounds-checked reads.
type pageWalker struct {
	f        *os.File
	pageSize uint64
	hwm      uint64   // pages below this are in use or free
	seen     []uint64 // bit set of the pages read; nil to read pages again (pointcheck.go)
	freed    []uint64 // bit set of the pages the freelist lists
	// data is the file mapped into memory, when it could be: pages are
	// then read from it without a copy. Otherwise bufs holds a buffer for
	// each depth of the tree, reused from page to page.
	data []byte
	bufs [][]byte
	// mapped counts the bytes of data read since it was last released
	// from memory (releaseMapped), from offset lo to hi: the walk reads
	// each page once, so its map need not stay resident, and a large
	// state would otherwise add its whole size to the process's memory
	// while it is walked.
	mapped, lo, hi uint64
}

// walkResident is how many bytes of the walk's map are read before it is
// released from memory.
const walkResident = 16 << 20

var errPage = errors.New("damaged page")

// walkPages checks that the freelist of the meta m and, with tree set,
// every page reachable from m lie inside the file and are well formed (see
// the comment at the top of this file). f is the state file; it is only
// read.
func walkPages(f *os.File, m boltMeta, tree bool) error {
	words := (m.pgid + 63) / 64
	w := &pageWalker{f: f, pageSize: uint64(m.pageSize), hwm: m.pgid, seen: make([]uint64, words), freed: make([]uint64, words)}
	if tree {
		if data, unmap, ok := mapFile(f, int64(m.pgid*w.pageSize)); ok {
			defer unmap()
			w.data = data
		}
	}
	if err := w.freelist(m.freelist); err != nil || !tree {
		return err
	}
	if err := w.tree(m.root, 0); err != nil {
		return err
	}
	return w.accounted()
}

// accounted checks, once the tree is walked, that every page but the meta
// pages is either in use or free, not both, as bbolt's consistency check
// does: a reader does not need it (see checkOnOpen), but it is two bit
// operations per 64 pages, and it finds a damaged freelist at once rather
// than at the next write.
func (w *pageWalker) accounted() error {
	for i := range w.seen {
		used, free := w.seen[i], w.freed[i]
		if i == 0 {
			used |= 3 // the meta pages
		}
		if last := w.hwm - uint64(i)*64; last < 64 {
			used |= ^uint64(0) << last // past the high water mark
		}
		if both := used & free; both != 0 {
			return fmt.Errorf("%w %d: both in use and free", errPage, uint64(i)*64+uint64(bits.TrailingZeros64(both)))
		}
		if neither := ^(used | free); neither != 0 {
			return fmt.Errorf("%w %d: neither in use nor free", errPage, uint64(i)*64+uint64(bits.TrailingZeros64(neither)))
		}
	}
	return nil
}

// page reads the page id and its overflow pages into the buffer of the
// given depth, after checking they are below the high water mark and (with
// seen set) not read before. The page is valid until the next read at that depth.
func (w *pageWalker) page(id uint64, depth int) ([]byte, error) {
	if id < 2 || id >= w.hwm {
		return nil, fmt.Errorf("%w: page number %d outside the file's %d pages", errPage, id, w.hwm)
	}
	var p []byte
	if w.data != nil {
		p = w.data[id*w.pageSize : (id+1)*w.pageSize]
	} else {
		for len(w.bufs) <= depth {
			w.bufs = append(w.bufs, make([]byte, w.pageSize))
		}
		p = w.bufs[depth][:w.pageSize]
		if _, err := w.f.ReadAt(p, int64(id*w.pageSize)); err != nil {
			return nil, fmt.Errorf("%w %d: %w", errPage, id, err)
		}
	}
	ne := binary.NativeEndian
	if got := ne.Uint64(p[0:]); got != id {
		return nil, fmt.Errorf("%w %d: it says it is page %d", errPage, id, got)
	}
	overflow := uint64(ne.Uint32(p[12:]))
	if overflow >= w.hwm-id {
		return nil, fmt.Errorf("%w %d: %d overflow pages run past the file's %d pages", errPage, id, overflow, w.hwm)
	}
	for i := id; i <= id+overflow && w.seen != nil; i++ {
		if w.seen[i/64]&(1<<(i%64)) != 0 {
			return nil, fmt.Errorf("%w %d: used twice", errPage, i)
		}
		w.seen[i/64] |= 1 << (i % 64)
	}
	if w.data != nil {
		// Pages still in use up the tree are mapped again when read; the
		// file is only read, so they read the same.
		start, end := id*w.pageSize, (id+1+overflow)*w.pageSize
		if w.mapped == 0 || start < w.lo {
			w.lo = start
		}
		w.hi = max(w.hi, end)
		if w.mapped += end - start; w.mapped >= walkResident {
			releaseMapped(w.data, w.lo, w.hi)
			w.mapped, w.hi = 0, 0
		}
	}
	if overflow > 0 && w.data != nil {
		p = w.data[id*w.pageSize : (id+1+overflow)*w.pageSize]
	} else if overflow > 0 {
		if n := (overflow + 1) * w.pageSize; uint64(cap(w.bufs[depth])) < n {
			w.bufs[depth] = make([]byte, n)
		}
		p = w.bufs[depth][:(overflow+1)*w.pageSize]
		if _, err := w.f.ReadAt(p, int64(id*w.pageSize)); err != nil {
			return nil, fmt.Errorf("%w %d: %w", errPage, id, err)
		}
	}
	return p, nil
}

// freelist checks the freelist page: its type, and that the page numbers
// it lists fit in it and in the file.
func (w *pageWalker) freelist(id uint64) error {
	p, err := w.page(id, 0)
	if err != nil {
		return err
	}
	ne := binary.NativeEndian
	if ne.Uint16(p[8:]) != pageFreelist {
		return fmt.Errorf("%w %d: not the freelist", errPage, id)
	}
	n, start := uint64(ne.Uint16(p[10:])), uint64(16)
	if n == 0xFFFF {
		n, start = ne.Uint64(p[16:]), 24
	}
	if n > (uint64(len(p))-start)/8 {
		return fmt.Errorf("%w %d: freelist of %d pages does not fit", errPage, id, n)
	}
	for i := range n {
		free := ne.Uint64(p[start+8*i:])
		if free < 2 || free >= w.hwm {
			return fmt.Errorf("%w %d: free page number %d outside the file", errPage, id, free)
		}
		if w.freed[free/64]&(1<<(free%64)) != 0 {
			return fmt.Errorf("%w %d: page %d listed twice", errPage, id, free)
		}
		w.freed[free/64] |= 1 << (free % 64)
	}
	return nil
}

// tree checks the tree of pages rooted at page id.
func (w *pageWalker) tree(id uint64, depth int) error {
	if depth > maxTreeDepth {
		return fmt.Errorf("%w %d: tree deeper than %d", errPage, id, maxTreeDepth)
	}
	p, err := w.page(id, depth)
	if err != nil {
		return err
	}
	switch flags := binary.NativeEndian.Uint16(p[8:]); flags {
	case pageBranch:
		return w.branch(id, p, depth)
	case pageLeaf:
		return w.leaf(id, p, depth)
	default:
		return fmt.Errorf("%w %d: type %#x where a branch or leaf belongs", errPage, id, flags)
	}
}

// elements returns the count of p's elements after checking they fit.
func elements(id uint64, p []byte) (int, error) {
	n := int(binary.NativeEndian.Uint16(p[10:]))
	if 16+n*elemSize > len(p) {
		return 0, fmt.Errorf("%w %d: %d elements do not fit", errPage, id, n)
	}
	return n, nil
}

// span checks that the n bytes at offset off+pos of p lie inside p.
func span(id uint64, p []byte, off int, pos uint32, n uint64) error {
	if uint64(off)+uint64(pos)+n > uint64(len(p)) {
		return fmt.Errorf("%w %d: an element runs past the page", errPage, id)
	}
	return nil
}

func (w *pageWalker) branch(id uint64, p []byte, depth int) error {
	n, err := elements(id, p)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w %d: empty branch", errPage, id)
	}
	for i := range n {
		child, err := branchElem(id, p, i)
		if err != nil {
			return err
		}
		if err := w.tree(child, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// leaf checks a leaf page, or an inline bucket's page (id 0), and the
// buckets its elements hold.
func (w *pageWalker) leaf(id uint64, p []byte, depth int) error {
	n, err := elements(id, p)
	if err != nil {
		return err
	}
	ne := binary.NativeEndian
	for i := range n {
		flags, v, err := leafElem(id, p, i)
		if err != nil {
			return err
		}
		if flags&leafBucket == 0 {
			continue
		}
		if len(v) < bucketHeader {
			return fmt.Errorf("%w %d: a bucket of %d bytes", errPage, id, len(v))
		}
		if root := ne.Uint64(v); root != 0 {
			if err := w.tree(root, depth+1); err != nil {
				return err
			}
			continue
		}
		inline := v[bucketHeader:]
		if len(inline) < 16 || ne.Uint16(inline[8:]) != pageLeaf || depth >= maxTreeDepth {
			return fmt.Errorf("%w %d: a damaged inline bucket", errPage, id)
		}
		if err := w.leaf(id, inline, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// branchElem checks that the key of the i-th element of the branch page p
// (whose count elements checked) lies inside p, and returns the page number
// the element points to.
func branchElem(id uint64, p []byte, i int) (uint64, error) {
	ne := binary.NativeEndian
	off := 16 + i*elemSize
	if err := span(id, p, off, ne.Uint32(p[off:]), uint64(ne.Uint32(p[off+4:]))); err != nil {
		return 0, err
	}
	return ne.Uint64(p[off+8:]), nil
}

// leafElem checks that the key and value of the i-th element of the leaf
// page p (whose count elements checked) lie inside p, and returns the
// element's flags and value.
func leafElem(id uint64, p []byte, i int) (uint32, []byte, error) {
	ne := binary.NativeEndian
	off := 16 + i*elemSize
	flags, pos, ksize, vsize := ne.Uint32(p[off:]), ne.Uint32(p[off+4:]), ne.Uint32(p[off+8:]), ne.Uint32(p[off+12:])
	if err := span(id, p, off, pos, uint64(ksize)+uint64(vsize)); err != nil {
		return 0, nil, err
	}
	start := off + int(pos) + int(ksize)
	return flags, p[start : start+int(vsize)], nil
}

// checkOnOpen reports whether opening a state, read-only or not, runs
// bbolt's consistency check (step 3 above) after the page walk.
//
// A writer needs it: bbolt reuses the pages its freelist names, so a page
// that is both free and in use would be overwritten, and a key out of
// order would be put where no read finds it. A reader does not: after the
// walk every page a read reaches is inside the file, of the right type,
// reached once (no cycle, so no endless read) and with its elements inside
// it; a key out of order can only make a lookup miss (bbolt compares the
// key it finds with the one asked for), never return another key's value;
// and every record read is checked against its own checksum. A damage only
// the consistency check finds therefore reads as before or as a record
// missing, and the next command that writes the state refuses it. On a
// state of 100,000 resources the check costs about three times the walk.
//
// Options.FullCheck makes a reader run the check too: the reference path
// the tests compare the readers' path with.
func checkOnOpen(opts Options) bool { return !opts.ReadOnly || opts.FullCheck }

// checkTx runs bbolt's consistency check on tx and reads every error it
// reports, so that its goroutine ends before tx does; the first error is
// returned, wrapping ErrCorrupt.
func checkTx(tx *bolt.Tx) error {
	var first error
	for err := range tx.Check(bolt.WithKVStringer(quotedKV{})) {
		if first == nil {
			// An assertion the check recovered reads "panic: …": it is
			// reported, not raised.
			msg, _ := strings.CutPrefix(err.Error(), "panic: ")
			first = fmt.Errorf("%w: bbolt's consistency check: %s", ErrCorrupt, msg)
		}
	}
	return first
}

// quotedKV shows keys and values in bbolt's check messages quoted, and
// cut short: a message names a damaged key, it need not hold all of it.
type quotedKV struct{}

func (quotedKV) KeyToString(b []byte) string   { return quoteShort(b) }
func (quotedKV) ValueToString(b []byte) string { return quoteShort(b) }

func quoteShort(b []byte) string {
	const max = 48
	if len(b) > max {
		return fmt.Sprintf("%q…", b[:max])
	}
	return fmt.Sprintf("%q", b)
}

// Records carry a checksum from schema version 3 on: every value in the
// resources, cache and outputs buckets ends in a CRC-32C (Castagnoli,
// little endian) of the key and the value before it, so that a flipped
// bit in an identifier is found instead of published.
const sumSize = 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func recordSum(key, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum(key, castagnoli), castagnoli, payload)
}

// seal appends the checksum of key and payload to payload.
func seal(key, payload []byte) []byte {
	return binary.LittleEndian.AppendUint32(payload, recordSum(key, payload))
}

// errChecksum is returned when a record's checksum does not match.
var errChecksum = errors.New("checksum mismatch: the record was damaged")

// unseal checks the checksum at the end of v, stored under key, and
// returns the payload before it.
func unseal(key, v []byte) ([]byte, error) {
	if len(v) < sumSize {
		return nil, errChecksum
	}
	payload := v[:len(v)-sumSize]
	if binary.LittleEndian.Uint32(v[len(payload):]) != recordSum(key, payload) {
		return nil, errChecksum
	}
	return payload, nil
}

// resourceValue is r's value in the resources bucket: its record, sealed.
func resourceValue(r Resource) ([]byte, error) {
	v, err := encodeResource(r)
	if err != nil {
		return nil, err
	}
	return seal([]byte(r.Address), v), nil
}

// cacheValue is e's value in the cache bucket: its JSON, sealed.
func cacheValue(e CacheEntry) ([]byte, error) {
	v, err := encodeCacheEntry(e)
	if err != nil {
		return nil, err
	}
	return seal(cacheKeyBytes(e.CacheKey), v), nil
}

// outputValue is o's value in the outputs bucket: its JSON, sealed.
func outputValue(name string, o Output) ([]byte, error) {
	v, err := encodeOutput(o)
	if err != nil {
		return nil, err
	}
	return seal([]byte(name), v), nil
}

// isSealed reports whether the state read in tx has checksums on its
// records (schema version 3 or later).
func isSealed(tx *bolt.Tx) bool {
	return getUint64(tx.Bucket(bucketMeta), keySchema) >= 3
}

// decodeOutput decodes the output stored under name; sealed says whether
// it carries a checksum.
func decodeOutput(name, v []byte, sealed bool) (Output, error) {
	if sealed {
		p, err := unseal(name, v)
		if err != nil {
			return Output{}, fmt.Errorf("%w: output %q: %w", ErrCorrupt, name, err)
		}
		v = p
	}
	o, err := unmarshalOutput(v)
	if err != nil {
		return o, fmt.Errorf("%w: output %q: %w", ErrCorrupt, name, err)
	}
	return o, nil
}
