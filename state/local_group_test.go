package state

import (
	"sync"
	"testing"
	"time"
)

// pendingWrites is how many writes wait for a group commit.
func pendingWrites(l *Local) int {
	l.groupMu.Lock()
	defer l.groupMu.Unlock()
	return len(l.pending)
}

// waitPending waits until n writes are queued.
func waitPending(t *testing.T, l *Local, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for pendingWrites(l) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued after 10 s, want %d", pendingWrites(l), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// returns runs fn and fails the test unless it returns within limit, far
// below the group window these tests set: a write that is not waited for
// must not wait for that window.
func returns(t *testing.T, limit time.Duration, what string, fn func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(limit):
		t.Fatalf("%s did not return within %v", what, limit)
	}
}

// A lone write, and writes nobody announced, commit at once: only
// announced writes are waited for.
func TestGroupCommitLoneWriteNeverWaits(t *testing.T) {
	l := open(t, statePath(t), Options{})
	l.groupWindow = time.Hour
	r := testResource(1)
	returns(t, 30*time.Second, "a lone CommitUpload", func() error { return l.CommitUpload(r, entryFor(r)) })
	l.ExpectWrites(3)
	l.ExpectWrites(-3)
	returns(t, 30*time.Second, "a PutResource once the announced writes were withdrawn", func() error { return l.PutResource(testResource(2)) })
	if got := l.GroupCommits(); got != 2 {
		t.Errorf("%d group commits, want 2", got)
	}
}

// Writes announced with ExpectWrites are waited for: the queued writes
// commit together once as many are queued as are still announced.
func TestGroupCommitWaitsForAnnouncedWrites(t *testing.T) {
	l := open(t, statePath(t), Options{})
	l.groupWindow = time.Hour
	const n = 8
	l.ExpectWrites(n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n - 1 {
		wg.Go(func() {
			r := testResource(i)
			errs <- l.CommitUpload(r, entryFor(r))
		})
	}
	// Seven queued, eight announced: nothing commits.
	waitPending(t, l, n-1)
	if got := l.GroupCommits(); got != 0 {
		t.Fatalf("%d group commits before the announced writes came, want 0", got)
	}
	// The last announced write withdraws itself as it is made: seven
	// queued, seven announced.
	l.ExpectWrites(-1)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := l.GroupCommits(); got != 1 {
		t.Errorf("%d group commits for %d writes queued together, want 1", got, n-1)
	}
	if s := snapshot(t, l); len(s.Resources) != n-1 || s.Serial != n-1 {
		t.Errorf("%d resources at serial %d, want %d at %d", len(s.Resources), s.Serial, n-1, n-1)
	}
	l.ExpectWrites(-(n - 1))
	returns(t, 30*time.Second, "a write once nothing is announced", func() error { return l.PutResource(testResource(n)) })
}

// An announced write that never comes delays the others by at most the
// group window, and an error in one write of a group fails only that one.
func TestGroupCommitWindowAndErrors(t *testing.T) {
	l := open(t, statePath(t), Options{})
	l.groupWindow = 20 * time.Millisecond
	l.ExpectWrites(100)
	bad := testResource(3)
	bad.Address = ""
	var wg sync.WaitGroup
	var okErr, badErr error
	wg.Go(func() { r := testResource(1); okErr = l.CommitUpload(r, entryFor(r)) })
	wg.Go(func() {
		// Past checkResource, so that it fails inside the transaction.
		badErr = l.groupUpdate("bad", func(g *groupTx) error { return g.putResource(nil, []byte("x")) })
	})
	returns(t, 30*time.Second, "writes waiting for 100 announced", func() error { wg.Wait(); return nil })
	if okErr != nil || badErr == nil {
		t.Fatalf("good write: %v; bad write: %v, want only the bad one to fail", okErr, badErr)
	}
	if s := snapshot(t, l); len(s.Resources) != 1 || s.Serial != 1 {
		t.Errorf("%d resources at serial %d, want 1 at 1", len(s.Resources), s.Serial)
	}
}
