package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

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
		data, _ := json.Marshal(storedLockInfo{PID: cmd.Process.Pid, Host: h, Command: "apply", Started: time.Now()})
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
