// Package memtune is the one home of the memory switches that make large
// plans fast: running without garbage collection under a soft memory
// limit (ForPlan, FitPlan), and faulting fresh memory in before many
// cores write it (Prefault). Each is an optimisation only, with no effect
// on any result: the plain path is not to call them, which
// memtune_test.go and the plan package's tests compare with.
package memtune

import (
	"runtime"
	"runtime/debug"
	"sync"
	"unsafe"
)

// Nearly all that planning allocates stays live until the plan is shown
// (about 1.8 KB per instance), so a collection frees little and costs a
// lot: it scans everything, and its write barriers fault fresh memory in
// twice. The plan command therefore runs without collections, under a soft
// memory limit that starts them should the heap grow well past what the
// plan needs: PlanMinHeap, raised to PlanHeapPerInstance per instance
// expected (Expect) and then per instance evaluated (Fit). PlanMinHeap is also what a hostile
// configuration, which makes mostly garbage, can take before collections
// start: it keeps every configuration bomb under 300 MB.
const (
	PlanMinHeap         = 160 << 20
	PlanHeapPerInstance = 8 << 10
)

// Plan holds the collector settings of one plan command: collections off
// under a soft memory limit, the limit fitted to the plan's size.
type Plan struct {
	mu     sync.Mutex
	gc     int
	limit  int64
	fitted bool
}

// ForPlan turns collections off under PlanMinHeap; Restore puts the
// collector's settings back.
func ForPlan() *Plan {
	t := &Plan{gc: debug.SetGCPercent(-1)}
	t.limit = debug.SetMemoryLimit(PlanMinHeap)
	return t
}

// Expect raises the limit for a plan expected to have about n instances,
// before the configuration is evaluated: the state and the stat cache,
// read meanwhile, grow with the instances, and a limit they pass would
// start collections over and over. It never lowers the limit, and does
// nothing once Fit was called. The expectation comes from this machine's
// own stat cache, so a configuration that makes mostly garbage can take,
// before collections start, PlanHeapPerInstance per file the last plan
// hashed (PlanMinHeap at least).
func (t *Plan) Expect(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if want := int64(n) * PlanHeapPerInstance; !t.fitted && want > debug.SetMemoryLimit(-1) {
		debug.SetMemoryLimit(want)
	}
}

// Fit sets the limit for a plan of n instances, once evaluated:
// PlanHeapPerInstance each, PlanMinHeap at least.
func (t *Plan) Fit(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fitted = true
	debug.SetMemoryLimit(max(int64(n)*PlanHeapPerInstance, PlanMinHeap))
}

// Restore puts back the collector's settings from before ForPlan.
func (t *Plan) Restore() {
	debug.SetGCPercent(t.gc)
	debug.SetMemoryLimit(t.limit)
}

// prefaultMin is the size under which Prefault does nothing: faulting a
// few pages in costs less than starting goroutines.
const prefaultMin = 64 << 10

// Prefault writes a zero to the first byte of each memory page of s,
// which must be all zero and not yet in use (as make returns it), on
// every core. Fresh memory read before it is written (as the write
// barrier does during a collection) is mapped to the shared zero page
// first, and every core must then flush it from its TLB when it is
// written: writing each page first makes that one fault, and the cores
// share the faulting.
func Prefault[T any](s []T) {
	var zero T
	size := uintptr(len(s)) * unsafe.Sizeof(zero)
	if size < prefaultMin {
		return
	}
	p := unsafe.Pointer(unsafe.SliceData(s))
	const page = 4096
	first := (uintptr(p) + page - 1) &^ (page - 1)
	if first >= uintptr(p)+size {
		return
	}
	n := int((uintptr(p) + size - first + page - 1) / page)
	off := first - uintptr(p)
	workers := min(runtime.GOMAXPROCS(0), n)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				*(*byte)(unsafe.Add(p, off+uintptr(i)*page)) = 0
			}
		})
	}
	wg.Wait()
}
