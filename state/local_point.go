package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// Head reads, in one read transaction, the meta and outputs buckets and
// the resource count: everything of the state but its resources and cache.
// A missing state, opened read-only, reads as an empty Head with Lineage "".
func (l *Local) Head() (*Head, error) {
	h := &Head{Outputs: map[string]Output{}}
	if l.db == nil {
		return h, nil
	}
	check := func(c *fileCheck) error { return c.bucketWhole(bucketOutputs) }
	err := l.viewChecked(check, func(tx *bolt.Tx) (err error) {
		_, known := countKnown(tx)
		if !known && l.check != nil {
			// The keys are counted one by one (resourceCount), over
			// the pages of the resources bucket only.
			if err := l.check.bucketWhole(bucketResources); err != nil {
				return err
			}
		}
		h, err = headTx(tx, true)
		if !known {
			// Counting read every page of the resources: they leave
			// this process's memory, as a snapshot's do.
			releasePages(tx)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// headTx reads the lineage, serial, plan key and outputs in tx, and with
// count set the resource count.
func headTx(tx *bolt.Tx, count bool) (*Head, error) {
	h := &Head{Outputs: map[string]Output{}}
	meta := tx.Bucket(bucketMeta)
	h.Lineage = string(meta.Get(keyLineage))
	h.Serial = binary.BigEndian.Uint64(meta.Get(keySerial))
	id, err := writeIDOf(meta)
	if err != nil {
		return nil, err
	}
	h.WriteID = id
	h.PlanKey = bytes.Clone(meta.Get(keyPlanKey))
	sealed := isSealed(tx)
	err = tx.Bucket(bucketOutputs).ForEach(func(k, v []byte) error {
		o, err := decodeOutput(k, v, sealed)
		if err != nil {
			return err
		}
		h.Outputs[string(k)] = o
		return nil
	})
	if err != nil {
		return nil, err
	}
	if count {
		n, err := resourceCount(tx)
		if err != nil {
			return nil, err
		}
		h.Resources = n
	}
	return h, nil
}

// resourceCount returns the number of resources recorded in tx: the
// count the writers keep (keyResourceCount) when its checksum
// (keyResourceCountSum) agrees with it; otherwise, for a state written
// by an older wxmedia or a damaged count, the keys counted one by one,
// without decoding the records, after the resources bucket's pages are
// checked (the caller sees to that: countKnown).
func resourceCount(tx *bolt.Tx) (int, error) {
	if n, ok := countKnown(tx); ok {
		return n, nil
	}
	n := 0
	c := tx.Bucket(bucketResources).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	return n, nil
}

// countKnown returns the resource count kept in tx's meta bucket, and
// whether it agrees with its checksum.
func countKnown(tx *bolt.Tx) (int, bool) {
	meta := tx.Bucket(bucketMeta)
	v, sum := meta.Get(keyResourceCount), meta.Get(keyResourceCountSum)
	p, err := unseal(keyResourceCount, sum)
	if err != nil || len(v) != 8 || !bytes.Equal(p, v) || binary.BigEndian.Uint64(v) > math.MaxInt32 {
		return 0, false
	}
	return int(binary.BigEndian.Uint64(v)), true
}

// setResourceCount records n resources in meta, with its checksum.
func setResourceCount(meta *bolt.Bucket, n uint64) error {
	v := binary.BigEndian.AppendUint64(nil, n)
	if err := meta.Put(keyResourceCount, v); err != nil {
		return err
	}
	return meta.Put(keyResourceCountSum, seal(keyResourceCount, v))
}

// addResourceCount adds delta (modulo 2⁶⁴, so that adding -n subtracts
// n) to the resource count in meta; a zero delta writes nothing.
func addResourceCount(meta *bolt.Bucket, delta uint64) error {
	if delta == 0 {
		return nil
	}
	return setResourceCount(meta, getUint64(meta, keyResourceCount)+delta)
}

// ReadResources reads the records at addrs in one read transaction, each
// by its own lookup, and returns them with the transaction's serial.
func (l *Local) ReadResources(addrs []string) (map[string]Resource, uint64, error) {
	rs := make(map[string]Resource, min(len(addrs), maxCountHint))
	if l.db == nil {
		return rs, 0, nil
	}
	// In key order, the lookups walk the tree's pages in file order.
	sorted := slices.Clone(addrs)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	keys := make([][]byte, len(sorted))
	for i, a := range sorted {
		keys[i] = []byte(a)
	}
	check := func(c *fileCheck) error { return c.keys(bucketResources, keys) }
	var serial uint64
	err := l.viewChecked(check, func(tx *bolt.Tx) error {
		serial = binary.BigEndian.Uint64(tx.Bucket(bucketMeta).Get(keySerial))
		sealed := isSealed(tx)
		b := tx.Bucket(bucketResources)
		var dec resourceDecoder
		for i, a := range sorted {
			if a == "" {
				continue
			}
			key := keys[i]
			v := b.Get(key)
			if v == nil {
				continue
			}
			var r Resource
			if err := dec.decodeValue(key, v, sealed, &r); err != nil {
				return fmt.Errorf("%w: resource %q: %w", ErrCorrupt, key, err)
			}
			if r.Address != a {
				return fmt.Errorf("%w: resource %q stored under %q", ErrCorrupt, r.Address, key)
			}
			rs[a] = r
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return rs, serial, nil
}

// viewChecked runs fn in a read transaction, after check, for a reader
// that has not walked the whole file, has checked the pages fn reads.
func (l *Local) viewChecked(check func(*fileCheck) error, fn func(tx *bolt.Tx) error) error {
	err := guard(l.path, func() error {
		// After Close, bbolt says the state is closed.
		if l.check != nil && !l.closed.Load() {
			if err := check(l.check); err != nil {
				return err
			}
		}
		return l.db.View(fn)
	})
	if err != nil {
		return fmt.Errorf("read state %s: %w", l.path, err)
	}
	return nil
}
