// Package memtune is the one home of the memory switches that make large
// plans fast: running without garbage collection under a soft memory
// limit fitted to the plan (ForPlan, Expect, Fit). It is an optimisation
// only, with no effect on any result: the plain path is not to call it,
// which memtune_test.go and the plan package's tests compare with.
package memtune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"sync"
)

// Nearly all that planning allocates stays live until the plan is shown
// (about 600 bytes per instance on a no-change plan: the evaluated
// instances, the stat cache's and the no-op index's bytes, the compact
// changes), so a collection frees little and costs a lot: it scans
// everything, and its write barriers fault fresh memory in twice. The plan
// command therefore runs without collections, under a soft memory limit
// that starts them should the heap grow past what the plan needs:
// PlanMinHeap, raised to PlanHeapBase plus PlanHeapPerInstance per
// instance expected (Expect) and then per instance evaluated (Fit). The
// limit is what a plan's peak resident memory comes to, so it is fitted
// close: a plan that keeps more live than that (one that reads the whole
// state, say) collects once it reaches the limit, and after each
// collection the limit is raised to a third above the heap that survived
// it (see watch), so that such a plan collects a few times, as with
// GOGC=33, never over and over (a limit under the live heap makes the
// collector run back to back, freeing nothing: golang/go#58106). PlanMinHeap is also what a hostile
// configuration, which makes mostly garbage, can take before collections
// start.
const (
	PlanMinHeap         = 48 << 20
	PlanHeapBase        = 16 << 20
	PlanHeapPerInstance = 600
)

// Plan holds the collector settings of one plan command: collections off
// under a soft memory limit, the limit fitted to the plan's size.
type Plan struct {
	mu     sync.Mutex
	gc     int
	limit  int64
	fitted bool
	// done is set by Restore: the watch stops.
	done bool
	// raised is set when a collection raised the limit: Fit then never
	// lowers it.
	raised bool
}

// ForPlan turns collections off under PlanMinHeap; Restore puts the
// collector's settings back.
func ForPlan() *Plan {
	t := &Plan{gc: debug.SetGCPercent(-1)}
	t.limit = debug.SetMemoryLimit(PlanMinHeap)
	t.watch()
	return t
}

// planLimit is the limit for a plan of n instances.
func planLimit(n int) int64 {
	return max(PlanHeapBase+int64(n)*PlanHeapPerInstance, PlanMinHeap)
}

// Expect raises the limit for a plan expected to have about n instances,
// before the configuration is evaluated: the state and the stat cache,
// read meanwhile, grow with the instances, and a limit they pass would
// start collections. It never lowers the limit, and does nothing once Fit
// was called. The expectation comes from this machine's own stat cache, so
// a configuration that makes mostly garbage can take, before collections
// start, the limit of as many instances as the last plan hashed files.
func (t *Plan) Expect(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if want := planLimit(n); !t.fitted && want > debug.SetMemoryLimit(-1) {
		debug.SetMemoryLimit(want)
	}
}

// Fit sets the limit for a plan of n instances, once evaluated, unless a
// collection already raised it higher.
func (t *Plan) Fit(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fitted = true
	if want := planLimit(n); want > debug.SetMemoryLimit(-1) || !t.raised {
		debug.SetMemoryLimit(want)
	}
}

// Restore puts back the collector's settings from before ForPlan.
func (t *Plan) Restore() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done = true
	debug.SetGCPercent(t.gc)
	debug.SetMemoryLimit(t.limit)
}

// watch arranges for afterGC to run after the next collection: a cleanup
// of an object nothing refers to runs once a collection has found it
// unreachable. The runtime has no hook for the end of a collection; this
// is the usual stand-in for one.
func (t *Plan) watch() {
	// Not tiny (16 bytes or more): a tiny object shares its block with
	// others and may never be found unreachable (golang/go#46827).
	sentinel := new([32]byte)
	runtime.AddCleanup(sentinel, func(t *Plan) { t.afterGC() }, t)
}

// liveHeap is the heap that survived the last collection.
var liveHeap = []metrics.Sample{{Name: "/gc/heap/live:bytes"}}

// afterGC raises the limit to a third above the heap that survived the
// collection that just ran, when that is higher, and watches for the next.
func (t *Plan) afterGC() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return
	}
	s := slices.Clone(liveHeap)
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		want := int64(s[0].Value.Uint64()) / 3 * 4
		if want > debug.SetMemoryLimit(-1) {
			debug.SetMemoryLimit(want)
			t.raised = true
		}
	}
	t.watch()
}
