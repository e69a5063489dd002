package state

import (
	"fmt"
	"io"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wxmedia/wxmedia/internal/atomicfile"
)

// While a writer (apply, state surgery) holds a local state's lock, bbolt's
// exclusive file lock keeps readers out of the file. So that plan, output,
// show and the state subcommands that only read need not wait for an apply
// that may last hours, a writer publishes, as it takes the lock, a
// consistent copy of the state beside it (SnapshotPath, written from one
// read transaction by bbolt's Tx.WriteTo, then renamed into place by
// atomicfile), and removes it before releasing the lock. A reader that
// finds the lock held reads that copy instead: the state as it was when
// the writer started. Saved plans made from it are refused as stale once
// the writer has written, as for any plan made before an apply.

// SnapshotSuffix is appended to the state's path to name the copy a
// writer publishes for readers.
const SnapshotSuffix = ".snapshot"

// SnapshotPath is where the writer of the state at path publishes its copy.
func SnapshotPath(path string) string { return path + SnapshotSuffix }

// SnapshotInfo says whose published copy a reader reads.
type SnapshotInfo struct {
	// Holder is the writer holding the lock; nil when it left no details.
	Holder *LockInfo
	// Taken is when the copy was published.
	Taken time.Time
}

// ReadingSnapshot returns, for a reader that found the lock held and reads
// the copy its holder published, who that holder is and when the copy was
// taken; nil when it reads the state itself.
func (l *Local) ReadingSnapshot() *SnapshotInfo { return l.fromSnapshot }

// publishSnapshot writes a consistent copy of db for readers, replacing
// the previous one atomically. It need not survive a crash: it is a
// reader's convenience, removed with the lock and made again by the next
// writer.
func publishSnapshot(db *bolt.DB, path string) error {
	return atomicfile.Write(SnapshotPath(path), 0o600, atomicfile.Replace, func(w io.Writer) error {
		return db.View(func(tx *bolt.Tx) error {
			_, err := tx.WriteTo(w)
			return err
		})
	})
}

// openPublished opens, read-only, the copy that the writer holding the
// lock of the state at path published. It reports false when there is
// none, or it cannot be read: the reader then treats the lock as usual.
func openPublished(path string, opts Options) (*Local, bool) {
	snap := SnapshotPath(path)
	st, err := os.Lstat(snap)
	if err != nil || !st.Mode().IsRegular() {
		return nil, false
	}
	// Nothing writes a published copy once it is in place (it is renamed
	// there whole), so all of it is checked before bbolt opens it.
	if err := checkFile(snap, checkTree); err != nil {
		return nil, false
	}
	var db *bolt.DB
	err = guard(snap, func() (err error) {
		db, err = bolt.Open(snap, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Millisecond})
		return err
	})
	if err != nil {
		return nil, false
	}
	if err := guard(snap, func() error { return validate(db, snap, checkOnOpen(opts)) }); err != nil {
		db.Close()
		return nil, false
	}
	return &Local{path: path, readOnly: true, db: db, fromSnapshot: &SnapshotInfo{Holder: readLockInfo(path), Taken: st.ModTime()}}, true
}

// String is the note a reader of a published copy shows.
func (s *SnapshotInfo) String() string {
	who := "another wxmedia"
	if h := s.Holder; h != nil {
		who = fmt.Sprintf("pid %d", h.PID)
		if h.Command != "" {
			who = fmt.Sprintf("%q (pid %d)", h.Command, h.PID)
		}
	}
	return fmt.Sprintf("the state is locked by %s: reading the copy it published at %s, the state as it was when it started", who, s.Taken.UTC().Format(time.RFC3339))
}
