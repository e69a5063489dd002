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
	err := l.view(func(tx *bolt.Tx) (err error) {
		h, err = headTx(tx, true)
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
	h.PlanKey = bytes.Clone(meta.Get(keyPlanKey))
	sealed := isSealed(tx)
	err := tx.Bucket(bucketOutputs).ForEach(func(k, v []byte) error {
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

// resourceCount returns the number of resources recorded in tx. From
// schema version 3 on, every writer keeps keyResourceCount exact (the
// upgrade to version 3 rewrites the resources and sets it), so it is read
// from there; an older state, which only readers have opened since, is
// counted key by key, without decoding the records.
func resourceCount(tx *bolt.Tx) (int, error) {
	if isSealed(tx) {
		n := getUint64(tx.Bucket(bucketMeta), keyResourceCount)
		if n > math.MaxInt32 {
			return 0, fmt.Errorf("%w: a resource count of %d", ErrCorrupt, n)
		}
		return int(n), nil
	}
	n := 0
	c := tx.Bucket(bucketResources).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	return n, nil
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
	var serial uint64
	err := l.view(func(tx *bolt.Tx) error {
		serial = binary.BigEndian.Uint64(tx.Bucket(bucketMeta).Get(keySerial))
		sealed := isSealed(tx)
		b := tx.Bucket(bucketResources)
		var dec resourceDecoder
		for _, a := range sorted {
			if a == "" {
				continue
			}
			key := []byte(a)
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
