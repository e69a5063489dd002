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
// start. The waiting writer holds an flock on its marker
// (markWriterWaiting), which the kernel releases when it dies: a marker
// whose lock the reader can take is one a dead writer left behind, and
// goes at once. One older than ReaderWait is ignored.
func yieldToWriter(path string, start time.Time) {
	marker := writerWaitingPath(path)
	for time.Since(start) < ReaderWait {
		st, err := os.Stat(marker)
		if err != nil {
			return
		}
		if markerAbandoned(marker) {
			os.Remove(marker)
			return
		}
		if time.Since(st.ModTime()) > ReaderWait {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// markerAbandoned reports whether no live writer holds the marker's lock.
// The probe holds it only for the moment it takes.
func markerAbandoned(marker string) bool {
	f, err := os.Open(marker)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return false
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return true
}

// markWriterWaiting leaves the marker that makes new readers of the state
// at path yield to this writer, holding an flock on it for as long as the
// writer waits; nil when it cannot (another waiting writer holds it, or a
// reader probes it at that moment: the caller tries again as it polls).
// The returned function removes the marker and releases its lock.
func markWriterWaiting(path string) func() {
	marker := writerWaitingPath(path)
	f, err := os.OpenFile(marker, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil
	}
	// A marker left older than ReaderWait reads as abandoned: it is
	// this writer's from now.
	now := time.Now()
	os.Chtimes(marker, now, now)
	return func() {
		os.Remove(marker)
		f.Close()
	}
}
