package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// pointState writes a state of n resources with their cache entries,
// spread over a tree of several levels, and returns its file's bytes.
func pointState(t *testing.T, n int) []byte {
	t.Helper()
	path := statePath(t)
	l := open(t, path, Options{})
	must(t, l.db.Update(func(tx *bolt.Tx) error {
		if err := putTestRecords(tx.Bucket(bucketResources), tx.Bucket(bucketCache), n); err != nil {
			return err
		}
		return setResourceCount(tx.Bucket(bucketMeta), uint64(n))
	}))
	must(t, l.SetOutputs(outputs))
	must(t, l.Close())
	b, err := os.ReadFile(path)
	must(t, err)
	return b
}

// putTestRecords puts testResource(0) to testResource(n-1), sealed, into
// rb, and their cache entries (entryFor) into cb; a nil bucket is skipped.
func putTestRecords(rb, cb *bolt.Bucket, n int) error {
	for i := range n {
		r := testResource(i)
		if rb != nil {
			v, err := resourceValue(r)
			if err != nil {
				return err
			}
			if err := rb.Put([]byte(r.Address), v); err != nil {
				return err
			}
		}
		if cb != nil {
			e := entryFor(r)
			v, err := cacheValue(e)
			if err != nil {
				return err
			}
			if err := cb.Put(cacheKeyBytes(e.CacheKey), v); err != nil {
				return err
			}
		}
	}
	return nil
}

// pathOf returns the pages a lookup of addr in the resources bucket reads,
// root first.
func pathOf(t *testing.T, content []byte, addr string) []uint64 {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	must(t, os.WriteFile(path, content, 0o600))
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	c, err := newFileCheck(f)
	must(t, err)
	b, err := c.bucket(bucketResources)
	must(t, err)
	var pages []uint64
	if _, _, _, err := c.seek(b, []byte(addr), &pages); err != nil {
		t.Fatal(err)
	}
	if len(pages) < 2 {
		t.Fatalf("the resources tree is %d pages deep; the test needs a branch", len(pages))
	}
	return pages
}

// damagePage returns content with the page id changed by fn.
func damagePage(content []byte, id uint64, fn func(p []byte)) []byte {
	c := bytes.Clone(content)
	m, _ := parseBoltMeta(c)
	ps := uint64(m.pageSize)
	fn(c[id*ps : (id+1)*ps])
	return c
}

// currentMeta returns the meta bbolt uses in the state content.
func currentMeta(content []byte) boltMeta {
	m, _ := parseBoltMeta(content)
	if m1, ok := parseBoltMeta(content[m.pageSize:]); ok && m1.txid > m.txid {
		m = m1
	}
	return m
}

// pointRead opens content read-only and reads addrs by point reads, and
// then the whole state; no panic escapes it.
func pointRead(t *testing.T, content []byte, addrs []string) (l *Local, rs map[string]Resource, pointErr, snapErr error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	must(t, os.WriteFile(path, content, 0o600))
	l, err := OpenLocal(path, Options{ReadOnly: true})
	if err != nil {
		return nil, nil, err, err
	}
	t.Cleanup(func() { l.Close() })
	if _, err := l.Head(); err != nil {
		return l, nil, err, nil
	}
	if rs, _, pointErr = l.ReadResources(addrs); pointErr == nil {
		_, pointErr = l.LookupCache([]CacheKey{entryFor(testResource(1)).CacheKey})
	}
	_, snapErr = l.Snapshot()
	return l, rs, pointErr, snapErr
}

// TestPointReadsSkipTheWalk checks that a reader's point reads read the
// state right without walking the whole file, and that its first read of
// the whole state walks it.
func TestPointReadsSkipTheWalk(t *testing.T) {
	const n = 3000
	content := pointState(t, n)
	path := filepath.Join(t.TempDir(), "state.db")
	must(t, os.WriteFile(path, content, 0o600))
	l := open(t, path, Options{ReadOnly: true})
	h, err := l.Head()
	must(t, err)
	if h.Resources != n || !reflect.DeepEqual(h.Outputs, outputs) || len(h.PlanKey) != 32 {
		t.Errorf("head: %d resources, outputs %v", h.Resources, h.Outputs)
	}
	addrs := []string{testResource(0).Address, testResource(1234).Address, testResource(n - 1).Address, testResource(n).Address}
	rs, _, err := l.ReadResources(addrs)
	must(t, err)
	if len(rs) != 3 || !reflect.DeepEqual(rs[addrs[1]], testResource(1234)) {
		t.Errorf("ReadResources: %d records, %+v", len(rs), rs[addrs[1]])
	}
	e := entryFor(testResource(77))
	hits, err := l.LookupCache([]CacheKey{e.CacheKey})
	must(t, err)
	if !reflect.DeepEqual(hits[e.CacheKey], e) {
		t.Errorf("LookupCache: %+v", hits)
	}
	if l.check == nil || l.check.walked {
		t.Fatalf("the point reads walked the whole file")
	}
	if s := snapshot(t, l); len(s.Resources) != n {
		t.Errorf("snapshot of %d resources", len(s.Resources))
	}
	if !l.check.walked {
		t.Errorf("a snapshot did not walk the whole file")
	}

	// Many keys at once walk the file instead of searching for each.
	l2 := open(t, path, Options{ReadOnly: true})
	var many []string
	for i := range n / 2 {
		many = append(many, testResource(i).Address)
	}
	rs, _, err = l2.ReadResources(many)
	must(t, err)
	if len(rs) != n/2 || !l2.check.walked {
		t.Errorf("reading %d of %d resources: %d read, walked %v", n/2, n, len(rs), l2.check.walked)
	}
}

// TestDamageOnPointPath damages, in several ways, each page on the path
// of a point read: the read is refused as corrupt, never a crash, and so
// is a snapshot.
func TestDamageOnPointPath(t *testing.T) {
	content := pointState(t, 3000)
	addr := testResource(1500).Address
	pages := pathOf(t, content, addr)
	m := currentMeta(content)
	ne := binary.NativeEndian
	damages := map[string]func(id uint64) func(p []byte){
		"wrong page number": func(id uint64) func(p []byte) {
			return func(p []byte) { ne.PutUint64(p, id+1) }
		},
		"page type": func(uint64) func(p []byte) { return func(p []byte) { ne.PutUint16(p[8:], 0x20) } },
		// bbolt's "invalid page type" panic in tx.Bucket (etcd-io/bbolt#128).
		"freelist type": func(uint64) func(p []byte) { return func(p []byte) { ne.PutUint16(p[8:], pageFreelist) } },
		"element count": func(uint64) func(p []byte) { return func(p []byte) { ne.PutUint16(p[10:], 0xFFF0) } },
		"overflow past the file": func(uint64) func(p []byte) {
			return func(p []byte) { ne.PutUint32(p[12:], uint32(m.pgid)) }
		},
		"element past the page": func(uint64) func(p []byte) {
			// The key of every element starts past the page.
			return func(p []byte) {
				n := int(ne.Uint16(p[10:]))
				for i := range n {
					off := 16 + i*elemSize
					if p[8] == pageBranch {
						ne.PutUint32(p[off:], uint32(len(p)))
					} else {
						ne.PutUint32(p[off+4:], uint32(len(p)))
					}
				}
			}
		},
	}
	branchDamages := map[string]func(p []byte){
		"child outside the file": func(p []byte) {
			for i := range int(ne.Uint16(p[10:])) {
				ne.PutUint64(p[16+i*elemSize+8:], m.pgid+5)
			}
		},
		"child is a meta page": func(p []byte) {
			for i := range int(ne.Uint16(p[10:])) {
				ne.PutUint64(p[16+i*elemSize+8:], 1)
			}
		},
	}
	for depth, id := range pages {
		for name, fn := range damages {
			damaged := damagePage(content, id, fn(id))
			_, rs, pointErr, snapErr := pointRead(t, damaged, []string{addr})
			if !errors.Is(pointErr, ErrCorrupt) {
				t.Errorf("page %d (depth %d), %s: point read: %v (%d records), want ErrCorrupt", id, depth, name, pointErr, len(rs))
			}
			if !errors.Is(snapErr, ErrCorrupt) {
				t.Errorf("page %d (depth %d), %s: snapshot: %v, want ErrCorrupt", id, depth, name, snapErr)
			}
		}
		if depth == len(pages)-1 {
			continue
		}
		for name, fn := range branchDamages {
			_, _, pointErr, snapErr := pointRead(t, damagePage(content, id, fn), []string{addr})
			if !errors.Is(pointErr, ErrCorrupt) || !errors.Is(snapErr, ErrCorrupt) {
				t.Errorf("branch page %d, %s: point read %v, snapshot %v, want ErrCorrupt", id, name, pointErr, snapErr)
			}
		}
		// A child that is its own parent: a search that would never end.
		cycle := damagePage(content, id, func(p []byte) {
			for i := range int(ne.Uint16(p[10:])) {
				ne.PutUint64(p[16+i*elemSize+8:], id)
			}
		})
		if _, _, pointErr, snapErr := pointRead(t, cycle, []string{addr}); !errors.Is(pointErr, ErrCorrupt) || !errors.Is(snapErr, ErrCorrupt) {
			t.Errorf("branch page %d pointing at itself: point read %v, snapshot %v, want ErrCorrupt", id, pointErr, snapErr)
		}
	}
	// The root bucket's page, which finding the buckets reads.
	for name, fn := range damages {
		if _, _, pointErr, _ := pointRead(t, damagePage(content, m.root, fn(m.root)), []string{addr}); !errors.Is(pointErr, ErrCorrupt) {
			t.Errorf("root page %d, %s: %v, want ErrCorrupt", m.root, name, pointErr)
		}
	}
	// The record's own bytes: its checksum fails.
	leaf := pages[len(pages)-1]
	recordFlip := damagePage(content, leaf, func(p []byte) {
		i := bytes.Index(p, []byte(testResource(1500).ID))
		if i < 0 {
			t.Fatal("the record is not in its leaf")
		}
		p[i] ^= 1
	})
	if _, _, pointErr, _ := pointRead(t, recordFlip, []string{addr}); !errors.Is(pointErr, ErrCorrupt) {
		t.Errorf("a flipped bit in the record: %v, want ErrCorrupt", pointErr)
	}
}

// TestDamageOffPointPath damages a leaf that a point read does not read:
// the point read reads its record right (or refuses the state), and a
// snapshot refuses the state.
func TestDamageOffPointPath(t *testing.T) {
	content := pointState(t, 3000)
	addr := testResource(10).Address
	on := pathOf(t, content, addr)
	other := pathOf(t, content, testResource(2900).Address)
	off := other[len(other)-1]
	for _, id := range on {
		if id == off {
			t.Fatalf("resources 10 and 2900 share leaf %d", off)
		}
	}
	ne := binary.NativeEndian
	for name, fn := range map[string]func(p []byte){
		"wrong page number": func(p []byte) { ne.PutUint64(p, off+1) },
		"element count":     func(p []byte) { ne.PutUint16(p[10:], 0xFFF0) },
		"page type":         func(p []byte) { ne.PutUint16(p[8:], pageBranch) },
	} {
		_, rs, pointErr, snapErr := pointRead(t, damagePage(content, off, fn), []string{addr})
		if pointErr != nil && !errors.Is(pointErr, ErrCorrupt) {
			t.Errorf("%s: point read: %v", name, pointErr)
		}
		if pointErr == nil && !reflect.DeepEqual(rs[addr], testResource(10)) {
			t.Errorf("%s: point read %+v", name, rs[addr])
		}
		if !errors.Is(snapErr, ErrCorrupt) {
			t.Errorf("%s: snapshot: %v, want ErrCorrupt", name, snapErr)
		}
	}
}

// TestHeadCountChecked changes the resource count a state keeps without
// its checksum, as damage or an older wxmedia would: Head counts the
// resources instead, and a writer seals the right count again.
func TestHeadCountChecked(t *testing.T) {
	path := statePath(t)
	l := open(t, path, Options{})
	for i := range 5 {
		r := testResource(i)
		must(t, l.CommitUpload(r, entryFor(r)))
	}
	must(t, l.RemoveResources(testResource(3).Address))
	must(t, l.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyResourceCount, binary.BigEndian.AppendUint64(nil, 9))
	}))
	must(t, l.Close())
	r := open(t, path, Options{ReadOnly: true})
	if h, err := r.Head(); err != nil || h.Resources != 4 {
		t.Errorf("head with a damaged count: %+v, %v; want 4 resources", h, err)
	}
	must(t, r.Close())
	w := open(t, path, Options{Command: "apply"})
	must(t, w.db.View(func(tx *bolt.Tx) error {
		if n, ok := countKnown(tx); !ok || n != 4 {
			t.Errorf("after a writer opened the state: count %d, checked %v; want 4", n, ok)
		}
		return nil
	}))
}

// TestPointReadAfterClose: a reader closed is not a damaged state.
func TestPointReadAfterClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	must(t, os.WriteFile(path, pointState(t, 10), 0o600))
	l := open(t, path, Options{ReadOnly: true})
	must(t, l.Close())
	if _, _, err := l.ReadResources([]string{testResource(1).Address}); err == nil || errors.Is(err, ErrCorrupt) {
		t.Errorf("ReadResources after Close: %v, want an error that is not ErrCorrupt", err)
	}
}

// TestPointReadsOfPublishedCopy: while a writer holds the lock, a reader's
// point reads read the copy the writer published, the state as it was
// when the writer took the lock; another reader, after the writer is
// gone, reads the state itself without walking it.
func TestPointReadsOfPublishedCopy(t *testing.T) {
	path := statePath(t)
	w := open(t, path, Options{Command: "apply"})
	r0 := testResource(0)
	must(t, w.CommitUpload(r0, entryFor(r0)))
	must(t, w.Close())

	w = open(t, path, Options{Command: "apply"})
	r1 := testResource(1)
	must(t, w.CommitUpload(r1, entryFor(r1))) // after the copy was published
	r := open(t, path, Options{ReadOnly: true})
	if r.ReadingSnapshot() == nil {
		t.Fatal("the reader does not read the published copy")
	}
	h, err := r.Head()
	must(t, err)
	rs, serial, err := r.ReadResources([]string{r0.Address, r1.Address})
	must(t, err)
	if h.Resources != 1 || h.Serial != 1 || serial != 1 || len(rs) != 1 || !reflect.DeepEqual(rs[r0.Address], r0) {
		t.Errorf("point reads of the published copy: head %d resources at serial %d; read %d at serial %d", h.Resources, h.Serial, len(rs), serial)
	}
	must(t, r.Close())
	must(t, w.Close())

	r = open(t, path, Options{ReadOnly: true})
	h, err = r.Head()
	must(t, err)
	rs, serial, err = r.ReadResources([]string{r0.Address, r1.Address})
	must(t, err)
	if h.Resources != 2 || serial != 2 || len(rs) != 2 || r.check == nil || r.check.walked {
		t.Errorf("point reads after the writer: head %d resources, read %d at serial %d", h.Resources, len(rs), serial)
	}
}
