package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wxmedia/wxmedia/state"
)

// A command that reads the state holds the reader's lock only while it
// reads: with its output blocked (a pager, a pipe nobody reads yet), a
// writer gets the lock at once. Each reader writes into a pipe shrunk to
// one page that nobody reads; once the pipe is full, state rm must succeed
// without waiting for the reader, which then finishes once the pipe is
// drained.
func TestReadersReleaseLockBeforeOutput(t *testing.T) {
	slowTests(t)
	w := newCrashWorld(t, 150)
	ctx := context.Background()
	if out, err := w.cmd(ctx, "apply", "-auto-approve").CombinedOutput(); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	// Files not applied yet, so that plan has pages of changes to show.
	for i := range 40 {
		name := fmt.Sprintf("n%04d.png", i)
		b, err := makeImage(".png", name)
		if err == nil {
			err = os.WriteFile(filepath.Join(w.dir, "img", name), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	addrs := make([]string, 0, len(w.shas))
	for a := range w.shas {
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	readers := [][]string{
		{"show"}, {"show", "-json"}, {"show", "-markdown"},
		{"plan"}, {"plan", "-json"}, {"plan", "-markdown"},
		{"plan", "-out=" + filepath.Join(w.dir, "p.plan")},
		{"state", "list"}, {"state", "pull"}, {"state", "cache", "list"},
	}
	for i, args := range readers {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r, wr, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if _, err := unix.FcntlInt(wr.Fd(), unix.F_SETPIPE_SZ, 4096); err != nil {
				t.Fatal(err)
			}
			reader := w.cmd(ctx, args...)
			var stderr bytes.Buffer
			reader.Stdout, reader.Stderr = wr, &stderr
			if err := reader.Start(); err != nil {
				t.Fatal(err)
			}
			wr.Close()
			defer reader.Process.Kill()
			// The reader has filled the pipe (its next write does not fit
			// in what is left): it is blocked writing.
			deadline := time.Now().Add(30 * time.Second)
			for {
				n, err := unix.IoctlGetInt(int(r.Fd()), unix.TIOCINQ)
				if err != nil {
					t.Fatal(err)
				}
				if n >= 4096-512 {
					time.Sleep(200 * time.Millisecond)
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s wrote %d bytes in 30s, not enough to fill the pipe; stderr:\n%s", args, n, stderr.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			start := time.Now()
			out, err := w.cmd(ctx, "state", "rm", "-lock-timeout=0s", addrs[i]).CombinedOutput()
			took := time.Since(start)
			if err != nil {
				t.Fatalf("state rm while %s's output is blocked: %v after %v\n%s", args, err, took, out)
			}
			// "At once": well under the 5 s a writer waits for readers.
			if took > 2*time.Second {
				t.Errorf("state rm took %v while %s's output was blocked", took, args)
			}
			io.Copy(io.Discard, r)
			if err := reader.Wait(); err != nil {
				t.Errorf("%s: %v\n%s", args, err, stderr.String())
			}
		})
	}
}

// A writer that waits for readers says so, as one that waits for a writer
// does; killed (SIGKILL) while it waits, it holds up no later reader.
func TestWriterKilledWhileWaitingForReaders(t *testing.T) {
	slowTests(t)
	w := newCrashWorld(t, 3)
	ctx := context.Background()
	if out, err := w.cmd(ctx, "apply", "-auto-approve").CombinedOutput(); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	path := filepath.Join(w.dir, ".wxmedia", "state.db")
	reader, err := state.OpenLocal(path, state.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	writer := w.cmd(ctx, "state", "rm", `wechatpay_image.img["f0000.png"]`)
	var stderr syncBuffer
	writer.Stderr = &stderr
	if err := writer.Start(); err != nil {
		t.Fatal(err)
	}
	defer writer.Process.Kill()
	const line = "waiting up to 5s for the state lock held by readers"
	deadline := time.Now().Add(4 * time.Second)
	for !strings.Contains(stderr.String(), line) {
		if time.Now().After(deadline) {
			t.Fatalf("the writer waiting for a reader did not say so within 4s; stderr:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(path + ".writer-waiting"); err != nil {
		t.Fatalf("the waiting writer left no mark: %v", err)
	}
	writer.Process.Kill()
	writer.Wait()
	reader.Close()
	start := time.Now()
	out, err := w.cmd(ctx, "state", "list").CombinedOutput()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("state list after the writer was killed: %v\n%s", err, out)
	}
	// Nothing holds the lock: "at once", well under the 5 s a reader
	// yields to a live waiting writer.
	if took > time.Second {
		t.Errorf("state list took %v after the waiting writer was killed", took)
	}
	if _, err := os.Stat(path + ".writer-waiting"); err == nil {
		t.Errorf("the killed writer's mark is still there after a reader found it")
	}
}

// syncBuffer is a bytes.Buffer safe to read while a process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
