package state

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// keyWriteID holds the local state's write identifier (Head.WriteID): 16
// random bytes, then the serial they were written at (8 bytes,
// big-endian), then a CRC-32C (damage.go's recordSum) of those and of the
// lineage, so that a flipped bit in the lineage is found by the reads of
// the head. A write by a wxmedia that does not know the key bumps the
// serial and leaves the key alone; the serial it holds then differs from
// the state's, and the state has no write identifier (and its lineage no
// checksum) until its next write.
var keyWriteID = []byte("write_id")

// writeIDSize is the size of keyWriteID's value.
const writeIDSize = 16 + 8 + sumSize

// newWriteID returns a fresh random 128-bit write identifier.
func newWriteID() ([16]byte, error) {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return id, fmt.Errorf("make write identifier: %w", err)
	}
	return id, nil
}

// putWriteID gives the state of meta a new write identifier, for its
// current serial; every write transaction that changes the serial calls it
// after changing it.
func putWriteID(meta *bolt.Bucket) error {
	id, err := newWriteID()
	if err != nil {
		return err
	}
	v := binary.BigEndian.AppendUint64(id[:], getUint64(meta, keySerial))
	v = binary.LittleEndian.AppendUint32(v, writeIDSum(v, meta.Get(keyLineage)))
	return meta.Put(keyWriteID, v)
}

// writeIDSum is the checksum of a write identifier and serial (payload)
// with the lineage.
func writeIDSum(payload, lineage []byte) uint32 {
	return recordSum(keyWriteID, append(payload[:24:24], lineage...))
}

// writeIDOf returns the write identifier of the state of meta, "" when it
// has none for its current serial, and an error wrapping ErrCorrupt when
// its checksum (which covers the lineage) does not match.
func writeIDOf(meta *bolt.Bucket) (string, error) {
	v := meta.Get(keyWriteID)
	if len(v) != writeIDSize || binary.BigEndian.Uint64(v[16:]) != getUint64(meta, keySerial) {
		return "", nil
	}
	if binary.LittleEndian.Uint32(v[24:]) != writeIDSum(v[:24], meta.Get(keyLineage)) {
		return "", fmt.Errorf("%w: the lineage or write identifier: %w", ErrCorrupt, errChecksum)
	}
	return hex.EncodeToString(v[:16]), nil
}

// newWriteIDText returns a fresh write identifier as the postgres backend
// keeps it: lowercase hex.
func newWriteIDText() (string, error) {
	id, err := newWriteID()
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(id[:]), nil
}
