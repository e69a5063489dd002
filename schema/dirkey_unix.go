//go:build unix

package schema

import (
	"io/fs"
	"syscall"
)

// dirKeyOf returns the device and inode of fi.
func dirKeyOf(fi fs.FileInfo) (dirKey, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return dirKey{}, false
	}
	return dirKey{dev: uint64(st.Dev), ino: uint64(st.Ino)}, true
}
