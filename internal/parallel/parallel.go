// Package parallel runs a loop over [0, n) on every core: the one helper
// that planning, hashing and state decoding share. It is written here
// rather than with errgroup because those loops need what errgroup does
// not give: ranges of indices taken from a shared counter (no goroutine or
// channel operation per index), and the index of the worker, for state
// kept per worker (a read buffer, a decoder).
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Workers is how many goroutines For uses for n indices in blocks of
// block: one per block, at most GOMAXPROCS, at least one.
func Workers(n, block int) int {
	block = max(block, 1)
	return max(1, min(runtime.GOMAXPROCS(0), (n+block-1)/block))
}

// For calls fn for consecutive ranges [lo, hi) covering [0, n), of block
// indices each (the last one may be shorter), on Workers(n, block)
// goroutines: the caller's and as many more as needed, each taking the
// next range from a shared counter until none is left. worker, below
// Workers(n, block), says which goroutine calls fn. With one worker, fn
// runs on the caller's goroutine. fn must be safe to call concurrently for
// different ranges; For returns when every call has returned.
func For(n, block int, fn func(worker, lo, hi int)) {
	block = max(block, 1)
	workers := Workers(n, block)
	if workers == 1 {
		for lo := 0; lo < n; lo += block {
			fn(0, lo, min(lo+block, n))
		}
		return
	}
	var next atomic.Int64
	work := func(w int) {
		for {
			lo := int(next.Add(int64(block))) - block
			if lo >= n {
				return
			}
			fn(w, lo, min(lo+block, n))
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Go(func() { work(w) })
	}
	work(0)
	wg.Wait()
}
