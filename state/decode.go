package state

import (
	"fmt"
	"runtime"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// decodeChunk is how many resources one goroutine of decodeResources decodes
// at a time.
const decodeChunk = 2048

// decodeResources decodes every resource in b. Decoding JSON is what a
// large snapshot spends its time on, so it is spread over the CPUs; the
// keys and values stay valid because the caller's transaction stays open.
func decodeResources(b *bolt.Bucket) (map[string]Resource, error) {
	var keys, values [][]byte
	if err := b.ForEach(func(k, v []byte) error {
		keys = append(keys, k)
		values = append(values, v)
		return nil
	}); err != nil {
		return nil, err
	}

	decoded := make([]Resource, len(values))
	errs := make([]error, (len(values)+decodeChunk-1)/decodeChunk)
	work := make(chan int, len(errs))
	for c := range errs {
		work <- c
	}
	close(work)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(errs)) {
		wg.Go(func() {
			var dec resourceDecoder
			for c := range work {
				end := min((c+1)*decodeChunk, len(values))
				for i := c * decodeChunk; i < end; i++ {
					r := &decoded[i]
					if err := dec.decode(values[i], r); err != nil {
						errs[c] = fmt.Errorf("%w: resource %s: %w", ErrCorrupt, keys[i], err)
						break
					}
					if r.Address != string(keys[i]) {
						errs[c] = fmt.Errorf("%w: resource %s stored under %q", ErrCorrupt, r.Address, keys[i])
						break
					}
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}

	rs := make(map[string]Resource, len(decoded))
	for _, r := range decoded {
		rs[r.Address] = r
	}
	return rs, nil
}
