package memtune

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// TestForPlan checks that the settings ForPlan changes are restored, that
// Expect only raises the limit and only before Fit, and that Fit sets it
// for the instances evaluated, lowering an expectation too high.
func TestForPlan(t *testing.T) {
	gc, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	defer func() { debug.SetGCPercent(gc); debug.SetMemoryLimit(limit) }()
	debug.SetMemoryLimit(1 << 40)
	want := func(what string, n int64) {
		t.Helper()
		if got := debug.SetMemoryLimit(-1); got != n {
			t.Errorf("limit %s = %d, want %d", what, got, n)
		}
	}
	tune := ForPlan()
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("GC percent under ForPlan = %d", got)
	}
	want("under ForPlan", 48<<20)
	tune.Expect(1000)
	want("expecting 1,000 instances", 48<<20)
	tune.Expect(1000000)
	want("expecting 1,000,000 instances", 16<<20+1000000*600)
	tune.Expect(30000)
	want("expecting fewer", 16<<20+1000000*600)
	tune.Fit(1000)
	want("for 1,000 instances", 48<<20)
	tune.Expect(1000000)
	want("expecting more after Fit", 48<<20)
	tune.Fit(100000)
	want("for 100,000 instances", 16<<20+100000*600)
	tune.Fit(1000000)
	want("for 1,000,000 instances", 16<<20+1000000*600)
	tune.Restore()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent after restore = %d", got)
	}
	want("after restore", 1<<40)
}

// TestForPlanKeepingMore checks that a plan keeping more live than its
// limit collects a few times, not on every allocation past the limit: the
// limit follows the heap that survives each collection.
func TestForPlanKeepingMore(t *testing.T) {
	gc, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	defer func() { debug.SetGCPercent(gc); debug.SetMemoryLimit(limit) }()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	tune := ForPlan()
	tune.Fit(0) // 48 MiB
	// 160 MiB kept live, 64 KiB at a time, with as much garbage.
	var kept [][]byte
	for range 160 << 4 {
		kept = append(kept, make([]byte, 64<<10))
		_ = make([]byte, 64<<10)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	// The limit follows once a collection has seen what is kept (the
	// watch runs on a goroutine of its own, after the collection).
	runtime.GC()
	raised := debug.SetMemoryLimit(-1)
	for deadline := time.Now().Add(5 * time.Second); raised < 160<<20 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		raised = debug.SetMemoryLimit(-1)
	}
	tune.Restore()
	// From 48 MiB to 160 MiB live, each collection's limit a third
	// above the heap kept: about 6 collections; 20 leaves room for a
	// collection that starts before the limit is raised.
	if n := after.NumGC - before.NumGC; n == 0 || n > 20 {
		t.Errorf("%d collections for 160 MiB kept under a 48 MiB limit", n)
	}
	if raised < 160<<20 {
		t.Errorf("limit %d MiB with 160 MiB live", raised>>20)
	}
	runtime.KeepAlive(kept)
}
