//go:build unix

package apply

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wxmedia/wxmedia/plan"
)

// TestSourceSwappedAfterPlanning: sources replaced, between planning and
// upload, by a named pipe without a writer, a symbolic link to /dev/zero,
// and a file grown past its planned size are each refused at once:
// nothing is uploaded, nothing blocks, memory does not grow with them.
func TestSourceSwappedAfterPlanning(t *testing.T) {
	dir, st := tempState(t)
	pipe := change(t, dir, "pipe.png", []byte("AAAA"), plan.Upload)
	zero := change(t, dir, "zero.png", []byte("BBBB"), plan.Upload)
	grown := change(t, dir, "grown.png", []byte("CCCC"), plan.Upload)
	os.Remove(pipe.Path)
	if err := syscall.Mkfifo(pipe.Path, 0o644); err != nil {
		t.Skip("no named pipes:", err)
	}
	os.Remove(zero.Path)
	if err := os.Symlink("/dev/zero", zero.Path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(grown.Path, make([]byte, 8<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	done := make(chan struct{})
	var (
		res *Result
		err error
	)
	go func() {
		defer close(done)
		res, err = Apply(context.Background(), planOf([]*plan.ResourceChange{pipe, zero, grown}),
			Options{Store: st, Uploaders: map[string]Uploader{"m": rec}, Parallelism: 3})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("apply still reading the swapped sources after 10s")
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.calls) != 0 || len(res.Failures) != 3 {
		t.Fatalf("uploads %v, failures %v", rec.calls, res.Failures)
	}
	want := map[string]string{pipe.Addr: "named pipe", zero.Addr: "character device", grown.Addr: "source file changed"}
	for _, f := range res.Failures {
		if !strings.Contains(f.Err.Error(), want[f.Addr]) {
			t.Errorf("%s: %v, want %q", f.Addr, f.Err, want[f.Addr])
		}
	}
}
