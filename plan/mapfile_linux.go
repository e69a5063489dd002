package plan

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// readDerived returns the size bytes of f, the stat cache or the no-op
// index, mapped read-only rather than copied: both are derived files
// that every writer replaces whole by renaming a new file over them
// (atomicfile.Replace), never by writing or truncating the file in
// place, so the mapped inode never changes under the mapping; one that
// someone truncates by hand is the one way to fault on it. The mapping
// is never unmapped: a plan's sums and identifiers refer to its bytes
// for as long as the plan lives. An empty file, or one that cannot be
// mapped, is read instead.
func readDerived(f *os.File, size int64) ([]byte, error) {
	if size > 0 && size == int64(int(size)) {
		if b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED|unix.MAP_POPULATE); err == nil {
			return b, nil
		}
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, err
	}
	return data, nil
}
