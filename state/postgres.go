package state

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultPostgresSchema is the schema holding a configuration's state when
// its postgres backend names none.
const DefaultPostgresSchema = "wxmedia"

// PostgresCacheSchema is the schema holding the content cache that every
// state in a database shares. No state may use it as its schema_name.
const PostgresCacheSchema = "wxmedia_cache"

// lockPollInterval is how often a writer waiting for the state lock retries.
const lockPollInterval = 50 * time.Millisecond

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

// lockKey is the advisory lock key of the state in schema.
func lockKey(schema string) int64 {
	h := sha256.Sum256([]byte("wxmedia state lock\x00" + schema))
	return int64(binary.BigEndian.Uint64(h[:8]))
}

// migrationLockKey serialises table creation and migrations across
// wxmedia processes sharing a database.
var migrationLockKey = lockKey("\x00migrations")

// acquireLock takes the state's advisory lock on p.conn, polling until
// timeout (forever when negative).
func (p *Postgres) acquireLock(ctx context.Context, timeout time.Duration, onWait func(*LockInfo, time.Duration)) error {
	key := lockKey(p.schema)
	deadline := time.Now().Add(timeout)
	for first := true; ; first = false {
		var got bool
		if err := p.conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&got); err != nil {
			return p.wrap("open state: take lock", err)
		}
		if got {
			return nil
		}
		if timeout >= 0 && !time.Now().Before(deadline) {
			h, err := p.lockHolder(ctx)
			if err != nil {
				return err
			}
			le := &LockedError{Path: p.where, Waited: timeout}
			if h != nil {
				le.Holder, le.Session = &h.LockInfo, h.BackendPID
			}
			return le
		}
		if first && onWait != nil {
			h, _ := p.lockHolder(ctx)
			var info *LockInfo
			if h != nil {
				info = &h.LockInfo
			}
			onWait(info, timeout)
		}
		time.Sleep(lockPollInterval)
	}
}

// PostgresLockHolder describes the session holding a postgres state's lock.
type PostgresLockHolder struct {
	LockInfo
	// BackendPID is the PostgreSQL backend process of the holder's lock
	// session.
	BackendPID int
}

// lockHolder returns the recorded holder of the state lock, or nil when
// the lock is free or its holder recorded nothing. A record is trusted only
// while the session it names still holds the lock.
func (p *Postgres) lockHolder(ctx context.Context) (*PostgresLockHolder, error) {
	var exists bool
	if err := p.pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", p.tbl("lock")).Scan(&exists); err != nil {
		return nil, p.wrap("read lock holder", err)
	}
	if !exists {
		return nil, nil
	}
	key := lockKey(p.schema)
	var h PostgresLockHolder
	err := p.pool.QueryRow(ctx, `SELECT l.pid, l.host, l.command, l.started, l.backend_pid FROM `+p.tbl("lock")+` l
		WHERE EXISTS (SELECT 1 FROM pg_locks k WHERE k.locktype = 'advisory' AND k.granted AND k.pid = l.backend_pid
			AND k.database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND k.classid = $1::int8::oid AND k.objid = $2::int8::oid AND k.objsubid = 1)`,
		int64(uint32(uint64(key)>>32)), int64(uint32(uint64(key)))).Scan(&h.PID, &h.Host, &h.Command, &h.Started, &h.BackendPID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, p.wrap("read lock holder", err)
	}
	h.Started = h.Started.UTC()
	return &h, nil
}

// LockHolder returns who holds the state's lock, or nil when it is free or
// its holder is not known.
func (p *Postgres) LockHolder() (*LockInfo, error) {
	h, err := p.lockHolder(context.Background())
	if h == nil || err != nil {
		return nil, err
	}
	return &h.LockInfo, nil
}

// writeLockInfo records this process as the lock holder. The caller holds
// the lock.
func (p *Postgres) writeLockInfo(ctx context.Context, command string) error {
	host, _ := os.Hostname()
	_, err := p.conn.Exec(ctx, `INSERT INTO `+p.tbl("lock")+` (singleton, pid, host, command, started, backend_pid)
		VALUES (true, $1, $2, $3, $4, pg_backend_pid())
		ON CONFLICT (singleton) DO UPDATE SET pid = EXCLUDED.pid, host = EXCLUDED.host, command = EXCLUDED.command,
			started = EXCLUDED.started, backend_pid = EXCLUDED.backend_pid`,
		os.Getpid(), host, command, time.Now().UTC().Truncate(time.Second))
	if err != nil {
		return p.wrap("open state: record lock holder", err)
	}
	return nil
}

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

// Snapshot reads the whole state in one REPEATABLE READ transaction. A
// missing state, opened read-only, reads as empty with Lineage "" and
// Serial 0.
func (p *Postgres) Snapshot() (*Snapshot, error) {
	s := &Snapshot{Resources: map[string]Resource{}, Outputs: map[string]Output{}}
	if !p.exists {
		return s, nil
	}
	ctx := context.Background()
	err := pgx.BeginTxFunc(ctx, p.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		s, err = p.snapshotTx(ctx, tx)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT "+p.resourceSelect()+" FROM "+p.tbl("resources"))
		if err != nil {
			return err
		}
		return scanResources(rows, func(r Resource) { s.Resources[r.Address] = r })
	})
	if err != nil {
		return nil, p.wrap("read state", err)
	}
	return s, nil
}

// Outputs reads the state's outputs, and nothing else, in one REPEATABLE
// READ transaction; like every read it takes no lock and never waits for a
// writer. A missing state (or schema) is an error satisfying
// errors.Is(err, fs.ErrNotExist): unlike Snapshot, which reads it as empty,
// this is for readers of another configuration's outputs, to whom a state
// never written is a mistake to report.
func (p *Postgres) Outputs() (map[string]Output, error) {
	if !p.exists {
		return nil, fmt.Errorf("read outputs %s: no state: %w", p.where, fs.ErrNotExist)
	}
	var outs map[string]Output
	ctx := context.Background()
	err := pgx.BeginTxFunc(ctx, p.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		s, err := p.snapshotTx(ctx, tx)
		if err != nil {
			return err
		}
		outs = s.Outputs
		return nil
	})
	if err != nil {
		return nil, p.wrap("read outputs", err)
	}
	return outs, nil
}

// snapshotTx reads the lineage, serial and outputs in tx; Resources is
// left empty.
func (p *Postgres) snapshotTx(ctx context.Context, tx pgx.Tx) (*Snapshot, error) {
	s := &Snapshot{Resources: map[string]Resource{}, Outputs: map[string]Output{}}
	var serial int64
	if err := tx.QueryRow(ctx, "SELECT lineage, serial FROM "+p.tbl("meta")).Scan(&s.Lineage, &serial); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("%w: no lineage", ErrCorrupt)
		}
		return nil, err
	}
	s.Serial = uint64(serial)
	if p.stateVersion >= planKeyMigration {
		if err := tx.QueryRow(ctx, "SELECT plan_key FROM "+p.tbl("meta")).Scan(&s.PlanKey); err != nil {
			return nil, err
		}
	}
	rows, err := tx.Query(ctx, "SELECT "+p.outputSelect()+" FROM "+p.tbl("outputs"))
	if err != nil {
		return nil, err
	}
	err = scanOutputs(rows, func(name string, o Output) { s.Outputs[name] = o })
	if err != nil {
		return nil, err
	}
	return s, nil
}

// scanResources reads rows of resourceSelect's columns, checking the
// checksum when there is one.
func scanResources(rows pgx.Rows, fn func(Resource)) error {
	var r Resource
	var at string
	var sum *int64
	_, err := pgx.ForEachRow(rows, []any{&r.Address, &r.Type, &r.Name, &r.Key, &r.Merchant, &r.MchID, &r.Service, &r.API,
		&r.Source, &r.Filename, &r.SHA256, &r.Size, &r.ID, &at, &sum}, func() error {
		t, err := parseTime(at)
		if err != nil {
			return fmt.Errorf("%w: resource %s: %w", ErrCorrupt, r.Address, err)
		}
		r.UploadedAt = t
		if err := checkSum(fmt.Sprintf("resource %q", r.Address), sum, resourceSum(r)); err != nil {
			return err
		}
		fn(r)
		return nil
	})
	return err
}

const resourceColumns = "address, type, name, key, merchant, mchid, service, api, source, filename, sha256, size, id, uploaded_at"

func resourceArgs(r Resource) []any {
	return []any{r.Address, r.Type, r.Name, r.Key, r.Merchant, r.MchID, r.Service, r.API,
		r.Source, r.Filename, r.SHA256, r.Size, r.ID, formatTime(r.UploadedAt), resourceSum(r)}
}

// formatTime and parseTime keep times exactly, to the nanosecond, in UTC.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// LookupCache looks up keys in the shared content cache, in one query.
func (p *Postgres) LookupCache(keys []CacheKey) (map[CacheKey]CacheEntry, error) {
	hits := make(map[CacheKey]CacheEntry)
	for _, k := range keys {
		if err := checkCacheKey(k); err != nil {
			return nil, fmt.Errorf("look up cache: %w", err)
		}
	}
	if !p.cacheExists || len(keys) == 0 {
		return hits, nil
	}
	cols := make([][]string, 4)
	for _, k := range keys {
		cols[0] = append(cols[0], k.Service)
		cols[1] = append(cols[1], k.MchID)
		cols[2] = append(cols[2], k.API)
		cols[3] = append(cols[3], k.SHA256)
	}
	rows, err := p.pool.Query(context.Background(), `SELECT `+p.cacheSelect()+` FROM `+cacheTable+`
		WHERE (service, mchid, api, sha256) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]))`,
		cols[0], cols[1], cols[2], cols[3])
	if err != nil {
		return nil, p.wrap("look up cache", err)
	}
	if err := scanCache(rows, func(e CacheEntry) { hits[e.CacheKey] = e }); err != nil {
		return nil, p.wrap("look up cache", err)
	}
	return hits, nil
}

const cacheColumns = "service, mchid, api, sha256, id, filename, size, uploaded_at"

// scanCache reads rows of cacheSelect's columns, checking the checksum
// when there is one.
func scanCache(rows pgx.Rows, fn func(CacheEntry)) error {
	var e CacheEntry
	var at string
	var sum *int64
	_, err := pgx.ForEachRow(rows, []any{&e.Service, &e.MchID, &e.API, &e.SHA256, &e.ID, &e.Filename, &e.Size, &at, &sum}, func() error {
		t, err := parseTime(at)
		if err != nil {
			return fmt.Errorf("%w: cache entry %s: %w", ErrCorrupt, keyString(e.CacheKey), err)
		}
		e.UploadedAt = t
		if err := checkSum("cache entry "+keyString(e.CacheKey), sum, cacheSum(e)); err != nil {
			return err
		}
		fn(e)
		return nil
	})
	return err
}

func cacheArgs(e CacheEntry) []any {
	return []any{e.Service, e.MchID, e.API, e.SHA256, e.ID, e.Filename, e.Size, formatTime(e.UploadedAt), cacheSum(e)}
}

// ListCache returns every entry of the shared content cache, sorted by
// service, merchant ID, API and SHA-256: the entries of every state in the
// database.
func (p *Postgres) ListCache() ([]CacheEntry, error) {
	var entries []CacheEntry
	if !p.cacheExists {
		return entries, nil
	}
	rows, err := p.pool.Query(context.Background(), "SELECT "+p.cacheSelect()+" FROM "+cacheTable+" ORDER BY service, mchid, api, sha256")
	if err != nil {
		return nil, p.wrap("list cache", err)
	}
	if err := scanCache(rows, func(e CacheEntry) { entries = append(entries, e) }); err != nil {
		return nil, p.wrap("list cache", err)
	}
	return entries, nil
}

// update sends the statements of b, then the serial's increment, over the
// lock's connection as one pipelined batch, which PostgreSQL runs as one
// implicit transaction: all of it commits, durably, before the answer
// comes back, or none of it does.
func (p *Postgres) update(what string, b *pgx.Batch) error {
	if p.readOnly {
		return fmt.Errorf("%s: %w", what, ErrReadOnly)
	}
	b.Queue("UPDATE " + p.tbl("meta") + " SET serial = serial + 1")
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn == nil {
		return fmt.Errorf("%s: state is closed", what)
	}
	if err := p.conn.SendBatch(context.Background(), b).Close(); err != nil {
		return p.wrap(what, err)
	}
	return nil
}

// CommitUpload records a verified identifier: the resource and its shared
// cache entry, in one transaction that is durable before CommitUpload
// returns.
func (p *Postgres) CommitUpload(r Resource, e CacheEntry) error {
	what := "commit upload of " + r.Address
	if err := checkCommit(r, e); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	b := &pgx.Batch{}
	b.Queue(p.upsertResourceSQL(), resourceArgs(r)...)
	b.Queue(upsertCacheSQL, cacheArgs(e)...)
	return p.update(what, b)
}

func (p *Postgres) upsertResourceSQL() string {
	return `INSERT INTO ` + p.tbl("resources") + ` (` + resourceColumns + `, checksum)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (address) DO UPDATE SET type = EXCLUDED.type, name = EXCLUDED.name, key = EXCLUDED.key,
			merchant = EXCLUDED.merchant, mchid = EXCLUDED.mchid, service = EXCLUDED.service, api = EXCLUDED.api,
			source = EXCLUDED.source, filename = EXCLUDED.filename, sha256 = EXCLUDED.sha256, size = EXCLUDED.size,
			id = EXCLUDED.id, uploaded_at = EXCLUDED.uploaded_at, checksum = EXCLUDED.checksum`
}

var upsertCacheSQL = `INSERT INTO ` + cacheTable + ` (` + cacheColumns + `, checksum)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
	ON CONFLICT (service, mchid, api, sha256) DO UPDATE SET id = EXCLUDED.id, filename = EXCLUDED.filename,
		size = EXCLUDED.size, uploaded_at = EXCLUDED.uploaded_at, checksum = EXCLUDED.checksum`

// PutResource records a resource without touching the cache.
func (p *Postgres) PutResource(r Resource) error {
	what := "record resource " + r.Address
	if err := checkResource(r); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	b := &pgx.Batch{}
	b.Queue(p.upsertResourceSQL(), resourceArgs(r)...)
	return p.update(what, b)
}

// RemoveResources removes the resources at addrs in one transaction;
// addresses not in the state are ignored. Without addresses it does
// nothing and leaves the serial alone.
func (p *Postgres) RemoveResources(addrs ...string) error {
	if len(addrs) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	b.Queue("DELETE FROM "+p.tbl("resources")+" WHERE address = ANY($1::text[])", addrs)
	return p.update("remove resources", b)
}

// SetOutputs replaces all outputs in one transaction.
func (p *Postgres) SetOutputs(outputs map[string]Output) error {
	const what = "record outputs"
	b := &pgx.Batch{}
	b.Queue("DELETE FROM " + p.tbl("outputs"))
	for name, o := range outputs {
		if err := checkOutput(name, o); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		b.Queue("INSERT INTO "+p.tbl("outputs")+" (name, value, type, sensitive, checksum) VALUES ($1, $2, $3, $4, $5)",
			name, string(compactJSON(o.Value)), string(compactJSON(o.Type)), o.Sensitive, outputSum(name, o))
	}
	return p.update(what, b)
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

func isUndefinedTable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "3F000")
}

// secretsOf returns the parts of connStr that must never be shown: the
// whole string and, for a URL, its user information.
func secretsOf(connStr string) []string {
	s := []string{connStr}
	if i := strings.Index(connStr, "://"); i >= 0 {
		rest := connStr[i+3:]
		if j := strings.LastIndex(rest, "@"); j > 0 {
			s = append(s, rest[:j])
		}
	}
	return s
}

// redactedError is an error whose text had a secret cut out. It keeps the
// sentinel errors of the original but not its text.
type redactedError struct {
	msg string
	is  []error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() []error {
	return e.is
}

// wrap adds what, and the state's location, to err, cutting any secret of
// the connection string out of the message. An error carrying a secret
// is not wrapped, so that no caller can print the original.
func (p *Postgres) wrap(what string, err error) error {
	msg := err.Error()
	redacted := msg
	for _, s := range p.secrets {
		if len(s) >= 3 {
			redacted = strings.ReplaceAll(redacted, s, "[redacted]")
		}
	}
	if redacted == msg {
		return fmt.Errorf("%s %s: %w", what, p.where, err)
	}
	var is []error
	for _, sentinel := range []error{ErrLocked, ErrCorrupt, ErrSchemaVersion, ErrReadOnly, ErrInvalid, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, sentinel) {
			is = append(is, sentinel)
		}
	}
	return &redactedError{msg: fmt.Sprintf("%s %s: %s", what, p.where, redacted), is: is}
}
