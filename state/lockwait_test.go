//go:build unix

package state

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// holdExclusive takes the state file's lock as a writer does, without
// the details or the copy a wxmedia writer leaves, until release is called.
func holdExclusive(t *testing.T, path string) (release func()) {
	t.Helper()
	f, err := os.Open(path)
	must(t, err)
	must(t, unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB))
	var once sync.Once
	release = func() { once.Do(func() { f.Close() }) }
	t.Cleanup(release)
	return release
}

// A writer holding the lock is still waited for only up to -lock-timeout:
// with none, a second writer fails at once, and a writer's details, or
// their absence, are reported as they were.
func TestLockedByWriterFailsAtOnce(t *testing.T) {
	path := statePath(t)
	must(t, open(t, path, Options{}).Close())
	holder := open(t, path, Options{Command: "apply"})
	start := time.Now()
	_, err := OpenLocal(path, Options{})
	var le *LockedError
	if !errors.As(err, &le) || le.Reader || le.Holder == nil || le.Holder.Command != "apply" {
		t.Fatalf("second writer: %v, want the apply named", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("second writer without -lock-timeout waited %v", d)
	}
	must(t, holder.Close())

	// Details left by a writer that died are not shown; those of another
	// host cannot be checked and are.
	holdExclusive(t, path)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	must(t, cmd.Run())
	host, _ := os.Hostname()
	for _, h := range []string{host, "ci-7"} {
		data, _ := json.Marshal(storedLockInfo{PID: cmd.Process.Pid, Host: h, Command: "apply", Started: time.Now()})
		must(t, os.WriteFile(lockInfoPath(path), data, 0o600))
		_, err := OpenLocal(path, Options{})
		if !errors.As(err, &le) || le.Reader || (le.Holder == nil) != (h == host) {
			t.Errorf("details from pid %d on %s, no longer running: %v", cmd.Process.Pid, h, err)
		}
	}
}

// A reader that finds the lock held by a writer that never publishes its
// copy (it has just taken the lock) gets the state once it is released.
func TestReaderWaitsForWriterStarting(t *testing.T) {
	path := statePath(t)
	w := open(t, path, Options{})
	must(t, w.PutResource(testResource(1)))
	must(t, w.Close())
	release := holdExclusive(t, path)
	go func() {
		time.Sleep(300 * time.Millisecond)
		release()
	}()
	r, err := OpenLocal(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("reader while a writer starts: %v", err)
	}
	defer r.Close()
	if snap, err := r.Snapshot(); err != nil || len(snap.Resources) != 1 {
		t.Errorf("reader's snapshot: %v, %d resources, want 1", err, len(snap.Resources))
	}
}

// Plans in a loop while applies run one after another: no apply fails
// because a plan reads, and no plan fails because an apply starts.
func TestReadersAndWritersInALoop(t *testing.T) {
	path := statePath(t)
	must(t, open(t, path, Options{}).Close())
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var readerErrs []error
	reads := 0
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, err := OpenLocal(path, Options{ReadOnly: true})
				if err == nil {
					_, err = r.Snapshot()
					r.Close()
				}
				mu.Lock()
				reads++
				if err != nil {
					readerErrs = append(readerErrs, err)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range 8 {
		w, err := OpenLocal(path, Options{Command: "apply"})
		if err != nil {
			t.Errorf("apply %d while plans run: %v", i, err)
			continue
		}
		must(t, w.PutResource(testResource(i)))
		time.Sleep(20 * time.Millisecond)
		must(t, w.Close())
	}
	close(stop)
	wg.Wait()
	if len(readerErrs) > 0 {
		t.Errorf("%d of %d plans failed while applies ran, first: %v", len(readerErrs), reads, readerErrs[0])
	}
}

// Readers that keep the lock past the 5 seconds a writer waits for them
// make it fail saying so, without suggesting force-unlock's holder.
func TestLockedByReaderPastTheWait(t *testing.T) {
	if os.Getenv("WXMEDIA_SLOW_TESTS") == "" {
		t.Skip("waits 5s; set WXMEDIA_SLOW_TESTS=1")
	}
	path := statePath(t)
	must(t, open(t, path, Options{}).Close())
	open(t, path, Options{ReadOnly: true})
	start := time.Now()
	_, err := OpenLocal(path, Options{})
	d := time.Since(start)
	var le *LockedError
	if !errors.As(err, &le) || !le.Reader || le.Holder != nil {
		t.Fatalf("writer while a reader holds the lock: %v, want a LockedError by a reader", err)
	}
	if !strings.Contains(err.Error(), "held by a reader") || strings.Contains(err.Error(), "unknown") {
		t.Errorf("message %q", err)
	}
	if d < 5*time.Second || d > 7*time.Second {
		t.Errorf("writer waited %v for readers, want 5s", d)
	}
	// A longer -lock-timeout is waited for all of it.
	start = time.Now()
	if _, err := OpenLocal(path, Options{LockTimeout: 6 * time.Second}); !errors.As(err, &le) || !le.Reader {
		t.Errorf("writer with -lock-timeout=6s: %v", err)
	}
	if d := time.Since(start); d < 6*time.Second || d > 8*time.Second {
		t.Errorf("writer with -lock-timeout=6s waited %v", d)
	}
}

// A reader that finds a writer holding the lock without a copy waits 5
// seconds for it, then fails naming the writer; told a lock timeout, it
// says it waits.
func TestReaderWithoutCopyPastTheWait(t *testing.T) {
	if os.Getenv("WXMEDIA_SLOW_TESTS") == "" {
		t.Skip("waits 5s; set WXMEDIA_SLOW_TESTS=1")
	}
	path := statePath(t)
	must(t, open(t, path, Options{}).Close())
	holder := open(t, path, Options{Command: "apply"})
	must(t, os.Remove(SnapshotPath(path)))
	start := time.Now()
	var waited *LockInfo
	_, err := OpenLocal(path, Options{ReadOnly: true, LockTimeout: 100 * time.Millisecond, OnWait: func(h *LockInfo, _ time.Duration) { waited = h }})
	var le *LockedError
	if !errors.As(err, &le) || le.Reader || le.Holder == nil || le.Holder.Command != "apply" {
		t.Errorf("reader without a published copy: %v, want the apply named", err)
	}
	if d := time.Since(start); d < 5*time.Second || d > 7*time.Second {
		t.Errorf("reader waited %v, want 5s", d)
	}
	if waited == nil || waited.Command != "apply" {
		t.Errorf("OnWait was not told the holder: %+v", waited)
	}
	must(t, holder.Close())
}

// The mark a writer waiting for readers leaves makes new readers wait for
// it while the writer lives; one it left behind (killed while waiting)
// holds no reader up.
func TestStaleWriterWaitingMark(t *testing.T) {
	path := statePath(t)
	must(t, open(t, path, Options{}).Close())
	mark := path + ".writer-waiting"
	must(t, os.WriteFile(mark, nil, 0o600))
	old := time.Now().Add(-time.Minute)
	must(t, os.Chtimes(mark, old, old))
	start := time.Now()
	r, err := OpenLocal(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("reader beside a stale mark: %v", err)
	}
	must(t, r.Close())
	if d := time.Since(start); d > time.Second {
		t.Errorf("reader waited %v for a mark a minute old", d)
	}
	// One whose writer is alive (holds its lock) is waited for until it
	// goes.
	unmark := markWriterWaiting(path)
	if unmark == nil {
		t.Skip("no writer waits for readers on this system")
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		unmark()
	}()
	start = time.Now()
	r, err = OpenLocal(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("reader beside a fresh mark: %v", err)
	}
	must(t, r.Close())
	if d := time.Since(start); d < 250*time.Millisecond || d > 5*time.Second {
		t.Errorf("reader waited %v for a mark removed after 300ms", d)
	}
	// A fresh one whose writer died (the kernel released its lock, the
	// file is left behind) holds no reader up, and goes.
	must(t, os.WriteFile(mark, nil, 0o600))
	start = time.Now()
	r, err = OpenLocal(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("reader beside a dead writer's mark: %v", err)
	}
	must(t, r.Close())
	if d := time.Since(start); d > time.Second {
		t.Errorf("reader waited %v for a mark its writer left dying", d)
	}
	if _, err := os.Stat(mark); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a dead writer's mark was left: %v", err)
	}
}
