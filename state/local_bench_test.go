package state

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func BenchmarkSnapshot100k(b *testing.B) {
	const n = 100_000
	l := open(b, filepath.Join(b.TempDir(), "state.db"), Options{})
	// Filled directly, in key order: bbolt inserts out-of-order keys of one
	// transaction slowly, and apply commits each upload on its own anyway.
	rs := make([]Resource, n)
	for i := range rs {
		rs[i] = testResource(i)
	}
	must(b, l.db.Update(func(tx *bolt.Tx) error {
		rb := tx.Bucket(bucketResources)
		for _, r := range rs {
			v, err := resourceValue(r)
			if err != nil {
				return err
			}
			if err := rb.Put([]byte(r.Address), v); err != nil {
				return err
			}
		}
		return nil
	}))
	slices.SortFunc(rs, func(a, b Resource) int { return strings.Compare(a.SHA256, b.SHA256) })
	must(b, l.db.Update(func(tx *bolt.Tx) error {
		cb := tx.Bucket(bucketCache)
		for _, r := range rs {
			e := entryFor(r)
			v, err := cacheValue(e)
			if err != nil {
				return err
			}
			if err := cb.Put(cacheKeyBytes(e.CacheKey), v); err != nil {
				return err
			}
		}
		return nil
	}))
	b.ResetTimer()
	for b.Loop() {
		s, err := l.Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		if len(s.Resources) != n {
			b.Fatalf("%d resources", len(s.Resources))
		}
	}
}
