package state

import (
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// BenchmarkCheck100k measures, on a state of 100,000 resources and their
// cache entries, what checking a state on open costs against reading it:
// the page walk, bbolt's consistency check, a whole read-only open (both
// and the meta checks), and a snapshot.
func BenchmarkCheck100k(b *testing.B) {
	const n = 100_000
	path := filepath.Join(b.TempDir(), "state.db")
	l := open(b, path, Options{})
	must(b, l.db.Update(func(tx *bolt.Tx) error {
		rb, cb := tx.Bucket(bucketResources), tx.Bucket(bucketCache)
		rb.FillPercent, cb.FillPercent = 1, 1
		if err := putTestRecords(rb, cb, n); err != nil {
			return err
		}
		return setResourceCount(tx.Bucket(bucketMeta), n)
	}))
	must(b, l.Close())
	if fi, err := os.Stat(path); err == nil {
		b.Logf("state of %d resources: %d bytes", n, fi.Size())
	}
	b.Run("walk", func(b *testing.B) {
		for b.Loop() {
			must(b, checkFile(path, checkTree))
		}
	})
	b.Run("bbolt-check", func(b *testing.B) {
		db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
		must(b, err)
		defer db.Close()
		for b.Loop() {
			must(b, db.View(checkTx))
		}
	})
	b.Run("open", func(b *testing.B) {
		for b.Loop() {
			l, err := OpenLocal(path, Options{ReadOnly: true})
			must(b, err)
			must(b, l.Close())
		}
	})
	b.Run("snapshot", func(b *testing.B) {
		l := open(b, path, Options{ReadOnly: true})
		for b.Loop() {
			s, err := l.Snapshot()
			must(b, err)
			if len(s.Resources) != n {
				b.Fatalf("%d resources", len(s.Resources))
			}
		}
	})
}
