//go:build unix

package safefile

import (
	"os"
	"syscall"
)

// openNonblock opens path with O_NONBLOCK: opening a named pipe then
// returns at once instead of waiting for a writer. Reads of a regular
// file ignore the flag.
func openNonblock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
