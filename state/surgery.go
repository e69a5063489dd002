package state

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"

	bolt "go.etcd.io/bbolt"
)

// MoveResource renames the resource recorded at from to to.Address in one
// write transaction: MoveResources with that one move. See
// Backend.MoveResource.
func (l *Local) MoveResource(from string, to Resource) error {
	return l.MoveResources([]Move{{From: from, To: to}})
}

// Move is one move of MoveResources: the resource recorded at From is
// recorded as To, at To.Address.
type Move struct {
	From string
	To   Resource
}

// MoveResources does moves in one write transaction. See
// Backend.MoveResources.
func (l *Local) MoveResources(moves []Move) error {
	if len(moves) == 0 {
		return nil
	}
	values, err := moveValues(moves)
	if err != nil {
		return err
	}
	return l.update(movesWhat(moves), func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketResources)
		for i, m := range moves {
			if err := checkMove(m.From, m.To.Address, b.Get([]byte(m.From)) != nil, b.Get([]byte(m.To.Address)) != nil); err != nil {
				return &MoveError{From: m.From, To: m.To.Address, Err: err}
			}
			if err := b.Delete([]byte(m.From)); err != nil {
				return err
			}
			if err := b.Put([]byte(m.To.Address), values[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// MoveError says which move of a batch (MoveResources) was refused; Err
// wraps ErrNotFound or ErrExists.
type MoveError struct {
	From, To string
	Err      error
}

func (e *MoveError) Error() string { return e.Err.Error() }
func (e *MoveError) Unwrap() error { return e.Err }

// movesWhat names a batch of moves in errors: as MoveResource does when
// there is one, else by the first and the count.
func movesWhat(moves []Move) string {
	if len(moves) == 1 {
		return fmt.Sprintf("move %s to %s", moves[0].From, moves[0].To.Address)
	}
	return fmt.Sprintf("move %d resources (%s to %s, ...)", len(moves), moves[0].From, moves[0].To.Address)
}

// moveValues checks every destination record and encodes it.
func moveValues(moves []Move) ([][]byte, error) {
	values := make([][]byte, len(moves))
	for i, m := range moves {
		err := checkResource(m.To)
		if err == nil {
			values[i], err = resourceValue(m.To)
		}
		if err != nil {
			return nil, moveRefused(moves, i, err)
		}
	}
	return values, nil
}

// checkMoves checks every destination record.
func checkMoves(moves []Move) error {
	for i, m := range moves {
		if err := checkResource(m.To); err != nil {
			return moveRefused(moves, i, err)
		}
	}
	return nil
}

// moveRefused wraps err, why the destination record of moves[i] is
// refused, in the batch's name (movesWhat), and for a batch of more than
// one move in the move's name too.
func moveRefused(moves []Move, i int, err error) error {
	if len(moves) == 1 {
		return fmt.Errorf("%s: %w", movesWhat(moves), err)
	}
	return fmt.Errorf("%s: move %s to %s: %w", movesWhat(moves), moves[i].From, moves[i].To.Address, err)
}

// checkMove refuses to move a resource that is not in the state, or onto
// an address another resource takes; moving one onto its own address is
// allowed.
func checkMove(from, to string, fromExists, toExists bool) error {
	if !fromExists {
		return fmt.Errorf("%s %w", from, ErrNotFound)
	}
	if to != from && toExists {
		return fmt.Errorf("%s is %w", to, ErrExists)
	}
	return nil
}

// PutCache records cache entries without touching resources, in one write
// transaction. Without entries it does nothing.
func (l *Local) PutCache(entries ...CacheEntry) error {
	const what = "record cache entries"
	if len(entries) == 0 {
		return nil
	}
	values := make([][]byte, len(entries))
	for i, e := range entries {
		if err := checkCacheEntry(e); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		v, err := cacheValue(e)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		values[i] = v
	}
	return l.update(what, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCache)
		for i, e := range entries {
			if err := b.Put(cacheKeyBytes(e.CacheKey), values[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// errNothingRemoved aborts RemoveCache's transaction, so that the serial
// stays as it is when no entry matched.
var errNothingRemoved = errors.New("no cache entry matched")

// removedCount is what RemoveCache returns once its write is done: n, or
// 0 and no error when nothing matched and the write was rolled back.
func removedCount(n int, err error) (int, error) {
	if errors.Is(err, errNothingRemoved) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}

// RemoveCache removes every cache entry f matches, in one write
// transaction, and returns how many it removed. When none matches, nothing
// is written and the serial stays as it is.
func (l *Local) RemoveCache(f CacheFilter) (int, error) {
	const what = "remove cache entries"
	if l.db == nil {
		if l.readOnly {
			return 0, fmt.Errorf("%s: %w", what, ErrReadOnly)
		}
		return 0, nil
	}
	n := 0
	err := l.update(what, func(tx *bolt.Tx) error {
		n = 0
		b := tx.Bucket(bucketCache)
		sealed := isSealed(tx)
		var doomed [][]byte
		err := b.ForEach(func(k, v []byte) error {
			e, err := decodeCacheEntry(k, v, sealed)
			if err != nil {
				return err
			}
			if f.Match(e.CacheKey) {
				doomed = append(doomed, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range doomed {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(doomed)
		if n == 0 {
			return errNothingRemoved
		}
		return nil
	})
	return removedCount(n, err)
}

// Export reads the whole state, cache included, in one read transaction.
// See Backend.Export.
func (l *Local) Export() (*Export, error) {
	doc := emptyExport()
	if l.db == nil {
		return doc, nil
	}
	err := l.view(func(tx *bolt.Tx) error {
		s, err := snapshotTx(tx)
		if err != nil {
			return err
		}
		doc.Lineage, doc.Serial, doc.Outputs = s.Lineage, s.Serial, s.Outputs
		for _, r := range s.Resources {
			doc.Resources = append(doc.Resources, r)
		}
		sealed := isSealed(tx)
		// The cache bucket's keys sort by service, merchant ID, API and
		// SHA-256 already.
		return tx.Bucket(bucketCache).ForEach(func(k, v []byte) error {
			e, err := decodeCacheEntry(k, v, sealed)
			if err != nil {
				return err
			}
			doc.Cache = append(doc.Cache, e)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(doc.Resources, func(i, j int) bool { return doc.Resources[i].Address < doc.Resources[j].Address })
	return doc, nil
}

// CheckExport checks a state document as Push does before writing: its
// format version, every record, and that addresses are unique.
func CheckExport(doc *Export) error {
	if doc == nil {
		return fmt.Errorf("%w: no state document", ErrInvalid)
	}
	if doc.FormatVersion != ExportFormatVersion {
		return fmt.Errorf("state document has format version %d, this wxmedia reads %d: %w", doc.FormatVersion, ExportFormatVersion, ErrSchemaVersion)
	}
	seen := make(map[string]bool, len(doc.Resources))
	for _, r := range doc.Resources {
		if err := checkResource(r); err != nil {
			return err
		}
		if seen[r.Address] {
			return fmt.Errorf("%w: resource %s appears twice", ErrInvalid, r.Address)
		}
		seen[r.Address] = true
	}
	for name, o := range doc.Outputs {
		if err := checkOutput(name, o); err != nil {
			return err
		}
	}
	for _, e := range doc.Cache {
		if err := checkCacheEntry(e); err != nil {
			return err
		}
	}
	return nil
}

// Push replaces the resources and outputs with doc's and adds doc's cache
// entries, in one write transaction. See Backend.Push.
func (l *Local) Push(doc *Export, force bool) error {
	const what = "push state"
	if err := CheckExport(doc); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if l.db == nil {
		return fmt.Errorf("%s: %w", what, ErrReadOnly)
	}
	rvals := make([][]byte, len(doc.Resources))
	for i, r := range doc.Resources {
		v, err := resourceValue(r)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		rvals[i] = v
	}
	ovals := make(map[string][]byte, len(doc.Outputs))
	for name, o := range doc.Outputs {
		v, err := outputValue(name, o)
		if err != nil {
			return fmt.Errorf("%s: output %s: %w", what, name, err)
		}
		ovals[name] = v
	}
	cvals := make([][]byte, len(doc.Cache))
	for i, e := range doc.Cache {
		v, err := cacheValue(e)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		cvals[i] = v
	}
	if l.readOnly {
		return fmt.Errorf("%s: %w", what, ErrReadOnly)
	}
	err := guard(l.path, func() error {
		return l.db.Update(func(tx *bolt.Tx) error {
			meta := tx.Bucket(bucketMeta)
			lineage := string(meta.Get(keyLineage))
			serial := binary.BigEndian.Uint64(meta.Get(keySerial))
			if !force {
				empty := isEmpty(tx.Bucket(bucketResources)) && isEmpty(tx.Bucket(bucketOutputs)) && isEmpty(tx.Bucket(bucketCache))
				if err := checkPush(doc, lineage, serial, empty); err != nil {
					return err
				}
			}
			for _, name := range [][]byte{bucketResources, bucketOutputs} {
				if err := tx.DeleteBucket(name); err != nil {
					return err
				}
				if _, err := tx.CreateBucket(name); err != nil {
					return err
				}
			}
			// In address order into full pages, as rewriteResources writes.
			rb := tx.Bucket(bucketResources)
			rb.FillPercent = 1.0
			order := make([]int, len(doc.Resources))
			for i := range order {
				order[i] = i
			}
			sort.Slice(order, func(a, b int) bool { return doc.Resources[order[a]].Address < doc.Resources[order[b]].Address })
			for _, i := range order {
				if err := rb.Put([]byte(doc.Resources[i].Address), rvals[i]); err != nil {
					return err
				}
			}
			if err := meta.Delete(keyScattered); err != nil {
				return err
			}
			if err := setResourceCount(meta, uint64(len(doc.Resources))); err != nil {
				return err
			}
			ob := tx.Bucket(bucketOutputs)
			for name, v := range ovals {
				if err := ob.Put([]byte(name), v); err != nil {
					return err
				}
			}
			cb := tx.Bucket(bucketCache)
			for i, e := range doc.Cache {
				if err := cb.Put(cacheKeyBytes(e.CacheKey), cvals[i]); err != nil {
					return err
				}
			}
			if doc.Lineage != "" {
				if err := meta.Put(keyLineage, []byte(doc.Lineage)); err != nil {
					return err
				}
			}
			if err := meta.Put(keySerial, binary.BigEndian.AppendUint64(nil, max(serial, doc.Serial)+1)); err != nil {
				return err
			}
			return putWriteID(meta)
		})
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// checkPush refuses to push doc over a state with the given lineage and
// serial when it is another state (another lineage, unless the state is
// empty) or an older one (a lower serial). A forced push skips it.
func checkPush(doc *Export, lineage string, serial uint64, empty bool) error {
	if doc.Lineage != lineage && !empty {
		return fmt.Errorf("%w: the state has lineage %s, the pushed one %s", ErrLineage, lineage, orNone(doc.Lineage))
	}
	if doc.Serial < serial {
		return fmt.Errorf("%w: the state has serial %d, the pushed one %d", ErrSerialBehind, serial, doc.Serial)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func isEmpty(b *bolt.Bucket) bool {
	k, _ := b.Cursor().First()
	return k == nil
}

// ForceUnlockLocal releases the lock on the local state at path when its
// holder is gone: it takes the lock itself at once, which succeeds only when
// no process holds it, and removes the lock details a holder that died left
// behind. It returns those details (nil when none were left). When a live
// process holds the lock, it fails with a *LockedError and changes nothing;
// a missing state is an error satisfying errors.Is(err, fs.ErrNotExist).
func ForceUnlockLocal(path string) (*LockInfo, error) {
	if path == "" {
		path = DefaultPath
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("force-unlock %s: %w", path, err)
	}
	var stale *LockInfo
	if data, err := readLockFile(path); err == nil {
		var info LockInfo
		if json.Unmarshal(data, &info) == nil && info.PID > 0 {
			stale = &info
		}
	}
	l, err := OpenLocal(path, Options{Command: "force-unlock"})
	if err != nil {
		return nil, err
	}
	// Close removes the details OpenLocal just wrote over the stale ones.
	if err := l.Close(); err != nil {
		return nil, err
	}
	return stale, nil
}
