package memtune

import (
	"runtime/debug"
	"testing"
)

// TestPrefault checks that Prefault changes nothing a program can see:
// fresh memory stays zero, and memory beside it is not written.
func TestPrefault(t *testing.T) {
	for _, n := range []int{0, 1, 4095, 4096, prefaultMin - 1, prefaultMin, 3*prefaultMin + 123} {
		buf := make([]byte, n+2*4096)
		for i := range 4096 {
			buf[i], buf[len(buf)-1-i] = 0xa5, 0x5a
		}
		s := buf[4096 : 4096+n]
		Prefault(s)
		for i, b := range s {
			if b != 0 {
				t.Fatalf("n=%d: byte %d is %#x after Prefault", n, i, b)
			}
		}
		for i := range 4096 {
			if buf[i] != 0xa5 || buf[len(buf)-1-i] != 0x5a {
				t.Fatalf("n=%d: Prefault wrote outside the slice", n)
			}
		}
	}
	type rec struct {
		a, b string
		c    int64
	}
	recs := make([]rec, 100000)
	Prefault(recs)
	for i := range recs {
		if recs[i] != (rec{}) {
			t.Fatalf("record %d is %+v", i, recs[i])
		}
	}
}

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
	want("under ForPlan", 160<<20)
	tune.Expect(1000)
	want("expecting 1,000 instances", 160<<20)
	tune.Expect(1000000)
	want("expecting 1,000,000 instances", 1000000*8<<10)
	tune.Expect(30000)
	want("expecting fewer", 1000000*8<<10)
	tune.Fit(1000)
	want("for 1,000 instances", 160<<20)
	tune.Expect(1000000)
	want("expecting more after Fit", 160<<20)
	tune.Fit(1000000)
	want("for 1,000,000 instances", 1000000*8<<10)
	tune.Restore()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent after restore = %d", got)
	}
	want("after restore", 1<<40)
}
