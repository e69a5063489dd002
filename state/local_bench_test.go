package state

import (
	"encoding/binary"
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

// BenchmarkSnapshot100kSchema1 reads a state as schema version 1 wrote it,
// every resource a JSON record, as a reader does before a writer has
// upgraded the state.
func BenchmarkSnapshot100kSchema1(b *testing.B) {
	const n = 100_000
	path := filepath.Join(b.TempDir(), "state.db")
	w := open(b, path, Options{})
	must(b, w.db.Update(func(tx *bolt.Tx) error {
		rb := tx.Bucket(bucketResources)
		for i := range n {
			r := testResource(i)
			v, err := jsonRecord(r)
			if err != nil {
				return err
			}
			if err := rb.Put([]byte(r.Address), v); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if err := meta.Delete(keySchemaSum); err != nil {
			return err
		}
		return meta.Put(keySchema, binary.BigEndian.AppendUint64(nil, 1))
	}))
	must(b, w.Close())
	l := open(b, path, Options{ReadOnly: true})
	defer l.Close()
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
