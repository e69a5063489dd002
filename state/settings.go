package state

import "fmt"

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

// Open opens the state the settings name: see OpenLocal and OpenPostgres.
func Open(s Settings, opts Options) (Backend, error) {
	switch s.Type {
	case TypeLocal, "":
		st, err := OpenLocal(s.Path, opts)
		if err != nil {
			return nil, err
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
