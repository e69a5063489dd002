package backendtest

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/wxmedia/wxmedia/state"
)

func testMoveResource(t *testing.T, h Harness) {
	b := open(t, h, state.Options{})
	r0, r1 := Resource(0), Resource(1)
	must(t, b.CommitUpload(r0, Entry(r0)))
	must(t, b.CommitUpload(r1, Entry(r1)))
	to := r0
	to.Address, to.Name, to.Key = "wechatpay_image.logo", "logo", ""
	if err := b.MoveResource("wechatpay_image.none", to); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("move of a missing resource: %v, want ErrNotFound", err)
	}
	clash := r0
	clash.Address = r1.Address
	if err := b.MoveResource(r0.Address, clash); !errors.Is(err, state.ErrExists) {
		t.Errorf("move onto a recorded address: %v, want ErrExists", err)
	}
	if s := snap(t, b); s.Serial != 2 {
		t.Errorf("refused moves moved the serial to %d", s.Serial)
	}
	must(t, b.MoveResource(r0.Address, to))
	s := snap(t, b)
	if _, ok := s.Resources[r0.Address]; ok || !reflect.DeepEqual(s.Resources[to.Address], to) || s.Serial != 3 || len(s.Resources) != 2 {
		t.Errorf("after move: serial %d, resources %v", s.Serial, s.Resources)
	}
	same := to
	same.Filename = "x.png"
	must(t, b.MoveResource(to.Address, same)) // onto itself: a rewrite
	if s := snap(t, b); s.Resources[to.Address].Filename != "x.png" {
		t.Errorf("move onto itself did not rewrite")
	}
}

func testCacheSurgery(t *testing.T, h Harness) {
	b := open(t, h, state.Options{})
	must(t, b.PutCache())
	if s := snap(t, b); s.Serial != 0 {
		t.Errorf("PutCache() moved the serial")
	}
	var entries []state.CacheEntry
	for i := range 6 {
		e := Entry(Resource(i))
		if i%2 == 1 {
			e.MchID = "other"
		}
		if i >= 4 {
			e.API = "merchant_media_video"
		}
		entries = append(entries, e)
	}
	must(t, b.PutCache(entries...))
	if s := snap(t, b); s.Serial != 1 || len(s.Resources) != 0 {
		t.Errorf("PutCache: serial %d, %d resources", s.Serial, len(s.Resources))
	}
	if err := b.PutCache(state.CacheEntry{}); !errors.Is(err, state.ErrInvalid) {
		t.Errorf("invalid entry: %v", err)
	}
	n, err := b.RemoveCache(state.CacheFilter{MchID: "nobody"})
	if err != nil || n != 0 {
		t.Errorf("remove nothing: %d, %v", n, err)
	}
	if s := snap(t, b); s.Serial != 1 {
		t.Errorf("removing nothing moved the serial to %d", s.Serial)
	}
	n, err = b.RemoveCache(state.CacheFilter{MchID: "other", API: "merchant_media_image"})
	if err != nil || n != 2 {
		t.Errorf("remove by merchant and API: %d, %v", n, err)
	}
	n, err = b.RemoveCache(state.CacheFilter{SHA256: entries[0].SHA256})
	if err != nil || n != 1 {
		t.Errorf("remove by sha256: %d, %v", n, err)
	}
	left, err := b.ListCache()
	must(t, err)
	if len(left) != 3 {
		t.Errorf("%d entries left, want 3: %v", len(left), keys(left))
	}
	if s := snap(t, b); s.Serial != 3 {
		t.Errorf("serial %d after two removals", s.Serial)
	}
	n, err = b.RemoveCache(state.CacheFilter{})
	if err != nil || n != 3 {
		t.Errorf("remove all: %d, %v", n, err)
	}
}

func testExportPush(t *testing.T, h Harness) {
	b := open(t, h, state.Options{})
	for _, i := range []int{2, 0, 1} {
		r := Resource(i)
		must(t, b.CommitUpload(r, Entry(r)))
	}
	must(t, b.SetOutputs(testOutputsMap))
	doc, err := b.Export()
	must(t, err)
	s := snap(t, b)
	if doc.FormatVersion != state.ExportFormatVersion || doc.Lineage != s.Lineage || doc.Serial != 4 || len(doc.Resources) != 3 ||
		!reflect.DeepEqual(doc.Outputs, testOutputsMap) || len(doc.Cache) != 3 {
		t.Fatalf("export: %+v", doc)
	}
	for i, r := range doc.Resources {
		if !reflect.DeepEqual(r, Resource(i)) {
			t.Errorf("exported resource %d: %+v", i, r)
		}
	}
	cache, _ := b.ListCache()
	if !reflect.DeepEqual(doc.Cache, cache) {
		t.Errorf("exported cache differs from ListCache")
	}
	// JSON round trip, as state pull | state push does.
	data, err := json.Marshal(state.NewDocument(doc))
	must(t, err)
	var back state.Document
	must(t, json.Unmarshal(data, &back))
	if !reflect.DeepEqual(back.Export(), doc) {
		t.Errorf("export does not survive JSON")
	}

	// Pushing the same document: serial moves on to max+1.
	must(t, b.Push(doc, false))
	if s := snap(t, b); s.Serial != 5 || len(s.Resources) != 3 {
		t.Errorf("after push: serial %d", s.Serial)
	}
	// An older copy is refused, unless forced.
	if err := b.Push(doc, false); !errors.Is(err, state.ErrSerialBehind) {
		t.Errorf("push of an older copy: %v, want ErrSerialBehind", err)
	}
	other := *doc
	other.Lineage = "00000000-0000-4000-8000-000000000000"
	other.Serial = 100
	if err := b.Push(&other, false); !errors.Is(err, state.ErrLineage) {
		t.Errorf("push of another lineage: %v, want ErrLineage", err)
	}
	if s := snap(t, b); s.Serial != 5 || s.Lineage != doc.Lineage {
		t.Errorf("refused pushes changed the state: %d %s", s.Serial, s.Lineage)
	}
	// Invalid documents are refused whole.
	bad := *doc
	bad.Resources = append([]state.Resource{}, doc.Resources...)
	bad.Resources = append(bad.Resources, doc.Resources[0])
	if err := b.Push(&bad, true); !errors.Is(err, state.ErrInvalid) {
		t.Errorf("push with a duplicate address: %v, want ErrInvalid", err)
	}
	// A forced push replaces resources and outputs, adds cache entries,
	// takes the pushed lineage.
	forced := other
	forced.Serial = 1
	forced.Resources = []state.Resource{Resource(7)}
	forced.Outputs = map[string]state.Output{}
	forced.Cache = []state.CacheEntry{Entry(Resource(7))}
	must(t, b.Push(&forced, true))
	s = snap(t, b)
	if s.Lineage != other.Lineage || s.Serial != 6 || len(s.Resources) != 1 || len(s.Outputs) != 0 {
		t.Errorf("after forced push: %+v", s)
	}
	if c, _ := b.ListCache(); len(c) != 4 {
		t.Errorf("forced push: %d cache entries, want the 3 kept and 1 added", len(c))
	}
	must(t, b.Close())

	// A state without resources and outputs takes any lineage.
	fresh := open(t, h, state.Options{})
	must(t, fresh.RemoveResources(Resource(7).Address))
	if _, err := fresh.RemoveCache(state.CacheFilter{}); err != nil {
		t.Fatal(err)
	}
	third := *doc
	third.Lineage = "11111111-1111-4111-8111-111111111111"
	third.Serial = 100
	must(t, fresh.Push(&third, false))
	if s := snap(t, fresh); s.Lineage != third.Lineage || s.Serial != 101 || len(s.Resources) != 3 {
		t.Errorf("push into an emptied state: lineage %s serial %d", s.Lineage, s.Serial)
	}
}
