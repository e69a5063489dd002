//go:build !linux

package state

import bolt "go.etcd.io/bbolt"

// releasePages does nothing here: see decode_linux.go.
func releasePages(*bolt.Tx) {}

// releaseMapped does nothing here: see decode_linux.go.
func releaseMapped([]byte, uint64, uint64) {}
