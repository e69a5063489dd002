package state

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func testResource(i int) Resource {
	name := fmt.Sprintf("img-%06d.png", i)
	return Resource{
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
		UploadedAt: time.Date(2026, 11, 25, 21, 5, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
	}
}

func entryFor(r Resource) CacheEntry {
	return CacheEntry{
		CacheKey:   CacheKey{Service: r.Service, MchID: r.MchID, API: r.API, SHA256: r.SHA256},
		ID:         r.ID,
		Filename:   r.Filename,
		Size:       r.Size,
		UploadedAt: r.UploadedAt,
	}
}

func open(t testing.TB, path string, opts Options) *Local {
	t.Helper()
	l, err := OpenLocal(path, opts)
	if err != nil {
		t.Fatalf("OpenLocal: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func snapshot(t testing.TB, l *Local) *Snapshot {
	t.Helper()
	s, err := l.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return s
}

func statePath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "config", ".wxmedia", "state.db")
}

var outputs = map[string]Output{
	"banner_id": {Value: json.RawMessage(`"media-000001"`), Type: json.RawMessage(`"string"`)},
	"ids":       {Value: json.RawMessage(`["a","b"]`), Type: json.RawMessage(`["list","string"]`), Sensitive: true},
}

func TestCreateSerialAndModes(t *testing.T) {
	path := statePath(t)
	l := open(t, path, Options{Command: "apply"})
	if l.Path() != path {
		t.Errorf("Path() = %q, want %q", l.Path(), path)
	}

	s := snapshot(t, l)
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(s.Lineage) {
		t.Errorf("lineage %q is not a UUID", s.Lineage)
	}
	if s.Serial != 0 || len(s.Resources) != 0 || len(s.Outputs) != 0 {
		t.Errorf("new state: serial %d, %d resources, %d outputs; want empty", s.Serial, len(s.Resources), len(s.Outputs))
	}

	r := testResource(1)
	writes := []func() error{
		func() error { return l.PutResource(r) },
		func() error { return l.CommitUpload(r, entryFor(r)) },
		func() error { return l.SetOutputs(outputs) },
		func() error { return l.RemoveResources(r.Address) },
		func() error { return l.RemoveResources("wechatpay_image.absent") },
	}
	for i, w := range writes {
		if err := w(); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		if got := snapshot(t, l); got.Serial != uint64(i+1) || got.Lineage != s.Lineage {
			t.Fatalf("after write %d: serial %d lineage %q, want %d %q", i, got.Serial, got.Lineage, i+1, s.Lineage)
		}
	}
	if err := l.RemoveResources(); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, l).Serial; got != uint64(len(writes)) {
		t.Errorf("RemoveResources() without addresses moved the serial to %d", got)
	}

	for p, want := range map[string]fs.FileMode{filepath.Dir(path): 0o700, path: 0o600, lockInfoPath(path): 0o600, SnapshotPath(path): 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("mode of %s = %v, want %v", p, got, want)
		}
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	// .gitignore: a .wxmedia directory is git-ignored by itself.
	if want := []string{".gitignore", "state.db", "state.db.lock.json", "state.db.snapshot"}; !reflect.DeepEqual(names, want) {
		t.Errorf("state directory holds %q, want %q", names, want)
	}

	other := open(t, statePath(t), Options{})
	if snapshot(t, other).Lineage == s.Lineage {
		t.Error("two states share a lineage")
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	path := statePath(t)
	l := open(t, path, Options{Command: "apply"})
	r1, r2 := testResource(1), testResource(2)
	r2.UploadedAt = r2.UploadedAt.In(time.FixedZone("CST", 8*3600))
	must(t, l.CommitUpload(r1, entryFor(r1)))
	must(t, l.CommitUpload(r2, entryFor(r2)))
	must(t, l.SetOutputs(outputs))
	before := snapshot(t, l)
	cache, err := l.ListCache()
	must(t, err)
	must(t, l.Close())
	if _, err := os.Stat(lockInfoPath(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("lock details left after Close: %v", err)
	}

	for _, ro := range []bool{false, true} {
		l := open(t, path, Options{ReadOnly: ro})
		after := snapshot(t, l)
		if !reflect.DeepEqual(before, after) {
			t.Errorf("read-only %v: reopened snapshot differs:\n got %+v\nwant %+v", ro, after, before)
		}
		if !after.Resources[r2.Address].UploadedAt.Equal(r2.UploadedAt) {
			t.Errorf("uploaded_at %v, want %v", after.Resources[r2.Address].UploadedAt, r2.UploadedAt)
		}
		c, err := l.ListCache()
		must(t, err)
		if !reflect.DeepEqual(c, cache) {
			t.Errorf("read-only %v: reopened cache differs", ro)
		}
		must(t, l.Close())
	}
}

func TestCommitUploadAndLookup(t *testing.T) {
	l := open(t, statePath(t), Options{})
	r := testResource(7)
	e := entryFor(r)
	must(t, l.CommitUpload(r, e))

	s := snapshot(t, l)
	if got := s.Resources[r.Address]; !reflect.DeepEqual(got, r) {
		t.Errorf("resource = %+v, want %+v", got, r)
	}
	miss := e.CacheKey
	miss.Service = "sandbox-42" // same mchid in a sandbox is another key
	hits, err := l.LookupCache([]CacheKey{e.CacheKey, miss})
	must(t, err)
	if len(hits) != 1 || !reflect.DeepEqual(hits[e.CacheKey], e) {
		t.Errorf("LookupCache = %+v, want only %+v", hits, e)
	}

	bad := r
	bad.ID = "other"
	if err := l.CommitUpload(bad, e); !errors.Is(err, ErrInvalid) {
		t.Errorf("CommitUpload with mismatched id: %v, want ErrInvalid", err)
	}
	bad = r
	bad.SHA256 = strings.ToUpper(r.SHA256)
	if err := l.PutResource(bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("PutResource with uppercase sha256: %v, want ErrInvalid", err)
	}
	if err := l.PutResource(Resource{ID: "x", SHA256: r.SHA256}); !errors.Is(err, ErrInvalid) {
		t.Errorf("PutResource without address: %v, want ErrInvalid", err)
	}
	if _, err := l.LookupCache([]CacheKey{{Service: "a\x00b", MchID: "1", API: "x", SHA256: r.SHA256}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("LookupCache with NUL: %v, want ErrInvalid", err)
	}
	if got := snapshot(t, l).Serial; got != 1 {
		t.Errorf("refused writes moved the serial to %d", got)
	}
}

func TestListCacheSorted(t *testing.T) {
	l := open(t, statePath(t), Options{})
	keys := []CacheKey{
		{"wechatpay", "2", "merchant_media_image", sha("a")},
		{"ab", "1", "x", sha("a")},
		{"a", "z", "x", sha("a")},
		{"wechatpay", "1", "merchant_media_video", sha("a")},
		{"wechatpay", "1", "merchant_media_image", sha("b")},
		{"wechatpay", "1", "merchant_media_image", sha("a")},
	}
	for i, k := range keys {
		r := testResource(i)
		r.Service, r.MchID, r.API, r.SHA256 = k.Service, k.MchID, k.API, k.SHA256
		must(t, l.CommitUpload(r, entryFor(r)))
	}
	list, err := l.ListCache()
	must(t, err)
	var got []CacheKey
	for _, e := range list {
		got = append(got, e.CacheKey)
	}
	less := func(a, b CacheKey) bool {
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		if a.MchID != b.MchID {
			return a.MchID < b.MchID
		}
		if a.API != b.API {
			return a.API < b.API
		}
		return a.SHA256 < b.SHA256
	}
	if len(got) != len(keys) {
		t.Fatalf("ListCache returned %d entries, want %d", len(got), len(keys))
	}
	for i := 1; i < len(got); i++ {
		if !less(got[i-1], got[i]) {
			t.Errorf("ListCache out of order: %v before %v", got[i-1], got[i])
		}
	}
}

func TestRemoveResources(t *testing.T) {
	l := open(t, statePath(t), Options{})
	for i := range 5 {
		r := testResource(i)
		must(t, l.CommitUpload(r, entryFor(r)))
	}
	must(t, l.RemoveResources(testResource(1).Address, testResource(3).Address, "wechatpay_image.absent"))
	s := snapshot(t, l)
	for i := range 5 {
		_, ok := s.Resources[testResource(i).Address]
		if want := i != 1 && i != 3; ok != want {
			t.Errorf("resource %d present = %v, want %v", i, ok, want)
		}
	}
	// Forgetting a resource keeps what was uploaded in the cache.
	hits, err := l.LookupCache([]CacheKey{entryFor(testResource(1)).CacheKey})
	must(t, err)
	if len(hits) != 1 {
		t.Error("removing a resource dropped its cache entry")
	}
}

func TestOutputs(t *testing.T) {
	l := open(t, statePath(t), Options{})
	must(t, l.SetOutputs(outputs))
	if got := snapshot(t, l).Outputs; !reflect.DeepEqual(got, outputs) {
		t.Errorf("outputs = %v, want %v", got, outputs)
	}
	one := map[string]Output{"x": {Value: json.RawMessage(`1`), Type: json.RawMessage(`"number"`)}}
	must(t, l.SetOutputs(one))
	if got := snapshot(t, l).Outputs; !reflect.DeepEqual(got, one) {
		t.Errorf("SetOutputs did not replace: %v", got)
	}
	if err := l.SetOutputs(map[string]Output{"bad": {Value: json.RawMessage(`{`), Type: json.RawMessage(`"string"`)}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetOutputs with invalid JSON: %v, want ErrInvalid", err)
	}

	path := OutputsPath(l.Path())
	if filepath.Dir(path) != filepath.Dir(l.Path()) || filepath.Base(path) != "outputs.json" {
		t.Errorf("OutputsPath = %s", path)
	}
	if _, err := ReadOutputsFile(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadOutputsFile of a missing file: %v, want fs.ErrNotExist", err)
	}
	must(t, WriteOutputsFile(path, one))
	must(t, WriteOutputsFile(path, outputs))
	got, err := ReadOutputsFile(path)
	must(t, err)
	if !reflect.DeepEqual(got, outputs) {
		t.Errorf("ReadOutputsFile = %v, want %v", got, outputs)
	}
	fi, err := os.Stat(path)
	must(t, err)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("outputs file mode %v, want 0600", fi.Mode().Perm())
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".outputs.json.tmp-*"))
	if len(matches) != 0 {
		t.Errorf("temporary files left: %v", matches)
	}
	must(t, WriteOutputsFile(path, nil))
	if got, err := ReadOutputsFile(path); err != nil || got == nil || len(got) != 0 {
		t.Errorf("empty outputs read back as %v, %v", got, err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
