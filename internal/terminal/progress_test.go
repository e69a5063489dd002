package terminal

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer for one writer goroutine and one reader.
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

// Off a terminal, progress is a plain line every interval, with the
// counts, the bytes and the failures; with no interval, nothing.
func TestProgressLines(t *testing.T) {
	var errb syncBuffer
	term := New(nil, &bytes.Buffer{}, &errb, true)
	if p := term.StartProgress("uploading", 4, 400); p != nil {
		t.Fatal("progress without an interval")
	}
	term.ProgressEvery = 10 * time.Millisecond
	p := term.StartProgress("uploading", 4, 400)
	p.Uploaded(100, false)
	p.Uploaded(50, true)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(errb.String(), "1 failed") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	p.Finish()
	out := errb.String()
	if !strings.Contains(out, "wxmedia: uploading: 2/4 files, 100 B of 400 B") || !strings.Contains(out, "1 failed") {
		t.Errorf("progress lines %q", out)
	}
	// A message after Finish is not disturbed by a stale display.
	term.Warnf("done")
	if !strings.HasSuffix(errb.String(), "wxmedia: warning: done\n") {
		t.Errorf("after finish: %q", errb.String())
	}
	var nilProgress *Progress
	nilProgress.Hashed(1, true)
	nilProgress.Finish()
}

// The time left follows the rate so far: by bytes when the total is known.
func TestProgressLeft(t *testing.T) {
	p := &Progress{files: 10, size: 1000}
	p.bytes.Store(250)
	if got := p.left(10); got != 30*time.Second {
		t.Errorf("left = %v, want 30s", got)
	}
	p.bytes.Store(1000)
	if got := p.left(10); got != 0 {
		t.Errorf("left when done = %v", got)
	}
}
