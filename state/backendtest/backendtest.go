// Package backendtest is the conformance suite every state backend passes:
// the semantics of lineage and serial, resources, outputs, the content
// cache, locking, read-only access, state surgery and push/pull, checked
// the same way against each backend.
package backendtest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/wxmedia/wxmedia/state"
)

// Harness gives the suite one fresh, empty state.
type Harness struct {
	// Open opens that state (the same one at every call) with opts.
	Open func(opts state.Options) (state.Backend, error)
	// ReadersSeeWriterStart is true for a backend whose readers, while a
	// writer holds the lock, read the state as it was when the writer took
	// it (the local state's published copy) rather than its latest
	// commits.
	ReadersSeeWriterStart bool
}

// Run runs the suite; newHarness is called once per test and must give a
// state of its own, in a store of its own (the cache may be shared by
// every state of a store, so each test needs its own store).
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"NewState", testNewState},
		{"CommitUploadAndLookup", testCommitUploadAndLookup},
		{"ReopenKeepsEverything", testReopen},
		{"ListCacheSorted", testListCacheSorted},
		{"PutResource", testPutResource},
		{"RemoveResources", testRemoveResources},
		{"Outputs", testOutputs},
		{"Locked", testLocked},
		{"ReadOnly", testReadOnly},
		{"ConcurrentCommits", testConcurrentCommits},
		{"MoveResource", testMoveResource},
		{"MoveResources", testMoveResources},
		{"MoveResourcesRefused", testMoveResourcesRefused},
		{"CacheSurgery", testCacheSurgery},
		{"ExportPush", testExportPush},
		{"Head", testHead},
		{"ReadResources", testReadResources},
		{"PointReadsMissing", testPointReadsMissing},
		{"WriteID", testWriteID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newHarness(t)) })
	}
}

func open(t *testing.T, h Harness, opts state.Options) state.Backend {
	t.Helper()
	b, err := h.Open(opts)
	if err != nil {
		t.Fatalf("open %+v: %v", opts, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func snap(t *testing.T, b state.Backend) *state.Snapshot {
	t.Helper()
	s, err := b.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return s
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// Resource returns the i-th test resource; its UploadedAt has nanoseconds,
// which every backend keeps.
func Resource(i int) state.Resource {
	name := fmt.Sprintf("img-%06d.png", i)
	return state.Resource{
		Address:    fmt.Sprintf("wechatpay_image.banner[%q]", name),
		Type:       "wechatpay_image",
		Name:       "banner",
		Key:        name,
		Merchant:   "main",
		MchID:      "1900000109",
		Service:    "wechatpay",
		API:        "merchant_media_image",
		Source:     "images/" + name,
		Filename:   name,
		SHA256:     sha(name),
		Size:       int64(1000 + i),
		ID:         fmt.Sprintf("media-%06d", i),
		UploadedAt: time.Date(2026, 11, 25, 21, 5, 0, 123456789, time.UTC).Add(time.Duration(i) * time.Second),
	}
}

// Entry returns the cache entry matching r.
func Entry(r state.Resource) state.CacheEntry {
	return state.CacheEntry{
		CacheKey:   state.CacheKey{Service: r.Service, MchID: r.MchID, API: r.API, SHA256: r.SHA256},
		ID:         r.ID,
		Filename:   r.Filename,
		Size:       r.Size,
		UploadedAt: r.UploadedAt,
	}
}

var testOutputsMap = map[string]state.Output{
	"banner_id": {Value: json.RawMessage(`"media-000001"`), Type: json.RawMessage(`"string"`)},
	"ids":       {Value: json.RawMessage(`["a","b"]`), Type: json.RawMessage(`["list","string"]`), Sensitive: true},
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func testNewState(t *testing.T, h Harness) {
	b := open(t, h, state.Options{Command: "apply"})
	s := snap(t, b)
	if !uuidRE.MatchString(s.Lineage) {
		t.Errorf("lineage %q is not a UUID", s.Lineage)
	}
	if s.Serial != 0 || len(s.Resources) != 0 || len(s.Outputs) != 0 || s.Resources == nil || s.Outputs == nil {
		t.Errorf("new state: %+v", s)
	}
	if l, err := b.ListCache(); err != nil || len(l) != 0 {
		t.Errorf("new cache: %v, %v", l, err)
	}
	must(t, b.Close())
	must(t, b.Close()) // twice is harmless
	b = open(t, h, state.Options{})
	if s2 := snap(t, b); s2.Lineage != s.Lineage || s2.Serial != 0 {
		t.Errorf("reopened: lineage %q serial %d, want %q 0", s2.Lineage, s2.Serial, s.Lineage)
	}
}

func testCommitUploadAndLookup(t *testing.T, h Harness) {
	b := open(t, h, state.Options{})
	r := Resource(1)
	must(t, b.CommitUpload(r, Entry(r)))
	s := snap(t, b)
	if s.Serial != 1 {
		t.Errorf("serial %d after one commit", s.Serial)
	}
	if got := s.Resources[r.Address]; !reflect.DeepEqual(got, r) {
		t.Errorf("resource\n got %+v\nwant %+v", got, r)
	}
	other := Entry(Resource(2)).CacheKey
	hits, err := b.LookupCache([]state.CacheKey{Entry(r).CacheKey, other})
	must(t, err)
	if len(hits) != 1 || !reflect.DeepEqual(hits[Entry(r).CacheKey], Entry(r)) {
		t.Errorf("lookup: %+v", hits)
	}
	if hits, err := b.LookupCache(nil); err != nil || hits == nil || len(hits) != 0 {
		t.Errorf("empty lookup: %v, %v", hits, err)
	}
	if _, err := b.LookupCache([]state.CacheKey{{Service: "wechatpay", MchID: "1", API: "x", SHA256: "nope"}}); !errors.Is(err, state.ErrInvalid) {
		t.Errorf("lookup of a bad key: %v, want ErrInvalid", err)
	}

	// Disagreeing or invalid records are refused and change nothing.
	bad := Entry(Resource(3))
	r3 := Resource(3)
	r3.ID = "other"
	noID := Resource(4)
	noID.ID = ""
	for _, c := range []struct {
		r state.Resource
		e state.CacheEntry
	}{{r3, bad}, {noID, Entry(noID)}, {Resource(5), state.CacheEntry{}}} {
		if err := b.CommitUpload(c.r, c.e); !errors.Is(err, state.ErrInvalid) {
			t.Errorf("CommitUpload(%s): %v, want ErrInvalid", c.r.Address, err)
		}
	}
	if s := snap(t, b); s.Serial != 1 || len(s.Resources) != 1 {
		t.Errorf("after refused commits: serial %d, %d resources", s.Serial, len(s.Resources))
	}

	// A commit replaces the resource and the cache entry.
	r.ID, r.SHA256 = "media-new", sha("new")
	must(t, b.CommitUpload(r, Entry(r)))
	e := Entry(r)
	e.ID = "media-newer"
	r.ID = "media-newer"
	must(t, b.CommitUpload(r, e))
	hits, err = b.LookupCache([]state.CacheKey{e.CacheKey})
	must(t, err)
	if hits[e.CacheKey].ID != "media-newer" {
		t.Errorf("cache entry not replaced: %+v", hits)
	}
	if s := snap(t, b); s.Serial != 3 || s.Resources[r.Address].ID != "media-newer" {
		t.Errorf("serial %d, resource %+v", s.Serial, s.Resources[r.Address])
	}
}

func testReopen(t *testing.T, h Harness) {
	b := open(t, h, state.Options{})
	for i := range 3 {
		r := Resource(i)
		must(t, b.CommitUpload(r, Entry(r)))
	}
	must(t, b.SetOutputs(testOutputsMap))
	before := snap(t, b)
	cache, err := b.ListCache()
	must(t, err)
	must(t, b.Close())
	for _, ro := range []bool{false, true} {
		b := open(t, h, state.Options{ReadOnly: ro})
		if after := snap(t, b); !reflect.DeepEqual(after, before) {
			t.Errorf("read-only %v: reopened state differs:\n got %+v\nwant %+v", ro, after, before)
		}
		c, err := b.ListCache()
		must(t, err)
		if !reflect.DeepEqual(c, cache) {
			t.Errorf("read-only %v: reopened cache differs", ro)
		}
		must(t, b.Close())
	}
}

func testListCacheSorted(t *testing.T, h Harness) {
	b := open(t, h, state.Options{})
	var want []state.CacheEntry
	for i, svc := range []string{"wechatpay", "https://api.example.com", "sb-1"} {
		for j, api := range []string{"merchant_media_video", "merchant_media_image"} {
			for k, mch := range []string{"2", "10"} {
				r := Resource(i*100 + j*10 + k)
				r.Service, r.API, r.MchID = svc, api, mch
				must(t, b.CommitUpload(r, Entry(r)))
				want = append(want, Entry(r))
			}
		}
	}
	sort.Slice(want, func(i, j int) bool {
		a, c := want[i].CacheKey, want[j].CacheKey
		return a.Service+"\x00"+a.MchID+"\x00"+a.API+"\x00"+a.SHA256 < c.Service+"\x00"+c.MchID+"\x00"+c.API+"\x00"+c.SHA256
	})
	got, err := b.ListCache()
	must(t, err)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ListCache order:\n got %v\nwant %v", keys(got), keys(want))
	}
}

func keys(es []state.CacheEntry) []string {
	var s []string
	for _, e := range es {
		s = append(s, e.Service+"/"+e.MchID+"/"+e.API+"/"+e.SHA256[:6])
	}
	return s
}

func testPutResource(t *testing.T, h Harness) {
	b := open(t, h, state.Options{})
	r := Resource(1)
	must(t, b.PutResource(r))
	if hits, err := b.LookupCache([]state.CacheKey{Entry(r).CacheKey}); err != nil || len(hits) != 0 {
		t.Errorf("PutResource touched the cache: %v, %v", hits, err)
	}
	r.Filename = "renamed.png"
	must(t, b.PutResource(r))
	if s := snap(t, b); s.Serial != 2 || !reflect.DeepEqual(s.Resources[r.Address], r) {
		t.Errorf("serial %d resource %+v", s.Serial, s.Resources[r.Address])
	}
	bad := r
	bad.SHA256 = "ABC"
	if err := b.PutResource(bad); !errors.Is(err, state.ErrInvalid) {
		t.Errorf("bad sha256: %v", err)
	}
}

func testRemoveResources(t *testing.T, h Harness) {
	b := open(t, h, state.Options{})
	for i := range 4 {
		r := Resource(i)
		must(t, b.CommitUpload(r, Entry(r)))
	}
	must(t, b.RemoveResources())
	if s := snap(t, b); s.Serial != 4 {
		t.Errorf("RemoveResources() moved the serial to %d", s.Serial)
	}
	must(t, b.RemoveResources(Resource(0).Address, Resource(2).Address, "wechatpay_image.none"))
	s := snap(t, b)
	if s.Serial != 5 || len(s.Resources) != 2 {
		t.Errorf("serial %d, %d resources", s.Serial, len(s.Resources))
	}
	if _, ok := s.Resources[Resource(1).Address]; !ok {
		t.Errorf("wrong resource removed")
	}
	if hits, _ := b.LookupCache([]state.CacheKey{Entry(Resource(0)).CacheKey}); len(hits) != 1 {
		t.Errorf("removing a resource dropped its cache entry")
	}
}

func testOutputs(t *testing.T, h Harness) {
	b := open(t, h, state.Options{})
	spaced := map[string]state.Output{"x": {Value: json.RawMessage(`{ "a" : [1, 2] }`), Type: json.RawMessage(`[ "object", {"a": ["list","number"]} ]`)}}
	must(t, b.SetOutputs(spaced))
	if s := snap(t, b); string(s.Outputs["x"].Value) != `{"a":[1,2]}` || string(s.Outputs["x"].Type) != `["object",{"a":["list","number"]}]` {
		t.Errorf("outputs are not kept compact: %s %s", s.Outputs["x"].Value, s.Outputs["x"].Type)
	}
	must(t, b.SetOutputs(testOutputsMap))
	s := snap(t, b)
	if !reflect.DeepEqual(s.Outputs, testOutputsMap) || s.Serial != 2 {
		t.Errorf("outputs %+v serial %d", s.Outputs, s.Serial)
	}
	must(t, b.SetOutputs(nil))
	if s := snap(t, b); len(s.Outputs) != 0 || s.Outputs == nil || s.Serial != 3 {
		t.Errorf("cleared outputs: %+v serial %d", s.Outputs, s.Serial)
	}
	if err := b.SetOutputs(map[string]state.Output{"bad": {Value: json.RawMessage(`{`), Type: json.RawMessage(`"string"`)}}); !errors.Is(err, state.ErrInvalid) {
		t.Errorf("invalid output: %v", err)
	}
}
