package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// NoStateError is a state that a command changing it found never written:
// nothing was applied there. Where names it (Settings.Where).
type NoStateError struct{ Where string }

func (e *NoStateError) Error() string {
	return fmt.Sprintf("no state in %s: nothing has been applied here", e.Where)
}

// OpenExisting opens for writing, with its lock, the state s names when it
// was ever written (Exists), for commands that change a state but never
// create one (state rm, mv, cache rm); a *NoStateError otherwise.
func OpenExisting(s Settings, opts Options) (Backend, error) {
	if ok, err := Exists(s); err != nil {
		return nil, err
	} else if !ok {
		return nil, &NoStateError{Where: s.Where()}
	}
	opts.ReadOnly = false
	return Open(s, opts)
}

// OpenToRead opens read-only the state s names when there is something to
// read, and returns nil and no error when there is not: a state never
// written is not opened, unless sharedCache is set and the state is a
// postgres one, whose database's content cache, shared by every state
// there, may hold entries before this state does.
func OpenToRead(s Settings, opts Options, sharedCache bool) (Backend, error) {
	if !sharedCache || s.Type != TypePostgres {
		if ok, err := Exists(s); err != nil || !ok {
			return nil, err
		}
	}
	opts.ReadOnly = true
	return Open(s, opts)
}

// ReadSnapshot reads the state s names without taking the writer's lock
// (see Options.ReadOnly). A local state that does not exist reads as empty
// without being opened. lookup reads the state's content cache until
// closeState is called; it is nil for an empty local state.
func ReadSnapshot(s Settings, opts Options) (snap *Snapshot, lookup func([]CacheKey) (map[CacheKey]CacheEntry, error), closeState func(), err error) {
	if ok, path := s.local(); ok {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return &Snapshot{Resources: map[string]Resource{}, Outputs: map[string]Output{}}, nil, func() {}, nil
		}
	}
	opts.ReadOnly = true
	st, err := Open(s, opts)
	if err != nil {
		return nil, nil, nil, err
	}
	if snap, err = st.Snapshot(); err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	return snap, st.LookupCache, func() { st.Close() }, nil
}
