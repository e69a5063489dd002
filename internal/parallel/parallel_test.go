package parallel

import (
	"runtime"
	"sync/atomic"
	"testing"
)

// Every index is visited once, in ranges of block, by workers below
// Workers, whatever n and block are.
func TestFor(t *testing.T) {
	for _, procs := range []int{1, 2, 4} {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		for _, n := range []int{0, 1, 2, 7, 64, 1000, 4097} {
			for _, block := range []int{0, 1, 3, 64, 1024, 5000} {
				seen := make([]atomic.Int32, n)
				workers := Workers(n, block)
				var calls atomic.Int32
				For(n, block, func(w, lo, hi int) {
					calls.Add(1)
					if w < 0 || w >= workers {
						t.Errorf("n=%d block=%d: worker %d of %d", n, block, w, workers)
					}
					if lo >= hi || hi > n || (hi-lo != max(block, 1) && hi != n) {
						t.Errorf("n=%d block=%d: range [%d, %d)", n, block, lo, hi)
					}
					for i := lo; i < hi; i++ {
						seen[i].Add(1)
					}
				})
				for i := range seen {
					if c := seen[i].Load(); c != 1 {
						t.Fatalf("procs=%d n=%d block=%d: index %d visited %d times", procs, n, block, i, c)
					}
				}
				if want := (n + max(block, 1) - 1) / max(block, 1); int(calls.Load()) != want {
					t.Errorf("n=%d block=%d: %d calls, want %d", n, block, calls.Load(), want)
				}
				if workers < 1 || workers > procs {
					t.Errorf("procs=%d n=%d block=%d: %d workers", procs, n, block, workers)
				}
			}
		}
	}
}

// The state of a worker is never used by two goroutines at once.
func TestForWorkerIndexExclusive(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	const n = 100000
	busy := make([]atomic.Int32, Workers(n, 8))
	For(n, 8, func(w, lo, hi int) {
		if busy[w].Add(1) != 1 {
			t.Errorf("worker %d runs twice at once", w)
		}
		busy[w].Add(-1)
	})
}
