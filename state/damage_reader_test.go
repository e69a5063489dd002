package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// readerView is everything a read-only open of the state at path reads:
// the snapshot, the cache listed and looked up, and the export; or the
// error that stopped it. full runs bbolt's consistency check on the open,
// as writers do (the reference path).
type readerView struct {
	snap   *Snapshot
	list   []CacheEntry
	hits   map[CacheKey]CacheEntry
	export *Export
	err    error
	panic  any
}

func readOnlyView(path string, keys []CacheKey, full bool) (v readerView) {
	defer func() { v.panic = recover() }()
	l, err := OpenLocal(path, Options{ReadOnly: true, FullCheck: full})
	if err != nil {
		v.err = err
		return v
	}
	defer l.Close()
	if v.snap, v.err = l.Snapshot(); v.err != nil {
		return v
	}
	if v.list, v.err = l.ListCache(); v.err != nil {
		return v
	}
	if v.hits, v.err = l.LookupCache(keys); v.err != nil {
		return v
	}
	v.export, v.err = l.Export()
	return v
}

// TestReaderSkipsConsistencyCheck compares, on states with random bits
// flipped, a read-only open (the page walk and the records' checksums)
// with the same open running bbolt's consistency check too, as writers
// do: whatever the full check reads, the reader reads alike; whatever the
// reader refuses, the full check refuses; and what the reader reads where
// only the full check refuses is the state's own records (some lookups may
// miss), never another. WXMEDIA_SLOW_TESTS runs 1,000 damaged files, else
// 80.
func TestReaderSkipsConsistencyCheck(t *testing.T) {
	b := damagedStateBase(t)
	trials := 80
	if os.Getenv("WXMEDIA_SLOW_TESTS") != "" {
		trials = 1000
	}
	keys := make([]CacheKey, 0, len(b.cache))
	for k := range b.cache {
		keys = append(keys, k)
	}
	// The undamaged state reads alike both ways.
	path := filepath.Join(t.TempDir(), "state.db")
	must(t, os.WriteFile(path, b.file, 0o600))
	fast, full := readOnlyView(path, keys, false), readOnlyView(path, keys, true)
	if fast.err != nil || full.err != nil || fast.panic != nil || full.panic != nil {
		t.Fatalf("undamaged state: reader %v %v, full check %v %v", fast.err, fast.panic, full.err, full.panic)
	}
	if !reflect.DeepEqual(fast.snap, b.snap) || !reflect.DeepEqual(fast.hits, b.cache) || len(fast.list) != len(b.cache) {
		t.Fatalf("undamaged state: the reader read %d resources, %d cache entries, %d hits; want %d, %d, %d",
			len(fast.snap.Resources), len(fast.list), len(fast.hits), len(b.snap.Resources), len(b.cache), len(b.cache))
	}

	rng := rand.New(rand.NewSource(7))
	var same, onlyFull, bothRefused int
	for i := range trials {
		bits := make([]uint64, 1+rng.Intn(8))
		for j := range bits {
			bits[j] = uint64(rng.Int63n(int64(len(b.file)) * 8))
		}
		must(t, os.WriteFile(path, flipBits(b.file, bits), 0o600))
		fast, full := readOnlyView(path, keys, false), readOnlyView(path, keys, true)
		name := fmt.Sprintf("trial %d (bits %v)", i, bits)
		if fast.panic != nil || full.panic != nil {
			t.Errorf("%s: panic: reader %v, full check %v", name, fast.panic, full.panic)
			continue
		}
		for _, err := range []error{fast.err, full.err} {
			if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrSchemaVersion) {
				t.Errorf("%s: error not reported as a corrupt state: %v", name, err)
			}
		}
		switch {
		case fast.err != nil && full.err != nil:
			bothRefused++
		case fast.err != nil:
			t.Errorf("%s: the reader refused a state the full check reads: %v", name, fast.err)
		case full.err == nil:
			same++
			if !reflect.DeepEqual(fast, full) {
				t.Errorf("%s: the reader and the full check read differently", name)
			}
		default:
			onlyFull++
			for addr, r := range fast.snap.Resources {
				if want, ok := b.snap.Resources[addr]; !ok || !reflect.DeepEqual(r, want) {
					t.Errorf("%s: the reader read resource %q: %+v", name, addr, r)
				}
			}
			for name2, o := range fast.snap.Outputs {
				if want, ok := b.snap.Outputs[name2]; !ok || !reflect.DeepEqual(o, want) {
					t.Errorf("%s: the reader read output %q: %+v", name, name2, o)
				}
			}
			for _, e := range append(fast.list, fast.export.Cache...) {
				if want, ok := b.cache[e.CacheKey]; !ok || !reflect.DeepEqual(e, want) {
					t.Errorf("%s: the reader read cache entry %+v", name, e)
				}
			}
			for k, e := range fast.hits {
				if want, ok := b.cache[k]; !ok || !reflect.DeepEqual(e, want) {
					t.Errorf("%s: the reader looked up cache entry %+v", name, e)
				}
			}
			for _, r := range fast.export.Resources {
				if want, ok := b.snap.Resources[r.Address]; !ok || !reflect.DeepEqual(r, want) {
					t.Errorf("%s: the reader exported resource %+v", name, r)
				}
			}
		}
	}
	t.Logf("%d damaged states: %d read alike, %d refused by both, %d refused by the full check only (read correctly by the reader)",
		trials, same, bothRefused, onlyFull)
}

// TestFreedPageInUse lists a page of the tree in the freelist in place of
// a free one: a page both in use and free, and one neither, which a writer
// would go on to overwrite and lose. Writers refuse the state on opening
// it, readers on reading it whole, leaving it as it was.
func TestFreedPageInUse(t *testing.T) {
	b := damagedStateBase(t)
	content := bytes.Clone(b.file)
	m0, ok0 := parseBoltMeta(content)
	if !ok0 {
		t.Fatal("meta page 0 is not valid")
	}
	m := m0
	if m1, ok := parseBoltMeta(content[m0.pageSize:]); ok && m1.txid > m0.txid {
		m = m1
	}
	ne := binary.NativeEndian
	fl := content[m.freelist*uint64(m.pageSize):]
	n, start := uint64(ne.Uint16(fl[10:])), uint64(16)
	if n == 0xFFFF {
		n, start = ne.Uint64(fl[16:]), 24
	}
	if n == 0 {
		t.Fatal("the state has no free page to change")
	}
	ne.PutUint64(fl[start:], m.root)
	path := filepath.Join(t.TempDir(), "state.db")
	must(t, os.WriteFile(path, content, 0o600))

	for _, ro := range []bool{true, false} {
		l, err := OpenLocal(path, Options{ReadOnly: ro, Command: "apply"})
		if err == nil {
			// bbolt never reads the freelist for a reader, which walks
			// the whole file, freelist included, at its first read of
			// the whole state.
			_, err = l.Snapshot()
			l.Close()
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("read-only %v: %v, want a corrupt state", ro, err)
		}
	}
	if now, err := os.ReadFile(path); err != nil || !bytes.Equal(now, content) {
		t.Errorf("the refused file was changed")
	}
}
