package backendtest

import (
	"encoding/json"
	"regexp"
	"sync"
	"testing"

	"github.com/wxmedia/wxmedia/state"
)

// writeIDRE is a write identifier: 128 random bits, as hex.
var writeIDRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// testWriteID checks that every kind of write that changes the serial
// gives the state a new write identifier, that Head and Snapshot agree on
// it, and that a push of a document the state already holds gives one
// too: the write identifier, not the serial, tells states apart.
func testWriteID(t *testing.T, h Harness) {
	b := open(t, h, state.Options{Command: "apply"})
	seen := map[string]string{}
	check := func(what string) {
		t.Helper()
		hd := checkHead(t, b, what)
		s := snap(t, b)
		if hd.WriteID != s.WriteID {
			t.Errorf("%s: head write identifier %q, snapshot %q", what, hd.WriteID, s.WriteID)
		}
		if !writeIDRE.MatchString(hd.WriteID) {
			t.Fatalf("%s: write identifier %q, want 32 hex digits", what, hd.WriteID)
		}
		if prev, ok := seen[hd.WriteID]; ok {
			t.Errorf("%s: the write identifier is the one after %s", what, prev)
		}
		seen[hd.WriteID] = what
	}
	check("new state")
	r := Resource(1)
	must(t, b.CommitUpload(r, Entry(r)))
	check("commit upload")
	// Concurrent commits, which a backend may group in one transaction.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := Resource(10 + i)
			errs[i] = b.CommitUpload(r, Entry(r))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		must(t, err)
	}
	check("concurrent commits")
	must(t, b.PutResource(Resource(2)))
	check("put resource")
	must(t, b.SetOutputs(map[string]state.Output{"x": {Value: json.RawMessage(`1`), Type: json.RawMessage(`"number"`)}}))
	check("set outputs")
	must(t, b.RemoveResources(Resource(2).Address))
	check("remove resources")
	to := Resource(1)
	to.Address, to.Key = `wechatpay_image.banner["moved.png"]`, "moved.png"
	must(t, b.MoveResource(Resource(1).Address, to))
	check("move resource")
	back := Resource(1)
	must(t, b.MoveResources([]state.Move{{From: to.Address, To: back}}))
	check("move resources")
	must(t, b.PutCache(Entry(Resource(50))))
	check("put cache")
	n, err := b.RemoveCache(state.CacheFilter{SHA256: Entry(Resource(50)).SHA256})
	must(t, err)
	if n != 1 {
		t.Fatalf("removed %d cache entries, want 1", n)
	}
	check("remove cache")
	doc, err := b.Export()
	must(t, err)
	must(t, b.Push(doc, false))
	check("push of the state's own export")
	must(t, b.Push(doc, true))
	check("forced push of an older export")
	// A write that changes nothing leaves the serial and the write
	// identifier alone.
	before := checkHead(t, b, "before a removal of nothing")
	must(t, b.RemoveResources("wechatpay_image.none"))
	if after := checkHead(t, b, "after a removal of nothing"); after.Serial == before.Serial && after.WriteID != before.WriteID {
		t.Errorf("the serial stayed at %d but the write identifier changed", after.Serial)
	}
	want := checkHead(t, b, "before closing")
	must(t, b.Close())
	for _, ro := range []bool{true, false} {
		b := open(t, h, state.Options{ReadOnly: ro})
		if got := checkHead(t, b, "reopened"); got.WriteID != want.WriteID {
			t.Errorf("read-only %v: reopened write identifier %q, want %q", ro, got.WriteID, want.WriteID)
		}
		must(t, b.Close())
	}
}
