package state

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
)

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
	// The meta row in one query, with the columns the state's schema
	// version has.
	var serial int64
	cols, dest := "lineage, serial", []any{&s.Lineage, &serial}
	if p.stateVersion >= writeIDMigration {
		cols, dest = cols+", write_id", append(dest, &s.WriteID)
	}
	if p.stateVersion >= planKeyMigration {
		cols, dest = cols+", plan_key", append(dest, &s.PlanKey)
	}
	if err := tx.QueryRow(ctx, "SELECT "+cols+" FROM "+p.tbl("meta")).Scan(dest...); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("%w: no lineage", ErrCorrupt)
		}
		return nil, err
	}
	s.Serial = uint64(serial)
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
	bump, id, err := p.bumpSerial()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	b.Queue(bump, id)
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

// bumpSerial returns the statement, and its argument, that ends every
// write transaction (update, writeTx): it increments the serial and gives
// the state a new write identifier (Head.WriteID).
func (p *Postgres) bumpSerial() (stmt, id string, err error) {
	id, err = newWriteIDText()
	return "UPDATE " + p.tbl("meta") + " SET serial = serial + 1, write_id = $1", id, err
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
		b.Queue(p.insertOutputSQL(), outputArgs(name, o)...)
	}
	return p.update(what, b)
}
