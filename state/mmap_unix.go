//go:build unix

package state

import (
	"os"
	"syscall"
)

// mapFile maps the first size bytes of f read-only, for walkPages to read
// pages without copying them; ok is false when it cannot. unmap undoes it.
// Reads of the map must run under guard: a file shortened meanwhile by
// another program would fault.
func mapFile(f *os.File, size int64) (data []byte, unmap func(), ok bool) {
	if size <= 0 || int64(int(size)) != size {
		return nil, nil, false
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, false
	}
	return data, func() { syscall.Munmap(data) }, true
}
