package state

import (
	"path/filepath"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestAppendedResourcesAreDense checks that resources recorded in address
// order, concurrently as an apply records them, fill the state's pages,
// and that recording between and over them afterwards keeps every record.
func TestAppendedResourcesAreDense(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	l, err := OpenLocal(path, Options{Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const n = 3000
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		if i%2 == 1 {
			continue // recorded below, between the others
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r := testResource(i)
			if err := l.CommitUpload(r, entryFor(r)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var s bolt.BucketStats
	l.db.View(func(tx *bolt.Tx) error { s = tx.Bucket(bucketResources).Stats(); return nil })
	if fill := float64(s.LeafInuse) / float64(s.LeafAlloc); fill < 0.55 { // half-empty pages (about 50%) without filling; the order of concurrent commits varies
		t.Errorf("resource pages %.0f%% full after appending", 100*fill)
	}
	for i := range n {
		r := testResource(i)
		r.ID += "-again"
		if i%2 == 0 && i%3 != 0 {
			continue
		}
		wg.Go(func() {
			if err := l.PutResource(r); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	snap, err := l.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Resources) != n {
		t.Fatalf("%d resources, want %d", len(snap.Resources), n)
	}
	for i := range n {
		want := testResource(i)
		if i%2 == 1 || i%3 == 0 {
			want.ID += "-again"
		}
		if got := snap.Resources[want.Address]; got != want {
			t.Fatalf("resource %d: got %+v, want %+v", i, got, want)
		}
	}
}
