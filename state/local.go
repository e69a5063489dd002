package state

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
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
	// their maps by (8 bytes, big-endian; absent is 0). Only a hint: a
	// wrong count costs time, never a record.
	keyResourceCount = []byte("resource_count")
	// keyPlanKey is the state's secret for signing saved plans
	// (Snapshot.PlanKey): 32 random bytes, made with the state or by the
	// first writer of this version.
	keyPlanKey = []byte("plan_key")
)

// Options tunes OpenLocal.
type Options struct {
	// LockTimeout is how long to wait for another wxmedia to release the
	// state lock. Zero fails at once; a negative value waits as long as it
	// takes. The lock is polled every 50ms, so shorter waits are as good as
	// zero.
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

	closeOnce sync.Once
	closeErr  error

	// Group commit: concurrent CommitUpload and PutResource calls share
	// write transactions (see groupUpdate).
	groupMu    sync.Mutex
	pending    []*groupReq
	committing bool
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
	l := &Local{path: path, readOnly: opts.ReadOnly}
	if opts.ReadOnly {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return l, nil
		} else if err != nil {
			return nil, fmt.Errorf("open state %s: %w", path, err)
		}
	} else if err := createIfMissing(path); err != nil {
		return nil, err
	}

	if err := checkFile(path, false); err != nil {
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	bo := *bolt.DefaultOptions
	bo.ReadOnly = opts.ReadOnly
	switch {
	case opts.LockTimeout == 0:
		// bbolt waits forever on 0; any timeout below its polling interval
		// gives up after the first attempt.
		bo.Timeout = time.Millisecond
	case opts.LockTimeout > 0:
		bo.Timeout = opts.LockTimeout
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
	// Try once; when another wxmedia holds the lock, a reader reads the
	// copy that writer published, and a command that waits says so.
	err := open(time.Millisecond)
	if errors.Is(err, berrors.ErrTimeout) {
		if opts.ReadOnly {
			if r, ok := openPublished(path); ok {
				return r, nil
			}
		}
		if bo.Timeout != time.Millisecond {
			if opts.OnWait != nil {
				opts.OnWait(readLockInfo(path), opts.LockTimeout)
			}
			err = open(bo.Timeout)
		}
	}
	switch {
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
	// it before reading it (see checkOnOpen).
	err = guard(path, func() error { return checkFile(path, true) })
	if err == nil {
		err = guard(path, func() error { return validate(db, path, checkOnOpen(opts.ReadOnly)) })
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

// createIfMissing creates the state at path, and its directory with mode
// 0700, unless the state exists. The new state is built in a temporary file
// and linked into place, so the path never holds a partly written state.
func createIfMissing(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("open state %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create state directory %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".new-*")
	if err != nil {
		return fmt.Errorf("create state %s: %w", path, dirError(dir, err))
	}
	tmp := f.Name()
	f.Close()
	defer os.Remove(tmp)
	if err := initState(tmp); err != nil {
		return fmt.Errorf("create state %s: %w", path, err)
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // another wxmedia created it first
		}
		// A file system without hard links: rename instead, unless the
		// state appeared meanwhile.
		if _, statErr := os.Stat(path); statErr == nil {
			return nil
		}
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("create state %s: %w", path, err)
		}
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("create state %s: %w", path, err)
	}
	return nil
}

// initState writes an empty state, with a new lineage, into the empty file
// at path.
func initState(path string) error {
	lineage, err := newLineage()
	if err != nil {
		return err
	}
	bo := *bolt.DefaultOptions
	bo.Timeout = time.Millisecond
	db, err := bolt.Open(path, 0o600, &bo)
	if err != nil {
		return err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketResources, bucketCache, bucketOutputs} {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if err := putSchemaVersion(meta); err != nil {
			return err
		}
		if err := meta.Put(keyLineage, []byte(lineage)); err != nil {
			return err
		}
		key, err := newPlanKey()
		if err != nil {
			return err
		}
		if err := meta.Put(keyPlanKey, key); err != nil {
			return err
		}
		return meta.Put(keySerial, binary.BigEndian.AppendUint64(nil, 0))
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}

// newPlanKey returns a new secret for signing saved plans.
func newPlanKey() ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("make plan key: %w", err)
	}
	return key, nil
}

// newLineage returns a random version 4 UUID.
func newLineage() (string, error) {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return "", fmt.Errorf("make lineage: %w", err)
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16]), nil
}

// validate refuses a database that is not a wxmedia state this package can
// read. With full set it first runs bbolt's consistency check (checkTx).
func validate(db *bolt.DB, path string, full bool) error {
	return db.View(func(tx *bolt.Tx) error {
		if full {
			if err := checkTx(tx); err != nil {
				return err
			}
			// The check read every page: drop them from this process's
			// memory (see releasePages), as a snapshot does.
			releasePages(tx)
		}
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		if tx.Size() > fi.Size() {
			return fmt.Errorf("%w: file is truncated to %d bytes; its pages need %d", ErrCorrupt, fi.Size(), tx.Size())
		}
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return fmt.Errorf("%w: no %s bucket", ErrCorrupt, bucketMeta)
		}
		v := meta.Get(keySchema)
		if len(v) != 8 || binary.BigEndian.Uint64(v) == 0 {
			return fmt.Errorf("%w: no schema version", ErrCorrupt)
		}
		if err := checkSchemaVersion(meta, v); err != nil {
			return err
		}
		if n := binary.BigEndian.Uint64(v); n > SchemaVersion {
			return fmt.Errorf("%w: state has schema version %d, this wxmedia reads up to %d; upgrade wxmedia", ErrSchemaVersion, n, SchemaVersion)
		}
		if len(meta.Get(keyLineage)) == 0 {
			return fmt.Errorf("%w: no lineage", ErrCorrupt)
		}
		if len(meta.Get(keySerial)) != 8 {
			return fmt.Errorf("%w: no serial", ErrCorrupt)
		}
		for _, name := range [][]byte{bucketResources, bucketCache, bucketOutputs} {
			if tx.Bucket(name) == nil {
				return fmt.Errorf("%w: no %s bucket", ErrCorrupt, name)
			}
		}
		return nil
	})
}

// Path returns the state file's path.
func (l *Local) Path() string { return l.path }

// view runs fn in a read transaction. It is not called for a missing state.
func (l *Local) view(fn func(tx *bolt.Tx) error) error {
	if err := guard(l.path, func() error { return l.db.View(fn) }); err != nil {
		return fmt.Errorf("read state %s: %w", l.path, err)
	}
	return nil
}

// update runs fn in a write transaction that also increments the serial.
// bbolt syncs the file before the transaction's commit returns.
func (l *Local) update(what string, fn func(tx *bolt.Tx) error) error {
	if l.readOnly {
		return fmt.Errorf("%s: %w", what, ErrReadOnly)
	}
	err := guard(l.path, func() error {
		return l.db.Update(func(tx *bolt.Tx) error {
			if err := fn(tx); err != nil {
				return err
			}
			return bumpSerial(tx, 1)
		})
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// groupReq is one write waiting for a group commit.
type groupReq struct {
	fn   func(g *groupTx) error
	done chan error
}

// groupTx is a group transaction as its writes see it.
type groupTx struct {
	tx *bolt.Tx
	// resLast is the last key of the resources bucket when the transaction
	// began; nil when the bucket was empty.
	resLast []byte
	// scattered counts the new resources recorded before resLast; added
	// counts every new resource.
	scattered uint64
	added     uint64
}

// newGroupTx starts a group transaction's writes in tx. The resources
// bucket's pages are filled up rather than split in half (bbolt's
// FillPercent 1.0) unless putResource sees a key that does not sort
// after every recorded one.
func newGroupTx(tx *bolt.Tx) *groupTx {
	b := tx.Bucket(bucketResources)
	k, _ := b.Cursor().Last()
	b.FillPercent = 1.0
	return &groupTx{tx: tx, resLast: bytes.Clone(k)}
}

// putResource records a resource. An apply of new instances records
// addresses after all those in the state: full pages are then never
// written into again, and a densely written state is faster to read. Any
// other key (an update, or one that sorts between recorded ones) restores
// the default split for the whole transaction, so that inserting into a
// full page does not leave a trail of full pages that split again.
func (g *groupTx) putResource(key, value []byte) error {
	b := g.tx.Bucket(bucketResources)
	isNew := b.Get(key) == nil
	if isNew {
		g.added++
	}
	if g.resLast != nil && bytes.Compare(key, g.resLast) <= 0 {
		b.FillPercent = bolt.DefaultFillPercent
		if isNew {
			g.scattered++
		}
	}
	return b.Put(key, value)
}

// finish records what the transaction's writes did besides their own
// records: the serial, incremented by n, the scattered count and the
// resource count.
func (g *groupTx) finish(n uint64) error {
	meta := g.tx.Bucket(bucketMeta)
	if err := addUint64(meta, keyScattered, g.scattered); err != nil {
		return err
	}
	if err := addUint64(meta, keyResourceCount, g.added); err != nil {
		return err
	}
	return bumpSerial(g.tx, n)
}

// groupUpdate is update for small independent writes from many
// goroutines: the writes queued while a transaction commits are committed
// together in the next one, so one fsync serves many writes. Each write
// still increments the serial, and groupUpdate returns only once its own
// write is durable (or failed): grouping never reports a write before it is
// on disk. A write that fails is retried on its own, so that one write's
// error fails only that write.
func (l *Local) groupUpdate(what string, fn func(g *groupTx) error) error {
	if l.readOnly {
		return fmt.Errorf("%s: %w", what, ErrReadOnly)
	}
	req := &groupReq{fn: fn, done: make(chan error, 1)}
	l.groupMu.Lock()
	l.pending = append(l.pending, req)
	if !l.committing {
		l.committing = true
		go l.commitGroups()
	}
	l.groupMu.Unlock()
	if err := <-req.done; err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// maxGroup bounds the writes of one group transaction.
const maxGroup = 256

// A group stays open for more writes once writes are seen to come
// concurrently (more arrived while the previous group committed): until
// groupQuiet passes without a new write, the group holds maxGroup writes,
// or groupWindow has passed. A lone writer never waits. Fewer, larger
// transactions write and sync less per write.
const (
	groupQuiet  = 5 * time.Millisecond
	groupWindow = 100 * time.Millisecond
)

// gatherGroup waits while a group fills up (see groupWindow). Callers
// do not hold groupMu.
func (l *Local) gatherGroup() {
	deadline := time.Now().Add(groupWindow)
	l.groupMu.Lock()
	n := len(l.pending)
	l.groupMu.Unlock()
	for time.Now().Before(deadline) {
		time.Sleep(groupQuiet)
		l.groupMu.Lock()
		m := len(l.pending)
		l.groupMu.Unlock()
		if m == n || m >= maxGroup {
			return
		}
		n = m
	}
}

// commitGroups commits the queued writes, group after group, until none
// is left.
func (l *Local) commitGroups() {
	for first := true; ; first = false {
		l.groupMu.Lock()
		if len(l.pending) == 0 {
			l.pending = nil
			l.committing = false
			l.groupMu.Unlock()
			return
		}
		if !first {
			// More writes arrived while the last group committed: let the
			// others in flight join them.
			l.groupMu.Unlock()
			l.gatherGroup()
			l.groupMu.Lock()
		}
		group := l.pending
		if len(group) > maxGroup {
			group = group[:maxGroup:maxGroup]
		}
		l.pending = l.pending[len(group):]
		l.groupMu.Unlock()
		err := guard(l.path, func() error {
			return l.db.Update(func(tx *bolt.Tx) error {
				g := newGroupTx(tx)
				for _, r := range group {
					if err := r.fn(g); err != nil {
						return err
					}
				}
				return g.finish(uint64(len(group)))
			})
		})
		if err == nil || len(group) == 1 {
			for _, r := range group {
				r.done <- err
			}
			continue
		}
		for _, r := range group {
			r.done <- guard(l.path, func() error {
				return l.db.Update(func(tx *bolt.Tx) error {
					g := newGroupTx(tx)
					if err := r.fn(g); err != nil {
						return err
					}
					return g.finish(1)
				})
			})
		}
	}
}

func bumpSerial(tx *bolt.Tx, n uint64) error {
	return addUint64(tx.Bucket(bucketMeta), keySerial, n)
}

// Snapshot reads the whole state in one read transaction. A missing state,
// opened read-only, reads as empty with Lineage "" and Serial 0.
func (l *Local) Snapshot() (*Snapshot, error) {
	s := &Snapshot{Resources: map[string]Resource{}, Outputs: map[string]Output{}}
	if l.db == nil {
		return s, nil
	}
	err := l.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		s.Lineage = string(meta.Get(keyLineage))
		s.Serial = binary.BigEndian.Uint64(meta.Get(keySerial))
		s.PlanKey = bytes.Clone(meta.Get(keyPlanKey))
		sealed := isSealed(tx)
		rs, err := decodeResources(tx.Bucket(bucketResources), getUint64(meta, keyResourceCount), sealed)
		if err != nil {
			return err
		}
		s.Resources = rs
		return tx.Bucket(bucketOutputs).ForEach(func(k, v []byte) error {
			o, err := decodeOutput(k, v, sealed)
			if err != nil {
				return err
			}
			s.Outputs[string(k)] = o
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// LookupCache looks up keys in one read transaction and returns the entries
// found.
func (l *Local) LookupCache(keys []CacheKey) (map[CacheKey]CacheEntry, error) {
	hits := make(map[CacheKey]CacheEntry)
	for _, k := range keys {
		if err := checkCacheKey(k); err != nil {
			return nil, fmt.Errorf("look up cache: %w", err)
		}
	}
	if l.db == nil || len(keys) == 0 {
		return hits, nil
	}
	err := l.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCache)
		sealed := isSealed(tx)
		for _, k := range keys {
			v := b.Get(cacheKeyBytes(k))
			if v == nil {
				continue
			}
			e, err := decodeCacheEntry(cacheKeyBytes(k), v, sealed)
			if err != nil {
				return err
			}
			hits[k] = e
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return hits, nil
}

// ListCache returns every cache entry, sorted by service, merchant ID, API
// and SHA-256.
func (l *Local) ListCache() ([]CacheEntry, error) {
	var entries []CacheEntry
	if l.db == nil {
		return entries, nil
	}
	err := l.view(func(tx *bolt.Tx) error {
		sealed := isSealed(tx)
		return tx.Bucket(bucketCache).ForEach(func(k, v []byte) error {
			e, err := decodeCacheEntry(k, v, sealed)
			if err != nil {
				return err
			}
			entries = append(entries, e)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return entries, nil
}

// CommitUpload records a verified identifier: the resource and its cache
// entry, in one transaction synced to disk before CommitUpload returns. The
// resource must name the same service, merchant ID, API, SHA-256 and
// identifier as the entry.
func (l *Local) CommitUpload(r Resource, e CacheEntry) error {
	what := "commit upload of " + r.Address
	if err := checkCommit(r, e); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	rv, err := resourceValue(r)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	ev, err := cacheValue(e)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return l.groupUpdate(what, func(g *groupTx) error {
		if err := g.putResource([]byte(r.Address), rv); err != nil {
			return err
		}
		return g.tx.Bucket(bucketCache).Put(cacheKeyBytes(e.CacheKey), ev)
	})
}

// PutResource records a resource without touching the cache.
func (l *Local) PutResource(r Resource) error {
	what := "record resource " + r.Address
	if err := checkResource(r); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	rv, err := resourceValue(r)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return l.groupUpdate(what, func(g *groupTx) error {
		return g.putResource([]byte(r.Address), rv)
	})
}

// RemoveResources removes the resources at addrs in one transaction;
// addresses not in the state are ignored. Without addresses it does
// nothing and leaves the serial alone.
func (l *Local) RemoveResources(addrs ...string) error {
	if len(addrs) == 0 {
		return nil
	}
	return l.update("remove resources", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketResources)
		removed := uint64(0)
		for _, a := range addrs {
			if a == "" || b.Get([]byte(a)) == nil {
				continue
			}
			if err := b.Delete([]byte(a)); err != nil {
				return err
			}
			removed++
		}
		return addUint64(tx.Bucket(bucketMeta), keyResourceCount, -removed)
	})
}

// SetOutputs replaces all outputs in one transaction.
func (l *Local) SetOutputs(outputs map[string]Output) error {
	const what = "record outputs"
	values := make(map[string][]byte, len(outputs))
	for name, o := range outputs {
		if err := checkOutput(name, o); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		v, err := outputValue(name, o)
		if err != nil {
			return fmt.Errorf("%s: output %s: %w", what, name, err)
		}
		values[name] = v
	}
	return l.update(what, func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketOutputs); err != nil {
			return err
		}
		b, err := tx.CreateBucket(bucketOutputs)
		if err != nil {
			return err
		}
		for name, v := range values {
			if err := b.Put([]byte(name), v); err != nil {
				return err
			}
		}
		return nil
	})
}

// Close rewrites the resources in order when many were recorded out of
// order (see compactScattered), removes the lock details this Local
// recorded, then closes the state, releasing its lock. Closing twice is
// harmless.
func (l *Local) Close() error {
	l.closeOnce.Do(func() {
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

// decodeCacheEntry decodes the cache entry stored under k; sealed says
// whether it carries a checksum.
func decodeCacheEntry(k, v []byte, sealed bool) (CacheEntry, error) {
	var e CacheEntry
	if sealed {
		p, err := unseal(k, v)
		if err != nil {
			return CacheEntry{}, fmt.Errorf("%w: cache entry %q: %w", ErrCorrupt, k, err)
		}
		v = p
	}
	if err := json.Unmarshal(v, &e); err != nil {
		return CacheEntry{}, fmt.Errorf("%w: cache entry %q: %w", ErrCorrupt, k, err)
	}
	if string(cacheKeyBytes(e.CacheKey)) != string(k) {
		return CacheEntry{}, fmt.Errorf("%w: cache entry %s stored under key %q", ErrCorrupt, keyString(e.CacheKey), k)
	}
	return e, nil
}
