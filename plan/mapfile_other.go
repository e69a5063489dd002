//go:build !linux

package plan

import (
	"io"
	"os"
)

// readDerived returns the size bytes of f, the stat cache or the no-op
// index (mapped on Linux, see mapfile_linux.go).
func readDerived(f *os.File, size int64) ([]byte, error) {
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, err
	}
	return data, nil
}
