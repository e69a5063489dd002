package state

import (
	"bytes"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// view runs fn in a read transaction that may read the whole state (a
// reader walks the whole file first, see pointcheck.go). It is not called
// for a missing state.
func (l *Local) view(fn func(tx *bolt.Tx) error) error {
	return l.viewChecked((*fileCheck).all, fn)
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
	fn     func(g *groupTx) error
	done   chan error
	queued time.Time
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
	if err := addResourceCount(meta, g.added); err != nil {
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
	req := &groupReq{fn: fn, done: make(chan error, 1), queued: time.Now()}
	l.groupMu.Lock()
	l.pending = append(l.pending, req)
	if !l.committing {
		l.committing = true
		go l.commitGroups()
	} else if ready, _ := l.groupReady(); ready {
		l.kickCommitter()
	}
	l.groupMu.Unlock()
	if err := <-req.done; err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// ExpectWrites announces n more writes on their way to CommitUpload or
// PutResource (n < 0 withdraws announced writes: they are about to be
// made, or will not come). It implements WriteHinter.
func (l *Local) ExpectWrites(n int) {
	l.groupMu.Lock()
	l.expected = max(l.expected+n, 0)
	if l.committing && len(l.pending) > 0 {
		if ready, _ := l.groupReady(); ready {
			l.kickCommitter()
		}
	}
	l.groupMu.Unlock()
}

// WriteHinter is implemented by a state that commits concurrent writes in
// shared transactions (the local state). A writer that knows of writes on
// their way, independent of any commit (uploads on the network, each to
// be recorded once its reply verifies), announces them, so that a
// transaction waits for them rather than syncing for a few. It withdraws
// each as it is made, or when it will not come: a write announced and
// never withdrawn delays the others' commits by up to groupWindow.
type WriteHinter interface {
	ExpectWrites(n int)
}

var _ WriteHinter = (*Local)(nil)

// GroupCommits returns how many shared transactions have committed the
// writes of CommitUpload and PutResource since the state was opened (each
// syncs the file twice).
func (l *Local) GroupCommits() int64 { return l.groupCommits.Load() }

// kickCommitter wakes the committer waiting for its group to fill, once
// it is ready to commit: a write that leaves the group waiting does not
// wake it. Callers hold groupMu.
func (l *Local) kickCommitter() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// maxGroup bounds the writes of one group transaction.
const maxGroup = 256

// groupWindow bounds how long a write waits for others to join its
// transaction: only writes announced with ExpectWrites are waited for.
const groupWindow = 100 * time.Millisecond

// groupReady reports whether the queued writes should commit now, and if
// not, how long they may still wait. As soon as one transaction ends, the
// next commits whatever is queued (a classic group commit, with no idle
// timer), unless more writes are announced than are queued: then it waits
// until as many are queued as are still announced, so that a transaction
// holds about as many writes as the announced ones, and syncs once for
// them. The queued writes are then never more than about half of those
// not yet committed, so a writer that bounds those (apply bounds them at
// four times its parallelism) is never held at its bound waiting for a
// commit that waits for it. Callers hold groupMu.
func (l *Local) groupReady() (bool, time.Duration) {
	n := len(l.pending)
	if n >= maxGroup || n >= l.expected {
		return true, 0
	}
	window := groupWindow
	if l.groupWindow > 0 {
		window = l.groupWindow
	}
	wait := window - time.Since(l.pending[0].queued)
	return wait <= 0, wait
}

// commitGroups commits the queued writes, group after group, until none
// is left.
func (l *Local) commitGroups() {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		l.groupMu.Lock()
		if len(l.pending) == 0 {
			l.pending = nil
			l.committing = false
			l.groupMu.Unlock()
			return
		}
		if ready, wait := l.groupReady(); !ready {
			l.groupMu.Unlock()
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			select {
			case <-l.kick:
			case <-timer.C:
			}
			timer.Stop()
			continue
		}
		group := l.pending
		if len(group) > maxGroup {
			group = group[:maxGroup:maxGroup]
		}
		l.pending = l.pending[len(group):]
		l.groupMu.Unlock()
		l.groupCommits.Add(1)
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

// bumpSerial adds n to the serial and gives the state a new write
// identifier (Head.WriteID), in tx.
func bumpSerial(tx *bolt.Tx, n uint64) error {
	meta := tx.Bucket(bucketMeta)
	if err := addUint64(meta, keySerial, n); err != nil {
		return err
	}
	return putWriteID(meta)
}
