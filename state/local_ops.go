package state

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Snapshot reads the whole state in one read transaction. A missing state,
// opened read-only, reads as empty with Lineage "" and Serial 0.
func (l *Local) Snapshot() (*Snapshot, error) {
	s := &Snapshot{Resources: map[string]Resource{}, Outputs: map[string]Output{}}
	if l.db == nil {
		return s, nil
	}
	err := l.view(func(tx *bolt.Tx) (err error) {
		s, err = snapshotTx(tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// snapshotTx reads the whole state in tx: what Snapshot returns, and
// Export besides the cache.
func snapshotTx(tx *bolt.Tx) (*Snapshot, error) {
	h, err := headTx(tx, false)
	if err != nil {
		return nil, err
	}
	rs, err := decodeResources(tx.Bucket(bucketResources), getUint64(tx.Bucket(bucketMeta), keyResourceCount), isSealed(tx))
	if err != nil {
		return nil, err
	}
	return &Snapshot{Lineage: h.Lineage, Serial: h.Serial, WriteID: h.WriteID, Resources: rs, Outputs: h.Outputs, PlanKey: h.PlanKey}, nil
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
	ckeys := make([][]byte, len(keys))
	for i, k := range keys {
		ckeys[i] = cacheKeyBytes(k)
	}
	check := func(c *fileCheck) error { return c.keys(bucketCache, ckeys) }
	err := l.viewChecked(check, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCache)
		sealed := isSealed(tx)
		for i, k := range keys {
			v := b.Get(ckeys[i])
			if v == nil {
				continue
			}
			e, err := decodeCacheEntry(ckeys[i], v, sealed)
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
		return addResourceCount(tx.Bucket(bucketMeta), -removed)
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

// decodeCacheEntry decodes the cache entry stored under k; sealed says
// whether it carries a checksum.
func decodeCacheEntry(k, v []byte, sealed bool) (CacheEntry, error) {
	if sealed {
		p, err := unseal(k, v)
		if err != nil {
			return CacheEntry{}, fmt.Errorf("%w: cache entry %q: %w", ErrCorrupt, k, err)
		}
		v = p
	}
	e, err := unmarshalCacheEntry(v)
	if err != nil {
		return CacheEntry{}, fmt.Errorf("%w: cache entry %q: %w", ErrCorrupt, k, err)
	}
	if string(cacheKeyBytes(e.CacheKey)) != string(k) {
		return CacheEntry{}, fmt.Errorf("%w: cache entry %s stored under key %q", ErrCorrupt, keyString(e.CacheKey), k)
	}
	return e, nil
}
