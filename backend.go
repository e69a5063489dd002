package main

import (
	"errors"
	"io/fs"
	"os"
	"time"

	"github.com/wxmedia/wxmedia/state"
)

const (
	dataDir     = ".wxmedia"
	statePath   = dataDir + "/state.db"
	outputsPath = dataDir + "/outputs.json"
	sandboxDir  = dataDir + "/sandbox"
	// defaultSandboxMchID is the merchant a sandbox merchant block gets
	// when it names none.
	defaultSandboxMchID = "1900000001"
)

// openState opens the local state. Read-only opens of a missing state give
// an empty store.
func openState(readOnly bool, lockTimeout time.Duration, command string) (*state.Local, error) {
	st, err := state.OpenLocal(statePath, state.Options{LockTimeout: lockTimeout, ReadOnly: readOnly, Command: command})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// snapshot reads the state without taking the writer's lock; a missing
// state is empty.
func readSnapshot(lockTimeout time.Duration) (*state.Snapshot, func([]state.CacheKey) (map[state.CacheKey]state.CacheEntry, error), func(), error) {
	if _, err := os.Stat(statePath); errors.Is(err, fs.ErrNotExist) {
		empty := &state.Snapshot{Resources: map[string]state.Resource{}, Outputs: map[string]state.Output{}}
		return empty, nil, func() {}, nil
	}
	st, err := openState(true, lockTimeout, "plan")
	if err != nil {
		return nil, nil, nil, err
	}
	snap, err := st.Snapshot()
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	return snap, st.LookupCache, func() { st.Close() }, nil
}
