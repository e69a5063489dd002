package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Backend types, as a configuration's `wxmedia { backend "TYPE" { … } }`
// names them.
const (
	TypeLocal    = "local"
	TypePostgres = "postgres"
)

// Settings say where a state is kept: a backend block's evaluated
// arguments. ConnStr is a secret: it never reaches state, plans, output or
// logs.
type Settings struct {
	Type       string // TypeLocal (also when "") or TypePostgres
	Path       string // local: the state file; DefaultPath when ""
	ConnStr    string // postgres: a libpq connection string or URL
	SchemaName string // postgres: the schema holding the state; DefaultPostgresSchema when ""
}

// Open opens the state the settings name: see OpenLocal (at DefaultPath
// when Path is "") and OpenPostgres.
func Open(s Settings, opts Options) (Backend, error) {
	switch s.Type {
	case TypeLocal, "":
		_, path := s.local()
		st, err := OpenLocal(path, opts)
		if err != nil {
			return nil, err
		}
		if info := st.ReadingSnapshot(); info != nil && opts.OnReadingSnapshot != nil {
			opts.OnReadingSnapshot(info)
		}
		return st, nil
	case TypePostgres:
		st, err := OpenPostgres(s.ConnStr, s.SchemaName, opts)
		if err != nil {
			return nil, err
		}
		return st, nil
	}
	return nil, fmt.Errorf("open state: unknown backend type %q", s.Type)
}

// ReadOutputs reads the outputs of the state the settings name, for
// another configuration, never waiting for a writer: of a local state, the
// outputs file that apply publishes beside it (the state file itself may
// be locked by an apply); of a postgres state, the outputs as committed,
// read without a lock. A state never written gives an error satisfying
// errors.Is(err, fs.ErrNotExist).
func ReadOutputs(s Settings) (map[string]Output, error) {
	if s.Type == TypeLocal || s.Type == "" {
		path := s.Path
		if path == "" {
			path = DefaultPath
		}
		return ReadOutputsFile(OutputsPath(path))
	}
	if s.Type != TypePostgres {
		return nil, fmt.Errorf("read outputs: unknown backend type %q", s.Type)
	}
	st, err := OpenPostgres(s.ConnStr, s.SchemaName, Options{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return st.Outputs()
}

// local reports whether the settings name a local state, and its file.
func (s Settings) local() (bool, string) {
	if s.Type != TypeLocal && s.Type != "" {
		return false, ""
	}
	if s.Path == "" {
		return true, DefaultPath
	}
	return true, s.Path
}

// Where names the state for messages: the local state's file, or the
// postgres schema; never the connection string.
func (s Settings) Where() string {
	if ok, path := s.local(); ok {
		return path
	}
	name := s.SchemaName
	if name == "" {
		name = DefaultPostgresSchema
	}
	return fmt.Sprintf("postgres schema %q", name)
}

// Exists reports whether the state was ever written.
func Exists(s Settings) (bool, error) {
	if ok, path := s.local(); ok {
		_, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return err == nil, err
	}
	st, err := Open(s, Options{ReadOnly: true})
	if err != nil {
		return false, err
	}
	defer st.Close()
	snap, err := st.Snapshot()
	if err != nil {
		return false, err
	}
	return snap.Lineage != "", nil
}

// PublishOutputs writes the outputs file beside a local state, for other
// configurations to read while apply holds the lock (ReadOutputs). A
// postgres state needs none: its readers never wait for the lock.
func PublishOutputs(s Settings, outs map[string]Output) error {
	if ok, path := s.local(); ok {
		return WriteOutputsFile(OutputsPath(path), outs)
	}
	return nil
}

// ForceUnlock releases the state's lock. For a local state, only a lock
// whose holder is gone is released. For a postgres state, whose lock dies
// with its holder's session, the holder's session is ended (when lockID is
// given, only if it is that session's backend PID), which also stops it
// from writing. A state never written gives an error satisfying
// errors.Is(err, fs.ErrNotExist).
func ForceUnlock(s Settings, lockID int) (*LockInfo, error) {
	if ok, path := s.local(); ok {
		return ForceUnlockLocal(path)
	}
	if ok, err := Exists(s); err != nil {
		return nil, err
	} else if !ok {
		return nil, fmt.Errorf("force-unlock: %w", fs.ErrNotExist)
	}
	h, err := ForceUnlockPostgres(s.ConnStr, s.SchemaName, lockID)
	if err != nil || h == nil {
		return nil, err
	}
	return &h.LockInfo, nil
}
