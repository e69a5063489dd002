package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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

	// Without the published copy (a writer that has not published it yet),
	// a reader waits for it rather than fail.
	must(t, os.Rename(SnapshotPath(path), path+".aside"))
	go func() {
		time.Sleep(300 * time.Millisecond)
		os.Rename(path+".aside", SnapshotPath(path))
	}()
	start = time.Now()
	r, err = OpenLocal(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("reader while the writer publishes its copy: %v", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || r.ReadingSnapshot() == nil {
		t.Errorf("reader did not wait for the copy (%v): %+v", d, r.ReadingSnapshot())
	}
	must(t, r.Close())

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
	r2 := open(t, path, Options{ReadOnly: true}) // readers share the lock
	if err := r1.PutResource(testResource(1)); !errors.Is(err, ErrReadOnly) {
		t.Errorf("write through a reader: %v, want ErrReadOnly", err)
	}
	// A writer waits for readers, which hold the lock only while they
	// read, even with no lock timeout.
	go func() {
		time.Sleep(300 * time.Millisecond)
		r1.Close()
		r2.Close()
	}()
	start := time.Now()
	w, err := OpenLocal(path, Options{})
	if err != nil {
		t.Fatalf("writer while readers hold the lock for 300ms: %v", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("writer got the lock after %v, before the readers released it", d)
	}
	must(t, w.Close())
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
