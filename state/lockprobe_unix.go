//go:build unix

package state

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// heldByReaders reports whether the lock of the state at path, found held,
// is held only by readers: bbolt locks the file with flock, exclusively
// for a writer and shared for readers, and a shared lock can be taken
// beside readers' but not a writer's. The probe holds it for the moment it
// takes. False when the file cannot be opened or the probe fails otherwise.
func heldByReaders(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		return false
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return true
}

// yieldToWriter waits, for a reader about to take the lock of the state
// at path, while a writer waits for readers, until it has the lock (and
// the reader reads its copy) or gives up; never past ReaderWait from
// start. A marker older than ReaderWait is one a writer left behind.
func yieldToWriter(path string, start time.Time) {
	marker := writerWaitingPath(path)
	for time.Since(start) < ReaderWait {
		st, err := os.Stat(marker)
		if err != nil || time.Since(st.ModTime()) > ReaderWait {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
