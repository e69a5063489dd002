package plan

import (
	"io"
	"os"
)

// readDerived returns the size bytes of f, the stat cache or the no-op
// index, read into memory. They are read rather than mapped: a plan's
// sums and identifiers refer to these bytes for as long as it lives, and
// a mapped file that someone truncates in place meanwhile would make the
// next read of them a fatal fault (SIGBUS) instead of nothing at all.
func readDerived(f *os.File, size int64) ([]byte, error) {
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, err
	}
	return data, nil
}
