package state

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// A state whose resources were recorded out of order is read more slowly:
// bbolt splits a full page in two half-empty ones to insert between its
// records, and a snapshot then reads twice the pages, spread over the
// file. Apply records identifiers as uploads finish, a little out of order,
// so a writer counts such records (keyScattered) and, when closing, once
// there are at least minScattered of them and one for every
// scatteredPerResource resources, rewrites the resources bucket in order
// into full pages.
const (
	minScattered         = 64
	scatteredPerResource = 64
)

// compactScattered rewrites the resources in order when the scattered
// count calls for it (see minScattered).
func compactScattered(db *bolt.DB) error {
	var scattered, resources uint64
	if err := db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		scattered, resources = getUint64(meta, keyScattered), getUint64(meta, keyResourceCount)
		return nil
	}); err != nil {
		return err
	}
	if scattered < minScattered || scattered*scatteredPerResource < resources {
		return nil
	}
	return db.Update(func(tx *bolt.Tx) error { return rewriteResources(tx, true) })
}

// upgrade brings a state of an older schema version to SchemaVersion, and
// gives it a plan key if it has none, a resource count with a checksum
// if it has none that agrees (countKnown), and a write identifier for its
// serial if it has none (a state last written by a wxmedia that did not
// keep one), in one write transaction, which leaves the serial alone: what
// the state records stays the same, only its form changes.
func upgrade(db *bolt.DB) error {
	var version uint64
	var hasKey, hasSum, hasCount, hasWriteID bool
	if err := db.View(func(tx *bolt.Tx) error {
		version = getUint64(tx.Bucket(bucketMeta), keySchema)
		id, err := writeIDOf(tx.Bucket(bucketMeta))
		if err != nil {
			return err
		}
		hasWriteID = id != ""
		hasKey = len(tx.Bucket(bucketMeta).Get(keyPlanKey)) > 0
		hasSum = tx.Bucket(bucketMeta).Get(keySchemaSum) != nil
		_, hasCount = countKnown(tx)
		return nil
	}); err != nil {
		return err
	}
	if version >= SchemaVersion && hasKey && hasSum && hasCount && hasWriteID {
		return nil
	}
	return db.Update(func(tx *bolt.Tx) error {
		if !hasWriteID {
			if err := putWriteID(tx.Bucket(bucketMeta)); err != nil {
				return err
			}
		}
		if !hasKey {
			key, err := newPlanKey()
			if err != nil {
				return err
			}
			if err := tx.Bucket(bucketMeta).Put(keyPlanKey, key); err != nil {
				return err
			}
		}
		if version >= SchemaVersion {
			if !hasCount {
				n, err := resourceCount(tx)
				if err != nil {
					return err
				}
				if err := setResourceCount(tx.Bucket(bucketMeta), uint64(n)); err != nil {
					return err
				}
			}
			return putSchemaVersion(tx.Bucket(bucketMeta))
		}
		if err := rewriteResources(tx, false); err != nil {
			return err
		}
		if err := sealBucket(tx, bucketCache, func(k, v []byte) error {
			_, err := decodeCacheEntry(k, v, false)
			return err
		}); err != nil {
			return err
		}
		if err := sealBucket(tx, bucketOutputs, func(k, v []byte) error {
			_, err := decodeOutput(k, v, false)
			return err
		}); err != nil {
			return err
		}
		return putSchemaVersion(tx.Bucket(bucketMeta))
	})
}

// putSchemaVersion records SchemaVersion in meta, with its checksum.
func putSchemaVersion(meta *bolt.Bucket) error {
	v := binary.BigEndian.AppendUint64(nil, SchemaVersion)
	if err := meta.Put(keySchema, v); err != nil {
		return err
	}
	return meta.Put(keySchemaSum, seal(keySchema, v))
}

// checkSchemaVersion checks the schema version v read from meta against
// its checksum. A state written before the checksum existed has none: it
// is accepted up to this wxmedia's own version, and a newer version
// without it can only be damage, since every version from 3 on writes it.
func checkSchemaVersion(meta *bolt.Bucket, v []byte) error {
	s := meta.Get(keySchemaSum)
	if s == nil {
		if binary.BigEndian.Uint64(v) > SchemaVersion {
			return fmt.Errorf("%w: schema version %d has no checksum", ErrCorrupt, binary.BigEndian.Uint64(v))
		}
		return nil
	}
	p, err := unseal(keySchema, s)
	if err != nil || !bytes.Equal(p, v) {
		return fmt.Errorf("%w: the schema version does not match its checksum", ErrCorrupt)
	}
	return nil
}

// sealBucket adds a checksum to every value of the named bucket, after
// check accepts it, for the upgrade to schema version 3.
func sealBucket(tx *bolt.Tx, name []byte, check func(k, v []byte) error) error {
	b := tx.Bucket(name)
	var keys, values [][]byte
	if err := b.ForEach(func(k, v []byte) error {
		if err := check(k, v); err != nil {
			return err
		}
		keys = append(keys, bytes.Clone(k))
		values = append(values, seal(k, bytes.Clone(v)))
		return nil
	}); err != nil {
		return err
	}
	for i, k := range keys {
		if err := b.Put(k, values[i]); err != nil {
			return err
		}
	}
	return nil
}

// rewriteResources replaces the resources bucket with one holding the same
// resources, written in order into full pages, each record in the form
// resourceValue gives (JSON records of schema version 1 become binary, and
// records without a checksum get one), and resets the scattered count.
// sealed says whether the records read carry checksums. The serial is
// left alone.
func rewriteResources(tx *bolt.Tx, sealed bool) error {
	var keys, values [][]byte
	var dec resourceDecoder
	err := tx.Bucket(bucketResources).ForEach(func(k, v []byte) error {
		var r Resource
		if err := dec.decodeValue(k, v, sealed, &r); err != nil {
			return fmt.Errorf("%w: resource %q: %w", ErrCorrupt, k, err)
		}
		if r.Address != string(k) {
			return fmt.Errorf("%w: resource %q stored under %q", ErrCorrupt, r.Address, k)
		}
		if !sealed || v[0] != recordTag {
			nv, err := resourceValue(r)
			if err != nil {
				return fmt.Errorf("resource %q: %w", k, err)
			}
			v = nv
		} else {
			v = bytes.Clone(v)
		}
		keys = append(keys, bytes.Clone(k))
		values = append(values, v)
		return nil
	})
	if err != nil {
		return err
	}
	if err := tx.DeleteBucket(bucketResources); err != nil {
		return err
	}
	b, err := tx.CreateBucket(bucketResources)
	if err != nil {
		return err
	}
	b.FillPercent = 1.0
	for i, k := range keys {
		if err := b.Put(k, values[i]); err != nil {
			return err
		}
	}
	meta := tx.Bucket(bucketMeta)
	if err := setResourceCount(meta, uint64(len(keys))); err != nil {
		return err
	}
	return meta.Delete(keyScattered)
}

// addUint64 adds delta (modulo 2⁶⁴, so that adding -n subtracts n) to
// the counter at key in b; a zero delta writes nothing.
func addUint64(b *bolt.Bucket, key []byte, delta uint64) error {
	if delta == 0 {
		return nil
	}
	return b.Put(key, binary.BigEndian.AppendUint64(nil, getUint64(b, key)+delta))
}

// getUint64 reads a big-endian counter from b; absent or malformed is 0.
func getUint64(b *bolt.Bucket, key []byte) uint64 {
	v := b.Get(key)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}
