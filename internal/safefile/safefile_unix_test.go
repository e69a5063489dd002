//go:build unix

package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRefusesWhatIsNotARegularFile: a named pipe without a writer, a
// symbolic link to /dev/zero and a directory are refused at once, by Open
// and by ReadFile.
func TestRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe.png")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no named pipes:", err)
	}
	zero := filepath.Join(dir, "zero.png")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{fifo, "named pipe"}, {zero, "character device"}, {dir, "directory"},
	} {
		done := make(chan error, 1)
		go func() {
			_, err := ReadFile(c.path, 1<<20)
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("ReadFile(%s) = %v, want a %q error", c.path, err, c.want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("ReadFile(%s) still blocked after 5s", c.path)
		}
		if f, _, err := Open(c.path); err == nil {
			f.Close()
			t.Errorf("Open(%s) succeeded", c.path)
		}
	}
}

// TestReadFileLimit: a file of limit bytes is read whole, one byte more
// is refused.
func TestReadFileLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, make([]byte, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(path, 1000); err != nil || len(b) != 1000 {
		t.Fatalf("ReadFile at the limit = %d bytes, %v", len(b), err)
	}
	_, err := ReadFile(path, 999)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "999 bytes") {
		t.Fatalf("ReadFile over the limit = %v", err)
	}
}

// TestReadAllStopsAtTheLimit: a reader that never ends (a file growing
// while read) is read up to the limit plus one byte, not forever.
func TestReadAllStopsAtTheLimit(t *testing.T) {
	_, err := readAll(endless{}, "endless", 10, 1<<20)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("readAll of an endless reader = %v", err)
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) { return len(p), nil }
