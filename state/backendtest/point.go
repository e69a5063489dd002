package backendtest

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/wxmedia/wxmedia/state"
)

// checkHead checks that b's Head says what its Snapshot says: lineage,
// serial, the number of resources, outputs and plan key.
func checkHead(t *testing.T, b state.Reader, when string) *state.Head {
	t.Helper()
	h, err := b.Head()
	if err != nil {
		t.Fatalf("%s: Head: %v", when, err)
	}
	s, err := b.Snapshot()
	if err != nil {
		t.Fatalf("%s: Snapshot: %v", when, err)
	}
	if h.Outputs == nil {
		t.Errorf("%s: Head.Outputs is nil", when)
	}
	if h.WriteID != s.WriteID {
		t.Errorf("%s: Head's write identifier %q, Snapshot's %q", when, h.WriteID, s.WriteID)
	}
	if h.Lineage != s.Lineage || h.Serial != s.Serial || h.Resources != len(s.Resources) ||
		!reflect.DeepEqual(h.Outputs, s.Outputs) || !reflect.DeepEqual(h.PlanKey, s.PlanKey) {
		t.Errorf("%s: Head disagrees with Snapshot:\n head lineage %q serial %d resources %d outputs %v plan key %x\n snap lineage %q serial %d resources %d outputs %v plan key %x",
			when, h.Lineage, h.Serial, h.Resources, h.Outputs, h.PlanKey, s.Lineage, s.Serial, len(s.Resources), s.Outputs, s.PlanKey)
	}
	return h
}

func testHead(t *testing.T, h Harness) {
	b := open(t, h, state.Options{Command: "apply"})
	checkHead(t, b, "new state")
	for i := range 5 {
		r := Resource(i)
		must(t, b.CommitUpload(r, Entry(r)))
	}
	checkHead(t, b, "after 5 commits")
	r := Resource(2)
	r.ID = "media-replaced"
	must(t, b.CommitUpload(r, Entry(r))) // a replacement is not a new resource
	must(t, b.PutResource(Resource(9)))
	checkHead(t, b, "after a replacement and a put")
	must(t, b.SetOutputs(testOutputsMap))
	checkHead(t, b, "after outputs")
	must(t, b.RemoveResources(Resource(0).Address, Resource(4).Address, "wechatpay_image.none"))
	checkHead(t, b, "after a removal")
	to := Resource(1)
	to.Address, to.Key = `wechatpay_image.banner["moved.png"]`, "moved.png"
	must(t, b.MoveResource(Resource(1).Address, to))
	checkHead(t, b, "after a move")
	must(t, b.PutCache(Entry(Resource(50))))
	before := checkHead(t, b, "after cache surgery")
	if before.Resources != 4 || before.Serial != 11 {
		t.Errorf("head says %d resources at serial %d, want 4 at 11", before.Resources, before.Serial)
	}
	doc, err := b.Export()
	must(t, err)
	doc.Resources = doc.Resources[:2]
	doc.Outputs = map[string]state.Output{"x": {Value: json.RawMessage(`1`), Type: json.RawMessage(`"number"`)}}
	must(t, b.Push(doc, false))
	if got := checkHead(t, b, "after a push"); got.Resources != 2 {
		t.Errorf("after pushing 2 resources the head says %d", got.Resources)
	}
	want := checkHead(t, b, "before closing")
	must(t, b.Close())
	for _, ro := range []bool{true, false} {
		b := open(t, h, state.Options{ReadOnly: ro})
		got := checkHead(t, b, "reopened")
		if !reflect.DeepEqual(got, want) {
			t.Errorf("read-only %v: reopened head %+v, want %+v", ro, got, want)
		}
		must(t, b.Close())
	}
}

func testReadResources(t *testing.T, h Harness) {
	b := open(t, h, state.Options{})
	for i := range 20 {
		r := Resource(i)
		must(t, b.CommitUpload(r, Entry(r)))
	}
	must(t, b.RemoveResources(Resource(7).Address))
	check := func(b state.Reader, when string) {
		t.Helper()
		s, err := b.Snapshot()
		must(t, err)
		addrs := []string{Resource(3).Address, Resource(7).Address, Resource(19).Address, Resource(3).Address,
			"wechatpay_image.none", Resource(0).Address, Resource(99).Address, ""}
		got, serial, err := b.ReadResources(addrs)
		if err != nil {
			t.Fatalf("%s: ReadResources: %v", when, err)
		}
		want := map[string]state.Resource{}
		for _, a := range addrs {
			if r, ok := s.Resources[a]; ok {
				want[a] = r
			}
		}
		if len(want) != 3 {
			t.Fatalf("%s: the snapshot has %d of the addresses, want 3", when, len(want))
		}
		if !reflect.DeepEqual(got, want) || serial != s.Serial {
			t.Errorf("%s: ReadResources at serial %d:\n got %+v\nwant %+v at serial %d", when, serial, got, want, s.Serial)
		}
		none, serial, err := b.ReadResources(nil)
		if err != nil || none == nil || len(none) != 0 || serial != s.Serial {
			t.Errorf("%s: ReadResources(nil) = %v, %d, %v; want an empty map at serial %d", when, none, serial, err, s.Serial)
		}
	}
	check(b, "writer")
	r := Resource(3)
	r.ID, r.Filename = "media-again", "again.png"
	must(t, b.PutResource(r))
	check(b, "writer after an update")
	if got, _, err := b.ReadResources([]string{r.Address}); err != nil || !reflect.DeepEqual(got[r.Address], r) {
		t.Errorf("after an update: %+v, %v; want %+v", got[r.Address], err, r)
	}
	must(t, b.Close())
	b = open(t, h, state.Options{ReadOnly: true})
	check(b, "reader")
}

func testPointReadsMissing(t *testing.T, h Harness) {
	b := open(t, h, state.Options{ReadOnly: true})
	hd, err := b.Head()
	if err != nil {
		t.Fatalf("Head of a missing state: %v", err)
	}
	if hd.Lineage != "" || hd.Serial != 0 || hd.Resources != 0 || hd.Outputs == nil || len(hd.Outputs) != 0 || hd.PlanKey != nil {
		t.Errorf("Head of a missing state: %+v", hd)
	}
	rs, serial, err := b.ReadResources([]string{Resource(1).Address})
	if err != nil || rs == nil || len(rs) != 0 || serial != 0 {
		t.Errorf("ReadResources of a missing state: %v, %d, %v", rs, serial, err)
	}
	checkHead(t, b, "missing state")
}
