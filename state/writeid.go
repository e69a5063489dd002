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
// big-endian). A write by a wxmedia that does not know the key bumps the
// serial and leaves the key alone; the serial it holds then differs from
// the state's, and the state has no write identifier until its next write.
var keyWriteID = []byte("write_id")

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
	return meta.Put(keyWriteID, v)
}

// writeIDOf returns the write identifier of the state of meta, "" when it
// has none for its current serial.
func writeIDOf(meta *bolt.Bucket) string {
	v := meta.Get(keyWriteID)
	if len(v) != 24 || binary.BigEndian.Uint64(v[16:]) != getUint64(meta, keySerial) {
		return ""
	}
	return hex.EncodeToString(v[:16])
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
