//go:build unix

package uploader

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKeyFilesAreBoundedReads: key and certificate files that are named
// pipes or links to /dev/zero are refused at once.
func TestKeyFilesAreBoundedReads(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "key.pem")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no named pipes:", err)
	}
	zero := filepath.Join(dir, "zero.pem")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, zero} {
		done := make(chan error, 3)
		go func() {
			_, err := LoadPrivateKey(p)
			done <- err
			_, err = LoadPublicKey(p)
			done <- err
			_, err = CertificateSerial(p)
			done <- err
		}()
		for range 3 {
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "not a regular file") {
					t.Errorf("%s: %v", p, err)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%s: still reading after 5s", p)
			}
		}
	}
}
