package plan

import (
	"bytes"
	"fmt"
	"math/rand/v2"
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
		c.entries = make([]statEntry, len(paths))
		for i, p := range paths {
			e := &c.entries[i]
			e.path, e.stat, e.head = p, FileStat{Size: int64(i), MtimeNs: rng.Int64(), Ino: uint64(i)}, []byte("head "+p)
			e.sum[0] = byte(i)
			e.used.Store(rng.IntN(3) != 0)
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
		for i := range c.entries {
			if e := &c.entries[i]; e.used.Load() {
				keep[e.path] = e
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
	c := NewStatCache()
	c.entries = make([]statEntry, n)
	for i := range c.entries {
		e := &c.entries[i]
		e.path, e.head = fmt.Sprintf("/corpus/img/d%03d/f%06d.png", i/1000, i), []byte("\x89PNG\r\n\x1a\n")
		e.used.Store(true)
	}
	for i := 50000; i < 50100; i++ {
		p := c.entries[i].path
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
			for i := range c.entries {
				keep[c.entries[i].path] = &c.entries[i]
			}
			for p, e := range c.learnt {
				keep[p] = e
			}
			encodeStatCache(keep)
		}
	})
}
