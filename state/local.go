package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// DefaultPath is where a configuration's local state lives, relative to the
// configuration directory.
const DefaultPath = ".wxmedia/state.db"

// SchemaVersion is the version of the state's layout that this package
// writes. OpenLocal refuses a state with a higher one. Version 1 stored
// resources as JSON; version 2 stores them as binary records (record.go)
// and counts the resources recorded out of order (keyScattered); version 3
// ends every resource, cache entry and output with a checksum (seal). A
// writer upgrades an older state when it opens it; readers read them all.
const SchemaVersion = 3

// Buckets and keys of the state file.
var (
	bucketMeta      = []byte("meta")      // keyLineage, keySerial, keySchema
	bucketResources = []byte("resources") // address -> sealed resource record (record.go)
	bucketCache     = []byte("cache")     // cacheKeyBytes -> sealed JSON CacheEntry
	bucketOutputs   = []byte("outputs")   // name -> sealed JSON Output

	keyLineage = []byte("lineage")        // non-empty string
	keySerial  = []byte("serial")         // 8 bytes, big-endian
	keySchema  = []byte("schema_version") // 8 bytes, big-endian, >= 1
	// keySchemaSum holds keySchema's value sealed with its checksum
	// (damage.go), written with it from schema version 3 on: a flipped bit
	// in the version would otherwise turn a damaged state into "upgrade
	// wxmedia", or make a reader skip the records' checksums.
	keySchemaSum = []byte("schema_version_sum")
	// keyScattered counts the resources recorded, since the resources
	// were last rewritten in order, under an address that sorts before
	// the last one recorded then: each may have split a page in two half
	// empty ones (8 bytes, big-endian; absent is 0).
	keyScattered = []byte("scattered")
	// keyResourceCount is the number of resources, which readers size
	// their maps by (8 bytes, big-endian; absent is 0). As a map size it
	// is only a hint: a wrong count costs time, never a record.
	keyResourceCount = []byte("resource_count")
	// keyResourceCountSum holds keyResourceCount's value sealed with its
	// checksum, written with it by every writer of this version: Head
	// reports the count only when the two agree, and otherwise counts the
	// keys (resourceCount).
	keyResourceCountSum = []byte("resource_count_sum")
	// keyPlanKey is the state's secret for signing saved plans
	// (Snapshot.PlanKey): 32 random bytes, made with the state or by the
	// first writer of this version.
	keyPlanKey = []byte("plan_key")
)

// ReaderWait bounds the waits for what holds a local state's lock only for
// moments, whatever Options.LockTimeout says (a longer LockTimeout
// lengthens them): a writer waits this long for readers, which hold the
// lock (shared) only while they read, and fails with a *LockedError whose
// Reader is set if they still do; a reader that finds a writer holding the
// lock that has not published its copy yet (it does so as it starts)
// waits this long for the copy or the lock.
const ReaderWait = 5 * time.Second

// writerWaitingPath names the file a writer that waits for readers leaves
// while it waits, so that new readers let it in first (yieldToWriter)
// rather than keep the shared lock held between them.
func writerWaitingPath(path string) string { return path + ".writer-waiting" }

// ReaderNote is how long a writer waits for readers before it says so
// (Options.OnWaitReaders): readers hold the lock only while they read, so
// most waits for them end before.
const ReaderNote = 500 * time.Millisecond

// Options tunes OpenLocal.
type Options struct {
	// LockTimeout is how long to wait for another wxmedia to release the
	// state lock. Zero fails at once when a writer holds it; a negative
	// value waits as long as it takes. Readers, and writers that have not
	// yet published their copy, are waited for up to ReaderWait even when
	// it is shorter.
	LockTimeout time.Duration
	// ReadOnly opens the state with a shared lock, which many readers may
	// hold together but no writer. Writes fail with ErrReadOnly. A missing
	// state reads as empty, and nothing is created.
	ReadOnly bool
	// Command is the wxmedia command opening the state, e.g. apply. A
	// writer records it, for a second wxmedia to name in its lock error.
	Command string
	// OnWait, when set, is called once before waiting for a lock that
	// another wxmedia holds (holder nil when it left no details), so that
	// a waiting command can say so.
	OnWait func(holder *LockInfo, timeout time.Duration)
	// OnWaitReaders, when set, is called once when a writer has waited
	// ReaderNote for readers of a local state to release its lock, with
	// how long it waits for them in all (negative: as long as it takes).
	OnWaitReaders func(timeout time.Duration)
	// OnReadingSnapshot, when set, is called by Open when a reader of a
	// local state found the lock held and reads the copy its holder
	// published (see Local.ReadingSnapshot), so that it can say so.
	OnReadingSnapshot func(*SnapshotInfo)
	// FullCheck makes a reader run bbolt's consistency check on opening,
	// as a writer does (see checkOnOpen); the tests' reference path.
	FullCheck bool
}

// Local is the local state backend: a bbolt file. It is safe for
// concurrent use.
type Local struct {
	path     string
	readOnly bool
	// db is nil only when the state was opened read-only and does not
	// exist.
	db *bolt.DB
	// lockInfo is the lock details file this Local wrote; "" for a reader.
	lockInfo string
	// snapshot is the copy a writer published for readers; "" for a
	// reader.
	snapshot string
	// fromSnapshot describes, for a reader that found the lock held, the
	// writer whose published copy it reads; nil when it reads the state.
	fromSnapshot *SnapshotInfo
	// check checks the pages a reader's reads reach before they read
	// them (pointcheck.go); nil when the whole file was checked on opening.
	check *fileCheck

	closeOnce sync.Once
	closeErr  error
	// closed is set as Close starts: check's file goes with the database.
	closed atomic.Bool

	// Group commit: concurrent CommitUpload and PutResource calls share
	// write transactions (see groupUpdate).
	groupMu    sync.Mutex
	pending    []*groupReq
	committing bool
	// expected counts the writes announced with ExpectWrites; kick wakes
	// the committer.
	expected     int
	kick         chan struct{}
	groupCommits atomic.Int64  // see GroupCommits
	groupWindow  time.Duration // when > 0, replaces groupWindow (tests)
}

var _ Backend = (*Local)(nil)

// OpenLocal opens the local state at path (DefaultPath when path is ""),
// creating it unless opts.ReadOnly is set, and takes its lock.
//
// When another wxmedia holds the lock past opts.LockTimeout, the error is a
// *LockedError wrapping ErrLocked. A file that is not a wxmedia state is
// refused with ErrCorrupt and left untouched.
func OpenLocal(path string, opts Options) (*Local, error) {
	if path == "" {
		path = DefaultPath
	}
	l := &Local{path: path, readOnly: opts.ReadOnly, kick: make(chan struct{}, 1)}
	if opts.ReadOnly {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return l, nil
		} else if err != nil {
			return nil, fmt.Errorf("open state %s: %w", path, err)
		}
	} else if err := createIfMissing(path); err != nil {
		return nil, err
	}

	// Before the lock, only what bbolt reads as it opens the file: the
	// meta pages, and for a writer the freelist.
	level := checkFreelist
	if opts.ReadOnly {
		level = checkMeta
	}
	if err := checkFile(path, level); err != nil {
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	bo := *bolt.DefaultOptions
	bo.ReadOnly = opts.ReadOnly
	// The checks below read the file bbolt opened, even if another took
	// its name meanwhile.
	var file *os.File
	bo.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		if err == nil {
			file = f
		}
		return f, err
	}
	var db *bolt.DB
	open := func(timeout time.Duration) error {
		o := bo
		o.Timeout = timeout
		return guard(path, func() (err error) {
			db, err = bolt.Open(path, 0o600, &o)
			return err
		})
	}
	// Try once; while another wxmedia holds the lock, a reader reads the
	// copy the writer holding it published, a command that waits for a
	// writer says so, and the wait is bounded as ReaderWait says.
	start := time.Now()
	if opts.ReadOnly {
		yieldToWriter(path, start)
	}
	err := open(time.Millisecond)
	byReader, noted, notedReaders := false, false, false
	var unmark func()
	for errors.Is(err, berrors.ErrTimeout) {
		if opts.ReadOnly {
			if r, ok := openPublished(path, opts); ok {
				return r, nil
			}
		}
		byReader = !opts.ReadOnly && heldByReaders(path)
		if byReader && unmark == nil {
			unmark = markWriterWaiting(path)
		}
		waited := time.Since(start)
		limit := opts.LockTimeout
		if byReader || opts.ReadOnly {
			limit = max(limit, ReaderWait)
		}
		if opts.LockTimeout >= 0 && waited >= limit {
			break
		}
		if byReader && !notedReaders && waited >= ReaderNote {
			notedReaders = true
			if opts.OnWaitReaders != nil {
				if opts.LockTimeout < 0 {
					opts.OnWaitReaders(-1)
				} else {
					opts.OnWaitReaders(limit)
				}
			}
		}
		if !byReader && opts.LockTimeout != 0 && !noted {
			noted = true
			if opts.OnWait != nil {
				opts.OnWait(readLockInfo(path), opts.LockTimeout)
			}
		}
		poll := 10 * time.Millisecond
		if waited > ReaderWait {
			poll = 50 * time.Millisecond
		}
		time.Sleep(min(poll, max(limit-waited, time.Millisecond)))
		err = open(time.Millisecond)
	}
	if unmark != nil {
		unmark()
	}
	switch {
	case errors.Is(err, berrors.ErrTimeout) && byReader:
		return nil, &LockedError{Path: path, Reader: true, Waited: max(opts.LockTimeout, ReaderWait)}
	case errors.Is(err, berrors.ErrTimeout):
		return nil, &LockedError{Path: path, Holder: readLockInfo(path), Waited: max(opts.LockTimeout, 0)}
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
		return nil, fmt.Errorf("open state %s: %w: %w", path, ErrCorrupt, err)
	case err != nil:
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	// A copy left by a writer that crashed describes an older state: it
	// goes first, and the writer publishes a fresh one once ready.
	if !opts.ReadOnly {
		if err := os.Remove(SnapshotPath(path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			db.Close()
			return nil, fmt.Errorf("open state %s: remove a stale copy: %w", path, err)
		}
	}
	// Now that the lock is held, no writer changes the file: check all of
	// it before reading it (see checkOnOpen); a reader only what opening
	// it reads, and the rest as its reads need it (pointcheck.go).
	if opts.ReadOnly && !opts.FullCheck {
		err = guard(path, func() (err error) {
			l.check, err = newFileCheck(file)
			return err
		})
	} else {
		err = guard(path, func() error {
			fi, err := file.Stat()
			if err == nil {
				_, err = checkOpened(file, fi.Size(), checkTree)
			}
			return err
		})
	}
	if err == nil {
		err = guard(path, func() error { return validate(db, path, checkOnOpen(opts)) })
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	l.db = db
	if !opts.ReadOnly {
		if err := guard(path, func() error { return upgrade(db) }); err != nil {
			db.Close()
			return nil, fmt.Errorf("open state %s: upgrade to schema version %d: %w", path, SchemaVersion, err)
		}
		if err := writeLockInfo(path, opts.Command); err != nil {
			db.Close()
			return nil, fmt.Errorf("open state %s: record lock holder: %w", path, err)
		}
		l.lockInfo = lockInfoPath(path)
		if err := publishSnapshot(db, path); err != nil {
			db.Close()
			os.Remove(l.lockInfo)
			return nil, fmt.Errorf("open state %s: publish a copy for readers: %w", path, err)
		}
		l.snapshot = SnapshotPath(path)
	}
	return l, nil
}

// Path returns the state file's path.
func (l *Local) Path() string { return l.path }

// Close rewrites the resources in order when many were recorded out of
// order (see compactScattered), removes the lock details this Local
// recorded, then closes the state, releasing its lock. Closing twice is
// harmless.
func (l *Local) Close() error {
	l.closeOnce.Do(func() {
		l.closed.Store(true)
		var errs []error
		if l.db != nil && !l.readOnly {
			if err := guard(l.path, func() error { return compactScattered(l.db) }); err != nil {
				errs = append(errs, fmt.Errorf("rewrite the resources of state %s in order: %w", l.path, err))
			}
		}
		// The published copy and the details go before the lock: once it
		// is released, they may already be the next holder's.
		if l.snapshot != "" {
			if err := os.Remove(l.snapshot); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("remove the copy published for readers: %w", err))
			}
		}
		if l.lockInfo != "" {
			if err := os.Remove(l.lockInfo); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("remove lock details: %w", err))
			}
		}
		if l.db != nil {
			if err := l.db.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close state %s: %w", l.path, err))
			}
		}
		l.closeErr = errors.Join(errs...)
	})
	return l.closeErr
}
