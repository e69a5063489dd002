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
	"os"
	"reflect"
	"regexp"
	"sort"
	"sync"
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
		{"CacheSurgery", testCacheSurgery},
		{"ExportPush", testExportPush},
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

func testLocked(t *testing.T, h Harness) {
	holder := open(t, h, state.Options{Command: "apply"})
	r := Resource(1)
	must(t, holder.CommitUpload(r, Entry(r)))

	start := time.Now()
	_, err := h.Open(state.Options{LockTimeout: 200 * time.Millisecond, Command: "plan"})
	elapsed := time.Since(start)
	if !errors.Is(err, state.ErrLocked) {
		t.Fatalf("second writer: %v, want ErrLocked", err)
	}
	if elapsed < 150*time.Millisecond || elapsed > 3*time.Second {
		t.Errorf("second writer gave up after %v, want about 200ms", elapsed)
	}
	var le *state.LockedError
	if !errors.As(err, &le) || le.Holder == nil || le.Holder.PID != os.Getpid() || le.Holder.Command != "apply" {
		t.Fatalf("lock error does not name the holder: %v", err)
	}
	host, _ := os.Hostname()
	want := fmt.Sprintf("state is locked by another wxmedia: pid %d on host %q, running \"apply\" since %s",
		os.Getpid(), host, le.Holder.Started.Format(time.RFC3339))
	if le.Session != 0 {
		// A postgres lock names the session force-unlock ends.
		want += fmt.Sprintf(", lock session %d", le.Session)
	}
	if err.Error() != want {
		t.Errorf("message\n got %s\nwant %s", err, want)
	}
	if d := time.Since(le.Holder.Started); d < -time.Second || d > time.Minute {
		t.Errorf("holder started %v ago", d)
	}
	start = time.Now()
	if _, err := h.Open(state.Options{}); !errors.Is(err, state.ErrLocked) || time.Since(start) > time.Second {
		t.Errorf("LockTimeout 0: %v after %v", err, time.Since(start))
	}

	// A reader does not wait for the writer.
	start = time.Now()
	reader, err := h.Open(state.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("reader while a writer holds the lock: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("reader waited %v for the writer", d)
	}
	_, seen := snap(t, reader).Resources[r.Address]
	if h.ReadersSeeWriterStart && seen {
		t.Errorf("reader sees a commit made after the writer took the lock; want the state as it was then")
	}
	if !h.ReadersSeeWriterStart && !seen {
		t.Errorf("reader does not see the writer's commit")
	}
	reader.Close()

	// A writer waiting without limit gets the lock once it is released.
	got := make(chan error, 1)
	go func() {
		b, err := h.Open(state.Options{LockTimeout: -1, Command: "apply"})
		if err == nil {
			err = b.Close()
		}
		got <- err
	}()
	time.Sleep(100 * time.Millisecond)
	must(t, holder.Close())
	select {
	case err := <-got:
		must(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("waiting writer did not get the lock")
	}
	b := open(t, h, state.Options{LockTimeout: 100 * time.Millisecond})
	must(t, b.Close())
}

func testReadOnly(t *testing.T, h Harness) {
	// A missing state reads as empty and is not created.
	for range 2 {
		ro := open(t, h, state.Options{ReadOnly: true})
		s := snap(t, ro)
		if s.Lineage != "" || s.Serial != 0 || len(s.Resources)+len(s.Outputs) != 0 || s.Resources == nil || s.Outputs == nil {
			t.Errorf("missing state read as %+v", s)
		}
		if hits, err := ro.LookupCache([]state.CacheKey{Entry(Resource(1)).CacheKey}); err != nil || len(hits) != 0 {
			t.Errorf("lookup in a missing state: %v, %v", hits, err)
		}
		doc, err := ro.Export()
		must(t, err)
		if doc.Lineage != "" || doc.Serial != 0 || len(doc.Resources) != 0 || doc.Resources == nil || doc.Outputs == nil || doc.Cache == nil {
			t.Errorf("missing state exported as %+v", doc)
		}
		must(t, ro.Close())
	}
	w := open(t, h, state.Options{})
	r := Resource(1)
	must(t, w.CommitUpload(r, Entry(r)))
	must(t, w.Close())

	ro := open(t, h, state.Options{ReadOnly: true})
	for name, err := range map[string]error{
		"CommitUpload":    ro.CommitUpload(r, Entry(r)),
		"PutResource":     ro.PutResource(r),
		"RemoveResources": ro.RemoveResources(r.Address),
		"SetOutputs":      ro.SetOutputs(testOutputsMap),
		"MoveResource":    ro.MoveResource(r.Address, r),
		"PutCache":        ro.PutCache(Entry(r)),
		"Push":            ro.Push(&state.Export{FormatVersion: state.ExportFormatVersion}, true),
	} {
		if !errors.Is(err, state.ErrReadOnly) {
			t.Errorf("%s through a reader: %v, want ErrReadOnly", name, err)
		}
	}
	if _, err := ro.RemoveCache(state.CacheFilter{}); !errors.Is(err, state.ErrReadOnly) {
		t.Errorf("RemoveCache through a reader: %v, want ErrReadOnly", err)
	}
	if s := snap(t, ro); s.Serial != 1 || len(s.Resources) != 1 {
		t.Errorf("reader changed the state: %+v", s)
	}
}

func testConcurrentCommits(t *testing.T, h Harness) {
	b := open(t, h, state.Options{})
	const workers, each = 8, 4
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				r := Resource(w*each + i)
				errs <- b.CommitUpload(r, Entry(r))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	s := snap(t, b)
	if len(s.Resources) != workers*each || s.Serial != workers*each {
		t.Errorf("%d resources, serial %d; want %d", len(s.Resources), s.Serial, workers*each)
	}
	if c, _ := b.ListCache(); len(c) != workers*each {
		t.Errorf("%d cache entries", len(c))
	}
}

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
	data, err := json.Marshal(doc)
	must(t, err)
	var back state.Export
	must(t, json.Unmarshal(data, &back))
	if !reflect.DeepEqual(&back, doc) {
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
