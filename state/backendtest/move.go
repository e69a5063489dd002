package backendtest

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/wxmedia/wxmedia/state"
)

// renamed is r recorded under the resource name "pic" instead of "banner".
func renamed(r state.Resource) state.Resource {
	r.Address = strings.Replace(r.Address, ".banner[", ".pic[", 1)
	r.Name = "pic"
	return r
}

func testMoveResources(t *testing.T, h Harness) {
	b := open(t, h, state.Options{})
	must(t, b.MoveResources(nil))
	if s := snap(t, b); s.Serial != 0 {
		t.Errorf("MoveResources(nil) moved the serial to %d", s.Serial)
	}
	var moves []state.Move
	for i := range 5 {
		r := Resource(i)
		must(t, b.CommitUpload(r, Entry(r)))
		moves = append(moves, state.Move{From: r.Address, To: renamed(r)})
	}
	keep := Resource(9)
	must(t, b.PutResource(keep))
	must(t, b.MoveResources(moves))
	s := snap(t, b)
	if s.Serial != 7 {
		t.Errorf("after one batch of %d moves: serial %d, want 7 (one write)", len(moves), s.Serial)
	}
	if len(s.Resources) != 6 || !reflect.DeepEqual(s.Resources[keep.Address], keep) {
		t.Errorf("after moves: %d resources, %v", len(s.Resources), s.Resources)
	}
	for _, m := range moves {
		if _, ok := s.Resources[m.From]; ok {
			t.Errorf("%s still recorded after its move", m.From)
		}
		if !reflect.DeepEqual(s.Resources[m.To.Address], m.To) {
			t.Errorf("at %s: %+v, want %+v", m.To.Address, s.Resources[m.To.Address], m.To)
		}
	}
	if cache, err := b.ListCache(); err != nil || len(cache) != 5 {
		t.Errorf("moves touched the cache: %d entries (%v), want 5", len(cache), err)
	}

	// In order, each against the state the moves before it left: a chain
	// a→b, b→c ends with c only; a swap through a free address works.
	a, c := renamed(Resource(0)), renamed(Resource(1))
	x := a
	x.Address, x.Key = `wechatpay_image.pic["tmp"]`, "tmp"
	swapA, swapC := c, a
	swapA.Address, swapA.Key = a.Address, a.Key
	swapC.Address, swapC.Key = c.Address, c.Key
	swapC.Filename, swapA.Filename = a.Filename, c.Filename
	must(t, b.MoveResources([]state.Move{
		{From: a.Address, To: x},
		{From: c.Address, To: swapA},
		{From: x.Address, To: swapC},
	}))
	s = snap(t, b)
	if _, ok := s.Resources[x.Address]; ok || len(s.Resources) != 6 || s.Serial != 8 {
		t.Errorf("after a swap: serial %d, %d resources, tmp recorded %v", s.Serial, len(s.Resources), ok)
	}
	if got := s.Resources[a.Address]; got.Filename != c.Filename {
		t.Errorf("after a swap %s has filename %q, want %q", a.Address, got.Filename, c.Filename)
	}
	if got := s.Resources[c.Address]; got.Filename != a.Filename {
		t.Errorf("after a swap %s has filename %q, want %q", c.Address, got.Filename, a.Filename)
	}
}

func testMoveResourcesRefused(t *testing.T, h Harness) {
	b := open(t, h, state.Options{})
	for i := range 4 {
		r := Resource(i)
		must(t, b.CommitUpload(r, Entry(r)))
	}
	before := snap(t, b)
	ok := []state.Move{
		{From: Resource(0).Address, To: renamed(Resource(0))},
		{From: Resource(1).Address, To: renamed(Resource(1))},
	}
	missing := state.Move{From: `wechatpay_image.banner["none"]`, To: renamed(Resource(7))}
	clash := Resource(2)
	clash.Address, clash.Key = Resource(3).Address, Resource(3).Key
	twice := state.Move{From: Resource(0).Address, To: renamed(Resource(5))} // moved already by the first
	onto := state.Move{From: Resource(2).Address, To: renamed(Resource(0))}  // taken by the first
	for _, tc := range []struct {
		name  string
		moves []state.Move
		want  error
	}{
		{"missing last", append(append([]state.Move{}, ok...), missing), state.ErrNotFound},
		{"clash last", append(append([]state.Move{}, ok...), state.Move{From: Resource(2).Address, To: clash}), state.ErrExists},
		{"moved twice", append(append([]state.Move{}, ok...), twice), state.ErrNotFound},
		{"onto an earlier destination", append(append([]state.Move{}, ok...), onto), state.ErrExists},
		{"missing first", append([]state.Move{missing}, ok...), state.ErrNotFound},
	} {
		err := b.MoveResources(tc.moves)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		var me *state.MoveError
		if last := tc.moves[len(tc.moves)-1]; tc.name != "missing first" && (!errors.As(err, &me) || me.From != last.From || me.To != last.To.Address) {
			t.Errorf("%s: %#v does not name the refused move %s to %s", tc.name, me, last.From, last.To.Address)
		}
		if s := snap(t, b); s.Serial != before.Serial || !reflect.DeepEqual(s.Resources, before.Resources) {
			t.Errorf("%s: a refused batch changed the state (serial %d → %d)", tc.name, before.Serial, s.Serial)
		}
	}
	bad := renamed(Resource(0))
	bad.SHA256 = "not hex"
	if err := b.MoveResources(append(append([]state.Move{}, ok[1]), state.Move{From: Resource(0).Address, To: bad})); !errors.Is(err, state.ErrInvalid) {
		t.Errorf("a batch with an invalid record: %v, want ErrInvalid", err)
	}
	if s := snap(t, b); s.Serial != before.Serial || !reflect.DeepEqual(s.Resources, before.Resources) {
		t.Errorf("a batch with an invalid record changed the state")
	}
}
