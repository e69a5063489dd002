package state

import (
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"
)

// Identity names the state the settings give by its non-secret parts only,
// for machine-local files derived from one state (the plan's no-op index)
// to say which state they were made from: a local state's absolute path,
// with symbolic links resolved when it exists;
// a postgres state's host, port, database and schema. It never holds
// anything taken from a password or another credential of the connection
// string, which it parses only to find those parts.
func (s Settings) Identity() (string, error) {
	if ok, path := s.local(); ok {
		abs, err := filepath.Abs(path)
		if err != nil {
			return "", fmt.Errorf("naming the state: %w", err)
		}
		// One name however the directory was reached (a symbolic link
		// in the working directory's path, say).
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
		return "local:" + abs, nil
	}
	if s.Type != TypePostgres {
		return "", fmt.Errorf("naming the state: unknown backend type %q", s.Type)
	}
	cfg, err := pgconn.ParseConfig(s.ConnStr)
	if err != nil {
		// pgconn's error redacts the password; it is not shown anyway.
		return "", fmt.Errorf("naming the state: the connection string does not parse")
	}
	schema := s.SchemaName
	if schema == "" {
		schema = DefaultPostgresSchema
	}
	return "postgres:" + strconv.Quote(cfg.Host) + ":" + strconv.Itoa(int(cfg.Port)) + "/" + strconv.Quote(cfg.Database) + "/" + strconv.Quote(schema), nil
}
