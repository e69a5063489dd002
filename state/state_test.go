package state

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
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
	if want := []string{"state.db", "state.db.lock.json", "state.db.snapshot"}; !reflect.DeepEqual(names, want) {
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

func TestLocked(t *testing.T) {
	path := statePath(t)
	holder := open(t, path, Options{Command: "apply"})

	start := time.Now()
	_, err := OpenLocal(path, Options{LockTimeout: 100 * time.Millisecond, Command: "plan"})
	elapsed := time.Since(start)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second writer: %v, want ErrLocked", err)
	}
	if elapsed > time.Second {
		t.Errorf("second writer gave up after %v", elapsed)
	}
	var le *LockedError
	if !errors.As(err, &le) || le.Holder == nil || le.Holder.PID != os.Getpid() || le.Holder.Command != "apply" {
		t.Fatalf("lock error does not name the holder: %#v", le)
	}
	host, _ := os.Hostname()
	want := fmt.Sprintf("state is locked by another wxmedia: pid %d on host %q, running \"apply\" since %s",
		os.Getpid(), host, le.Holder.Started.Format(time.RFC3339))
	if err.Error() != want {
		t.Errorf("message\n got %s\nwant %s", err, want)
	}
	if d := time.Since(le.Holder.Started); d < -time.Second || d > time.Minute {
		t.Errorf("holder started %v ago", d)
	}

	// A reader reads the copy the writer published, at once, and says so.
	start = time.Now()
	r, err := OpenLocal(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("reader while a writer holds the lock: %v", err)
	}
	if time.Since(start) > 500*time.Millisecond {
		t.Errorf("reader waited %v", time.Since(start))
	}
	if info := r.ReadingSnapshot(); info == nil || info.Holder == nil || info.Holder.Command != "apply" {
		t.Errorf("reader of the published copy: %+v, want the holder named", info)
	}
	must(t, r.Close())

	// Without the published copy (a writer of an older wxmedia), a reader
	// fails at once as before; with a timeout it says it waits.
	must(t, os.Rename(SnapshotPath(path), path+".aside"))
	start = time.Now()
	if _, err := OpenLocal(path, Options{ReadOnly: true}); !errors.Is(err, ErrLocked) {
		t.Errorf("reader without a published copy: %v, want ErrLocked", err)
	}
	if time.Since(start) > 500*time.Millisecond {
		t.Errorf("LockTimeout 0 waited %v", time.Since(start))
	}
	var waited *LockInfo
	if _, err := OpenLocal(path, Options{ReadOnly: true, LockTimeout: 100 * time.Millisecond, OnWait: func(h *LockInfo, _ time.Duration) { waited = h }}); !errors.Is(err, ErrLocked) {
		t.Errorf("reader with a timeout: %v, want ErrLocked", err)
	}
	if waited == nil || waited.Command != "apply" {
		t.Errorf("OnWait was not told the holder: %+v", waited)
	}
	must(t, os.Rename(path+".aside", SnapshotPath(path)))

	// Refused openers leave the holder's details alone.
	if info := readLockInfo(path); info == nil || info.Command != "apply" {
		t.Errorf("lock details after refused opens: %+v", info)
	}

	must(t, holder.Close())
	if _, err := os.Stat(SnapshotPath(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the published copy outlives the lock: %v", err)
	}
	l := open(t, path, Options{LockTimeout: 100 * time.Millisecond})
	must(t, l.Close())
}

func TestLockedByReader(t *testing.T) {
	path := statePath(t)
	must(t, open(t, path, Options{}).Close())
	r1 := open(t, path, Options{ReadOnly: true})
	open(t, path, Options{ReadOnly: true}) // readers share the lock
	_, err := OpenLocal(path, Options{})
	var le *LockedError
	if !errors.As(err, &le) || le.Holder != nil {
		t.Fatalf("writer while readers hold the lock: %v, want a LockedError without holder", err)
	}
	if !strings.HasPrefix(err.Error(), "state is locked by another wxmedia") {
		t.Errorf("message %q", err)
	}
	// Details left by a writer that died are not shown; those of another
	// host cannot be checked and are.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	must(t, cmd.Run())
	host, _ := os.Hostname()
	for _, h := range []string{host, "ci-7"} {
		data, _ := json.Marshal(LockInfo{PID: cmd.Process.Pid, Host: h, Command: "apply", Started: time.Now()})
		must(t, os.WriteFile(lockInfoPath(path), data, 0o600))
		_, err := OpenLocal(path, Options{})
		if !errors.As(err, &le) || (le.Holder == nil) != (h == host) {
			t.Errorf("details from pid %d on %s, no longer running: %v", cmd.Process.Pid, h, err)
		}
	}
	must(t, os.Remove(lockInfoPath(path)))

	if err := r1.PutResource(testResource(1)); !errors.Is(err, ErrReadOnly) {
		t.Errorf("write through a reader: %v, want ErrReadOnly", err)
	}
}

func TestReadOnlyMissingCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".wxmedia", "state.db")
	l := open(t, path, Options{ReadOnly: true})
	s := snapshot(t, l)
	if s.Lineage != "" || s.Serial != 0 || s.Resources == nil || s.Outputs == nil || len(s.Resources)+len(s.Outputs) != 0 {
		t.Errorf("snapshot of a missing state: %+v", s)
	}
	hits, err := l.LookupCache([]CacheKey{entryFor(testResource(1)).CacheKey})
	if err != nil || len(hits) != 0 {
		t.Errorf("LookupCache = %v, %v", hits, err)
	}
	if c, err := l.ListCache(); err != nil || len(c) != 0 {
		t.Errorf("ListCache = %v, %v", c, err)
	}
	r := testResource(1)
	if err := l.CommitUpload(r, entryFor(r)); !errors.Is(err, ErrReadOnly) {
		t.Errorf("CommitUpload: %v, want ErrReadOnly", err)
	}
	must(t, l.Close())
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("read-only open created %v", entries)
	}
}

func TestCorruptFilesAreLeftAlone(t *testing.T) {
	random := make([]byte, 3*4096+123)
	rand.Read(random)

	// A real state with enough resources to span many pages.
	src := statePath(t)
	l := open(t, src, Options{})
	must(t, l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketResources)
		for i := range 2000 {
			v, _ := resourceValue(testResource(i))
			if err := b.Put([]byte(testResource(i).Address), v); err != nil {
				return err
			}
		}
		return nil
	}))
	var used int64
	must(t, l.db.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil }))
	must(t, l.Close())
	valid, err := os.ReadFile(src)
	must(t, err)

	// bbolt databases that are not, or no longer, wxmedia states.
	damaged := func(fn func(tx *bolt.Tx) error) []byte {
		path := filepath.Join(t.TempDir(), "state.db")
		must(t, initState(path))
		db, err := bolt.Open(path, 0o600, nil)
		must(t, err)
		must(t, db.Update(fn))
		must(t, db.Close())
		b, err := os.ReadFile(path)
		must(t, err)
		return b
	}
	foreign := damaged(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketResources, bucketCache, bucketOutputs} {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		_, err := tx.CreateBucket([]byte("other"))
		return err
	})
	noLineage := damaged(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Delete(keyLineage) })
	noResources := damaged(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketResources) })

	cases := map[string][]byte{
		"random bytes":       random,
		"empty":              {},
		"truncated in meta":  valid[:100],
		"truncated to pages": valid[:used/2],
		"truncated by one":   valid[:used-4096],
		"not a state":        foreign,
		"no lineage":         noLineage,
		"no resources":       noResources,
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			for _, ro := range []bool{false, true} {
				path := filepath.Join(t.TempDir(), "state.db")
				must(t, os.WriteFile(path, content, 0o600))
				l, err := OpenLocal(path, Options{ReadOnly: ro})
				if err == nil {
					l.Close()
				}
				if !errors.Is(err, ErrCorrupt) {
					t.Errorf("read-only %v: OpenLocal: %v, want ErrCorrupt", ro, err)
				} else if !strings.Contains(err.Error(), path) {
					t.Errorf("error does not name the file: %v", err)
				}
				got, rerr := os.ReadFile(path)
				must(t, rerr)
				if !bytes.Equal(got, content) {
					t.Errorf("read-only %v: file changed (%d bytes, was %d)", ro, len(got), len(content))
				}
				if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
					t.Errorf("read-only %v: files left beside the state: %v", ro, entries)
				}
			}
		})
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := statePath(t)
	l := open(t, path, Options{})
	// A newer wxmedia writes the version with its checksum.
	v := binary.BigEndian.AppendUint64(nil, SchemaVersion+1)
	must(t, l.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketMeta).Put(keySchema, v); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keySchemaSum, seal(keySchema, v))
	}))
	must(t, l.Close())
	if _, err := OpenLocal(path, Options{}); !errors.Is(err, ErrSchemaVersion) {
		t.Errorf("OpenLocal: %v, want ErrSchemaVersion", err)
	}
}

// TestFlippedSchemaVersionCorrupt: a bit flipped in the schema version is
// damage, not a state of another version: a higher one is not "upgrade
// wxmedia", and a lower one does not turn the records' checksums off.
func TestFlippedSchemaVersionCorrupt(t *testing.T) {
	for _, n := range []uint64{SchemaVersion ^ 1, SchemaVersion ^ 4, SchemaVersion ^ 1<<40} {
		path := statePath(t)
		l := open(t, path, Options{})
		must(t, l.db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(keySchema, binary.BigEndian.AppendUint64(nil, n))
		}))
		must(t, l.Close())
		before, err := os.ReadFile(path)
		must(t, err)
		for _, ro := range []bool{true, false} {
			if _, err := OpenLocal(path, Options{ReadOnly: ro}); !errors.Is(err, ErrCorrupt) {
				t.Errorf("version %d, read-only %v: %v, want ErrCorrupt", n, ro, err)
			}
		}
		after, err := os.ReadFile(path)
		must(t, err)
		if !bytes.Equal(before, after) {
			t.Errorf("version %d: the refused file changed", n)
		}
	}
}

func TestUnwritableStateDirectory(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	must(t, os.WriteFile(file, nil, 0o600))
	path := filepath.Join(file, "state.db")
	if _, err := OpenLocal(path, Options{}); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("state under a regular file: %v, want an error naming %s", err, file)
	}

	if os.Geteuid() == 0 {
		t.Skip("permissions do not bind root")
	}
	dir := filepath.Join(base, "ro")
	must(t, os.Mkdir(dir, 0o500))
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	_, err := OpenLocal(filepath.Join(dir, "state.db"), Options{})
	if err == nil || !strings.Contains(err.Error(), "state directory "+dir+" is not writable") {
		t.Errorf("read-only state directory: %v", err)
	}

	// An existing state in a directory made read-only afterwards.
	path = statePath(t)
	must(t, open(t, path, Options{}).Close())
	must(t, os.Chmod(filepath.Dir(path), 0o500))
	t.Cleanup(func() { os.Chmod(filepath.Dir(path), 0o700) })
	_, err = OpenLocal(path, Options{})
	if err == nil || !strings.Contains(err.Error(), "state directory "+filepath.Dir(path)+" is not writable") {
		t.Errorf("existing state in a read-only directory: %v", err)
	}
	l := open(t, path, Options{ReadOnly: true})
	must(t, l.Close())
}

func BenchmarkSnapshot100k(b *testing.B) {
	const n = 100_000
	l := open(b, filepath.Join(b.TempDir(), "state.db"), Options{})
	// Filled directly, in key order: bbolt inserts out-of-order keys of one
	// transaction slowly, and apply commits each upload on its own anyway.
	rs := make([]Resource, n)
	for i := range rs {
		rs[i] = testResource(i)
	}
	must(b, l.db.Update(func(tx *bolt.Tx) error {
		rb := tx.Bucket(bucketResources)
		for _, r := range rs {
			v, err := resourceValue(r)
			if err != nil {
				return err
			}
			if err := rb.Put([]byte(r.Address), v); err != nil {
				return err
			}
		}
		return nil
	}))
	slices.SortFunc(rs, func(a, b Resource) int { return strings.Compare(a.SHA256, b.SHA256) })
	must(b, l.db.Update(func(tx *bolt.Tx) error {
		cb := tx.Bucket(bucketCache)
		for _, r := range rs {
			e := entryFor(r)
			v, err := cacheValue(e)
			if err != nil {
				return err
			}
			if err := cb.Put(cacheKeyBytes(e.CacheKey), v); err != nil {
				return err
			}
		}
		return nil
	}))
	b.ResetTimer()
	for b.Loop() {
		s, err := l.Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		if len(s.Resources) != n {
			b.Fatalf("%d resources", len(s.Resources))
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
