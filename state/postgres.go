package state

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultPostgresSchema is the schema holding a configuration's state when
// its postgres backend names none.
const DefaultPostgresSchema = "wxmedia"

// PostgresCacheSchema is the schema holding the content cache that every
// state in a database shares. No state may use it as its schema_name.
const PostgresCacheSchema = "wxmedia_cache"

// schemaNameRE is what a schema_name may look like: a PostgreSQL identifier
// that needs no quoting rules beyond the ordinary ones.
var schemaNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// Postgres is the postgres state backend. Each state lives in a schema of
// its own (schema_name); the content cache lives in PostgresCacheSchema and
// is shared by every state in the database. It is safe for concurrent use.
//
// A writer holds a session-level advisory lock, keyed by the schema name, on
// a dedicated connection, and sends every write through that connection: if
// the session ends, the lock goes with it and no later write can succeed
// without it. A crashed writer's lock is released by the server when its
// session ends. Readers take no lock: they read in REPEATABLE READ
// transactions and never wait for a writer.
type Postgres struct {
	schema   string
	where    string
	readOnly bool
	secrets  []string

	// pool serves reads.
	pool *pgxpool.Pool
	// exists is false only for a reader of a state whose tables are not
	// there yet; such a state reads as empty.
	exists bool
	// cacheExists is false only for a reader of a database without the
	// shared cache tables.
	cacheExists bool
	// stateVersion and cacheVersion are the schemas' versions: the
	// migrations applied.
	stateVersion int
	cacheVersion int

	// mu serialises the writes on conn, which holds the state lock; conn
	// is nil for a reader.
	mu   sync.Mutex
	conn *pgx.Conn

	closeOnce sync.Once
	closeErr  error
}

var _ Backend = (*Postgres)(nil)

// OpenPostgres opens the state in schema schemaName (DefaultPostgresSchema
// when "") of the database at connStr, a libpq connection string or URL.
// Unless opts.ReadOnly is set it creates or migrates the tables and takes
// the state's lock, waiting up to opts.LockTimeout; when another wxmedia
// holds it, the error is a *LockedError wrapping ErrLocked. A reader takes
// no lock, and a missing state reads as empty.
//
// connStr is a secret: no error returned by this package contains it or
// the password it holds.
func OpenPostgres(connStr, schemaName string, opts Options) (*Postgres, error) {
	if schemaName == "" {
		schemaName = DefaultPostgresSchema
	}
	p := &Postgres{
		schema:   schemaName,
		where:    fmt.Sprintf("postgres schema %q", schemaName),
		readOnly: opts.ReadOnly,
		secrets:  secretsOf(connStr),
	}
	if err := checkSchemaName(schemaName); err != nil {
		return nil, fmt.Errorf("open state %s: %w", p.where, err)
	}
	cfg, err := pgxpool.ParseConfig(connStr)
	if err != nil {
		return nil, p.wrap("open state: parse conn_str", err)
	}
	if cfg.ConnConfig.Password != "" {
		p.secrets = append(p.secrets, cfg.ConnConfig.Password)
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "wxmedia"
	}
	cfg.MaxConns = 4
	ctx := context.Background()
	p.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, p.wrap("open state", err)
	}
	ok := false
	defer func() {
		if !ok {
			p.Close()
		}
	}()
	if opts.ReadOnly {
		if err := p.checkReadable(ctx); err != nil {
			return nil, err
		}
		ok = true
		return p, nil
	}

	p.conn, err = pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
	if err != nil {
		return nil, p.wrap("open state", err)
	}
	if err := p.acquireLock(ctx, opts.LockTimeout, opts.OnWait); err != nil {
		return nil, err
	}
	if err := p.migrate(ctx); err != nil {
		return nil, err
	}
	if err := p.writeLockInfo(ctx, opts.Command); err != nil {
		return nil, err
	}
	p.exists, p.cacheExists = true, true
	p.stateVersion, p.cacheVersion = len(stateMigrations), len(cacheMigrations)
	ok = true
	return p, nil
}

// checkSchemaName refuses a schema name wxmedia cannot use for a state.
func checkSchemaName(name string) error {
	switch {
	case !schemaNameRE.MatchString(name):
		return fmt.Errorf("%w: schema_name %q must be 1 to 63 letters, digits and underscores, not starting with a digit", ErrInvalid, name)
	case strings.HasPrefix(strings.ToLower(name), "pg_") || strings.EqualFold(name, "information_schema"):
		return fmt.Errorf("%w: schema_name %q is reserved by PostgreSQL", ErrInvalid, name)
	case strings.EqualFold(name, PostgresCacheSchema):
		return fmt.Errorf("%w: schema_name %q holds the shared content cache; choose another", ErrInvalid, name)
	}
	return nil
}

// Schema returns the schema holding the state.
func (p *Postgres) Schema() string { return p.schema }

// Where describes the state for messages, e.g. postgres schema "wxmedia".
// It never contains the connection string.
func (p *Postgres) Where() string { return p.where }

// tbl returns the quoted name of a table of the state's schema.
func (p *Postgres) tbl(name string) string {
	return pgx.Identifier{p.schema, name}.Sanitize()
}

// cacheTable is the shared content cache.
var cacheTable = pgx.Identifier{PostgresCacheSchema, "entries"}.Sanitize()

// checkReadable finds out whether the state and the shared cache exist,
// and refuses a state written by a newer wxmedia.
func (p *Postgres) checkReadable(ctx context.Context) error {
	var stateVersion, cacheVersion *int
	err := p.pool.QueryRow(ctx, `SELECT
		CASE WHEN to_regclass($1) IS NULL THEN NULL ELSE 0 END,
		CASE WHEN to_regclass($2) IS NULL THEN NULL ELSE 0 END`,
		p.tbl("schema_version"), pgx.Identifier{PostgresCacheSchema, "schema_version"}.Sanitize()).Scan(&stateVersion, &cacheVersion)
	if err != nil {
		return p.wrap("open state", err)
	}
	if stateVersion != nil {
		v, err := p.version(ctx, p.pool, p.schema)
		if err != nil {
			return err
		}
		if err := p.checkVersion("state", v, len(stateMigrations)); err != nil {
			return err
		}
		p.exists = v > 0
		p.stateVersion = v
	}
	if cacheVersion != nil {
		v, err := p.version(ctx, p.pool, PostgresCacheSchema)
		if err != nil {
			return err
		}
		if err := p.checkVersion("content cache", v, len(cacheMigrations)); err != nil {
			return err
		}
		p.cacheExists = v > 0
		p.cacheVersion = v
	}
	return nil
}

func (p *Postgres) checkVersion(what string, have, want int) error {
	switch {
	case have > want:
		return fmt.Errorf("open state %s: %w: %s has schema version %d, this wxmedia reads up to %d; upgrade wxmedia", p.where, ErrSchemaVersion, what, have, want)
	case have > 0 && have < want:
		return fmt.Errorf("open state %s: %w: %s has schema version %d, this wxmedia reads %d; run wxmedia apply to migrate it", p.where, ErrSchemaVersion, what, have, want)
	}
	return nil
}

// querier is what version needs of a pool, connection or transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// version returns the schema version recorded in schema, 0 when none.
func (p *Postgres) version(ctx context.Context, q querier, schema string) (int, error) {
	var v int
	err := q.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM "+pgx.Identifier{schema, "schema_version"}.Sanitize()).Scan(&v)
	if err != nil {
		return 0, p.wrap("read schema version", err)
	}
	return v, nil
}

// Close removes the lock details this writer recorded, releases the lock
// and closes the connections. Closing twice is harmless.
func (p *Postgres) Close() error {
	p.closeOnce.Do(func() {
		var errs []error
		p.mu.Lock()
		conn := p.conn
		p.conn = nil
		p.mu.Unlock()
		if conn != nil {
			ctx := context.Background()
			// The details go first: once the lock is released, the row may
			// already describe the next holder.
			if _, err := conn.Exec(ctx, "DELETE FROM "+p.tbl("lock")+" WHERE backend_pid = pg_backend_pid()"); err != nil && !isUndefinedTable(err) {
				errs = append(errs, p.wrap("remove lock details", err))
			}
			if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock_all()"); err != nil {
				errs = append(errs, p.wrap("release lock", err))
			}
			if err := conn.Close(ctx); err != nil {
				errs = append(errs, p.wrap("close state", err))
			}
		}
		if p.pool != nil {
			p.pool.Close()
		}
		p.closeErr = errors.Join(errs...)
	})
	return p.closeErr
}
