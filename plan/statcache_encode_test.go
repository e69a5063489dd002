package plan

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestStatCacheEncodeMerged compares the merged encoding Save uses for a
// cache loaded in path order with the plain one (a map of the entries to
// keep, sorted): the same bytes, for caches where some loaded entries were
// used, some not, some replaced by learnt ones, and learnt ones fall before,
// among and after the loaded ones (an over-long path or head is left out
// by both).
func TestStatCacheEncodeMerged(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		loaded := map[string]bool{}
		for range rng.IntN(50) {
			loaded[fmt.Sprintf("img/d%d/f%03d.png", rng.IntN(3), rng.IntN(200))] = true
		}
		paths := make([]string, 0, len(loaded))
		for p := range loaded {
			paths = append(paths, p)
		}
		slices.Sort(paths)
		c := NewStatCache()
		c.dirty = round%7 != 0
		c.loaded, c.sorted = loadedIndex(t, paths, func(i int, e *statEntry) {
			e.stat, e.head = FileStat{Size: int64(i), MtimeNs: rng.Int64(), Ino: uint64(i)}, []byte("head "+e.path)
			e.sum[0] = byte(i)
		})
		for n := range c.loaded.len() {
			c.loaded.used[n].Store(rng.IntN(3) != 0)
		}
		for range rng.IntN(10) {
			p := fmt.Sprintf("img/d%d/f%03d.png", rng.IntN(4), rng.IntN(200))
			if rng.IntN(4) == 0 && len(paths) > 0 {
				p = paths[rng.IntN(len(paths))] // replaces a loaded entry
			}
			head := []byte("learnt " + p)
			if rng.IntN(20) == 0 {
				head = bytes.Repeat([]byte("h"), 256) // too long: left out
			}
			if rng.IntN(20) == 0 {
				p = strings.Repeat("x", 0x10000) // too long: left out
			}
			c.learnt[p] = &statEntry{path: p, stat: FileStat{Size: 7, CtimeNs: rng.Int64()}, head: head}
		}
		keep := map[string]*statEntry{}
		for n := range c.loaded.len() {
			if c.loaded.used[n].Load() {
				e := c.loaded.entry(n)
				keep[e.path] = &e
			}
		}
		for p, e := range c.learnt {
			keep[p] = e
		}
		plain, merged := encodeStatCache(keep), c.encodeMerged()
		if !bytes.Equal(plain, merged) {
			t.Fatalf("round %d: merged encoding differs from the plain one (%d and %d bytes)", round, len(merged), len(plain))
		}
		if _, _, err := parseStatCache(merged); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
}

// BenchmarkStatCacheEncode encodes a cache of 100,000 loaded entries of
// which 100 were hashed again, as Save does after a plan with 100 edited
// files: "merged" is Save's encoding, "plain" the map-and-sort one.
func BenchmarkStatCacheEncode(b *testing.B) {
	const n = 100000
	paths := make([]string, n)
	for i := range paths {
		paths[i] = fmt.Sprintf("/corpus/img/d%03d/f%06d.png", i/1000, i)
	}
	c := NewStatCache()
	c.loaded, c.sorted = loadedIndex(b, paths, func(_ int, e *statEntry) { e.head = []byte("\x89PNG\r\n\x1a\n") })
	for n := range c.loaded.len() {
		c.loaded.used[n].Store(true)
	}
	for _, p := range paths[50000:50100] {
		c.learnt[p] = &statEntry{path: p, head: []byte("\x89PNG\r\n\x1a\n")}
	}
	b.Run("merged", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			c.encodeMerged()
		}
	})
	b.Run("plain", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			keep := make(map[string]*statEntry, n)
			for n := range c.loaded.len() {
				e := c.loaded.entry(n)
				keep[e.path] = &e
			}
			for p, e := range c.learnt {
				keep[p] = e
			}
			encodeStatCache(keep)
		}
	})
}

// loadedIndex writes a cache file of paths, in their order, with the
// fields fill gives each entry, and indexes it as LoadStatCache does.
func loadedIndex(tb testing.TB, paths []string, fill func(i int, e *statEntry)) (statIndex, bool) {
	tb.Helper()
	var b bytes.Buffer
	w := newStatCacheWriter(&b, len(paths))
	for i, p := range paths {
		e := statEntry{path: p}
		fill(i, &e)
		w.add(p, &e)
	}
	if err := w.finish(); err != nil {
		tb.Fatal(err)
	}
	x, sorted, err := parseStatCache(b.Bytes())
	if err != nil {
		tb.Fatal(err)
	}
	return x, sorted
}

// TestStatIndex checks that entries read in place from a cache file are
// the entries written, for paths in order or not (and heads and paths up
// to their longest), and that a file cut short or altered is refused.
func TestStatIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 100 {
		var want []statEntry
		for i := range rng.IntN(40) {
			e := statEntry{
				path: fmt.Sprintf("img/%c/f%d.png", 'a'+rng.IntN(26), i),
				stat: FileStat{Size: rng.Int64(), MtimeNs: rng.Int64(), CtimeNs: -rng.Int64(), Ino: rng.Uint64(), Dev: rng.Uint64()},
				head: bytes.Repeat([]byte{byte(i)}, rng.IntN(256)),
			}
			if i == 3 {
				e.path = strings.Repeat("p", 0xffff)
			}
			for k := range e.sum {
				e.sum[k] = byte(rng.IntN(256))
			}
			want = append(want, e)
		}
		var b bytes.Buffer
		w := newStatCacheWriter(&b, len(want))
		for _, e := range want {
			w.add(e.path, &e)
		}
		if err := w.finish(); err != nil {
			t.Fatal(err)
		}
		data := b.Bytes()
		x, sorted, err := parseStatCache(data)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if x.len() != len(want) {
			t.Fatalf("round %d: %d entries, want %d", round, x.len(), len(want))
		}
		inOrder := true
		for n, e := range want {
			got := x.entry(n)
			if got.path != e.path || got.stat != e.stat || got.sum != e.sum || !bytes.Equal(got.head, e.head) {
				t.Fatalf("round %d: entry %d read as %+v, want %+v", round, n, got, e)
			}
			if n > 0 && want[n-1].path >= e.path {
				inOrder = false
			}
		}
		if sorted != inOrder {
			t.Errorf("round %d: sorted = %v, want %v", round, sorted, inOrder)
		}
		if len(want) > 0 {
			if _, _, err := parseStatCache(data[:len(data)-5]); err == nil {
				t.Errorf("round %d: a file cut short was accepted", round)
			}
			bad := bytes.Clone(data)
			bad[len(statCacheMagic)+4+rng.IntN(len(bad)-len(statCacheMagic)-8)] ^= 1
			if _, _, err := parseStatCache(bad); err == nil {
				t.Errorf("round %d: an altered file was accepted", round)
			}
		}
	}
}

// TestStatCacheCount checks the count read from a cache file's header:
// the entries saved, 0 for a missing or foreign file, and never more than
// the file's size can hold.
func TestStatCacheCount(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "statcache")
	if n := StatCacheCount(path); n != 0 {
		t.Errorf("missing file: %d", n)
	}
	x, _ := loadedIndex(t, []string{"a", "b", "c"}, func(int, *statEntry) {})
	if err := os.WriteFile(path, append([]byte(nil), x.data...), 0o600); err != nil {
		t.Fatal(err)
	}
	if n := StatCacheCount(path); n != 3 {
		t.Errorf("3 entries read as %d", n)
	}
	lying := append([]byte(statCacheMagic), 0xff, 0xff, 0xff, 0x7f)
	if err := os.WriteFile(path, lying, 0o600); err != nil {
		t.Fatal(err)
	}
	if n := StatCacheCount(path); n != 0 {
		t.Errorf("a header claiming 2^31 entries in %d bytes read as %d", len(lying), n)
	}
	if err := os.WriteFile(path, []byte("not a stat cache at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	if n := StatCacheCount(path); n != 0 {
		t.Errorf("foreign file: %d", n)
	}
}

// encodeStatCache is the plain encoding of keep, as Save writes it.
func encodeStatCache(keep map[string]*statEntry) []byte {
	var b bytes.Buffer
	if err := writeStatCache(&b, keep); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// encodeMerged is the merged encoding of c, as Save writes it.
func (c *StatCache) encodeMerged() []byte {
	var b bytes.Buffer
	if err := c.writeMerged(&b); err != nil {
		panic(err)
	}
	return b.Bytes()
}
