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
