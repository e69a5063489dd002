package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"sync"
)

// A reader that only reads parts of a state (Head, ReadResources,
// LookupCache) need not walk every page of the file first (damage.go): it
// is enough that every page bbolt reads for those calls was checked, with
// the same bounds-checked reads, before bbolt reads it. bbolt finds a key
// in a bucket by a binary search down the bucket's tree (Cursor.seek:
// Cursor.search on each branch page, then the leaf's element), and finds a
// bucket the same way in the root bucket's tree; it reads no other page
// for a lookup. fileCheck follows the same searches, from the file, and
// checks each page on the way as walkPages does (inside the file, the page
// it says it is, of the right type, with its elements inside it; an inline
// bucket's page inside its value), so that bbolt's lookup after it reads
// only checked pages: the cost is the tree's depth for each key, not the
// file's size. A tree deeper than maxTreeDepth (a cycle) is refused, so a
// search always ends. The meta and outputs buckets, which readers read
// whole, are walked whole, each on its own.
//
// The file does not change under a reader: it holds the shared lock, which
// keeps every writer out, and the checks read the file bbolt opened. The
// first call that reads the state whole (Snapshot, ListCache, Export)
// walks the whole file first, as every open did before; point reads need
// no checks after it.

// A point read of at least pointWalkMin keys, and more than the file's
// pages divided by pointWalkFraction, walks the whole file instead, which
// then costs about what the searches would.
const (
	pointWalkMin      = 64
	pointWalkFraction = 16
)

// fileCheck checks the pages of an open state file as its reads need
// them. It is safe for concurrent use.
type fileCheck struct {
	f *os.File
	m boltMeta

	mu      sync.Mutex
	walked  bool  // the whole file was walked and found sound
	walkErr error // what the walk found, when it failed
	// buckets are the top-level buckets found, by name; a name absent
	// from the map was not looked up yet, a nil value is no bucket.
	buckets map[string]*bucketRef
	// whole records the buckets walked whole.
	whole map[string]bool
	// branches holds the branch pages checked, by page number: searches
	// for many keys go through the same few.
	branches map[uint64][]byte
}

// bucketRef is where a bucket's tree starts: a root page, or the inline
// page in the bucket's value when root is 0.
type bucketRef struct {
	root   uint64
	inline []byte
}

// newFileCheck checks f, the state file a reader's bbolt opened, as far as
// opening it and validate read it: the meta pages, the root bucket's path
// to the four buckets, and the meta bucket whole.
func newFileCheck(f *os.File) (*fileCheck, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	m, err := checkOpened(f, fi.Size(), checkMeta)
	if err != nil {
		return nil, err
	}
	c := &fileCheck{f: f, m: m, buckets: map[string]*bucketRef{}, whole: map[string]bool{}, branches: map[uint64][]byte{}}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, name := range [][]byte{bucketMeta, bucketResources, bucketCache, bucketOutputs} {
		if _, err := c.bucket(name); err != nil {
			return nil, err
		}
	}
	if err := c.wholeBucket(bucketMeta); err != nil {
		return nil, err
	}
	return c, nil
}

// all walks the whole file, once (walkPages); it returns what the walk
// found then, at every call.
func (c *fileCheck) all() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.allLocked()
}

func (c *fileCheck) allLocked() error {
	if !c.walked && c.walkErr == nil {
		if err := walkPages(c.f, c.m, true); err != nil {
			c.walkErr = fmt.Errorf("%w: %w", ErrCorrupt, err)
		} else {
			c.walked = true
		}
	}
	return c.walkErr
}

// bucketWhole checks the named top-level bucket whole, for a read of all
// of it (the outputs).
func (c *fileCheck) bucketWhole(name []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.walked || c.walkErr != nil {
		return c.walkErr
	}
	return c.wholeBucket(name)
}

// keys checks the pages that looking up keys in the named top-level
// bucket reads.
func (c *fileCheck) keys(name []byte, keys [][]byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.walked || c.walkErr != nil {
		return c.walkErr
	}
	if len(keys) >= pointWalkMin && uint64(len(keys)) > c.m.pgid/pointWalkFraction {
		return c.allLocked()
	}
	b, err := c.bucket(name)
	if err != nil || b == nil {
		return err
	}
	for _, k := range keys {
		if _, _, _, err := c.seek(b, k, nil); err != nil {
			return err
		}
	}
	return nil
}

func (c *fileCheck) wholeBucket(name []byte) error {
	if c.whole[string(name)] {
		return nil
	}
	b, err := c.bucket(name)
	if err != nil || b == nil {
		return err
	}
	w := &pageWalker{f: c.f, pageSize: uint64(c.m.pageSize), hwm: c.m.pgid, seen: make([]uint64, (c.m.pgid+63)/64)}
	if b.root == 0 {
		err = w.leaf(0, b.inline, 1)
	} else {
		err = w.tree(b.root, 1)
	}
	if err != nil {
		return fmt.Errorf("%w: bucket %s: %w", ErrCorrupt, name, err)
	}
	c.whole[string(name)] = true
	return nil
}

// bucket finds the named top-level bucket as tx.Bucket does, checking
// the pages on the way; nil when there is none.
func (c *fileCheck) bucket(name []byte) (*bucketRef, error) {
	if b, ok := c.buckets[string(name)]; ok {
		return b, nil
	}
	k, v, flags, err := c.seek(&bucketRef{root: c.m.root}, name, nil)
	if err != nil {
		return nil, err
	}
	var b *bucketRef
	if bytes.Equal(k, name) && flags&leafBucket != 0 {
		// As Bucket.openBucket reads the value.
		if len(v) < bucketHeader {
			return nil, fmt.Errorf("%w: bucket %s of %d bytes", ErrCorrupt, name, len(v))
		}
		b = &bucketRef{root: binary.NativeEndian.Uint64(v)}
		if b.root == 0 {
			b.inline = v[bucketHeader:]
			if len(b.inline) < 16 || binary.NativeEndian.Uint16(b.inline[8:]) != pageLeaf {
				return nil, fmt.Errorf("%w: bucket %s: a damaged inline bucket", ErrCorrupt, name)
			}
			if err := checkNode(0, b.inline); err != nil {
				return nil, fmt.Errorf("%w: bucket %s: %w", ErrCorrupt, name, err)
			}
		}
	}
	c.buckets[string(name)] = b
	return b, nil
}

// seek follows Cursor.seek for key in the bucket b, checking every page it
// reads, and returns the key, value and flags of the leaf element it ends
// on (nil past the leaf's last element). When path is not nil, the pages
// read are appended to it.
func (c *fileCheck) seek(b *bucketRef, key []byte, path *[]uint64) (k, v []byte, flags uint32, err error) {
	ne := binary.NativeEndian
	p := b.inline
	if b.root != 0 {
		if p, err = c.node(b.root); err != nil {
			return nil, nil, 0, err
		}
		if path != nil {
			*path = append(*path, b.root)
		}
	}
	for depth := 0; ; depth++ {
		n := int(ne.Uint16(p[10:]))
		if ne.Uint16(p[8:]) == pageLeaf {
			i := sort.Search(n, func(i int) bool { return bytes.Compare(leafKey(p, i), key) != -1 })
			if i >= n {
				return nil, nil, 0, nil
			}
			flags, v, err := leafElem(0, p, i)
			return leafKey(p, i), v, flags, err
		}
		// A branch (node checked its type): Cursor.searchPage.
		exact := false
		i := sort.Search(n, func(i int) bool {
			r := bytes.Compare(branchKey(p, i), key)
			if r == 0 {
				exact = true
			}
			return r != -1
		})
		if !exact && i > 0 {
			i--
		}
		if depth >= maxTreeDepth {
			return nil, nil, 0, fmt.Errorf("%w: %w: tree deeper than %d", ErrCorrupt, errPage, maxTreeDepth)
		}
		id := ne.Uint64(p[16+i*elemSize+8:])
		if p, err = c.node(id); err != nil {
			return nil, nil, 0, err
		}
		if path != nil {
			*path = append(*path, id)
		}
	}
}

// node reads page id and checks it as a node of a tree (checkNode).
func (c *fileCheck) node(id uint64) ([]byte, error) {
	if p, ok := c.branches[id]; ok {
		return p, nil
	}
	// A walker of its own reads the page into a buffer of its own (kept
	// in branches); without seen, it reads pages read before.
	w := &pageWalker{f: c.f, pageSize: uint64(c.m.pageSize), hwm: c.m.pgid}
	p, err := w.page(id, 0)
	if err == nil {
		err = checkNode(id, p)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if binary.NativeEndian.Uint16(p[8:]) == pageBranch {
		c.branches[id] = p
	}
	return p, nil
}

// checkNode checks the page p (id 0 for an inline bucket's) as a branch or
// leaf whose elements, keys and values lie inside it, as walkPages does,
// without following what they refer to.
func checkNode(id uint64, p []byte) error {
	n, err := elements(id, p)
	if err != nil {
		return err
	}
	flags := binary.NativeEndian.Uint16(p[8:])
	switch flags {
	case pageBranch:
		if n == 0 {
			return fmt.Errorf("%w %d: empty branch", errPage, id)
		}
		for i := range n {
			if _, err := branchElem(id, p, i); err != nil {
				return err
			}
		}
	case pageLeaf:
		for i := range n {
			if _, _, err := leafElem(id, p, i); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("%w %d: type %#x where a branch or leaf belongs", errPage, id, flags)
	}
	return nil
}

// branchKey and leafKey return the key of p's i-th element, which
// checkNode found inside p.
func branchKey(p []byte, i int) []byte {
	off := 16 + i*elemSize
	pos := off + int(binary.NativeEndian.Uint32(p[off:]))
	return p[pos : pos+int(binary.NativeEndian.Uint32(p[off+4:]))]
}

func leafKey(p []byte, i int) []byte {
	off := 16 + i*elemSize
	pos := off + int(binary.NativeEndian.Uint32(p[off+4:]))
	return p[pos : pos+int(binary.NativeEndian.Uint32(p[off+8:]))]
}
