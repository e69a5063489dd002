package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// writeTx runs fn in a transaction over the lock's connection and, when fn
// succeeds, increments the serial and gives the state a new write
// identifier (Head.WriteID) in the same transaction. fn returning
// errNothingRemoved rolls back and is not an error.
func (p *Postgres) writeTx(what string, fn func(ctx context.Context, tx pgx.Tx) error) error {
	if p.readOnly {
		return fmt.Errorf("%s: %w", what, ErrReadOnly)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn == nil {
		return fmt.Errorf("%s: state is closed", what)
	}
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, p.conn, func(tx pgx.Tx) error {
		if err := fn(ctx, tx); err != nil {
			return err
		}
		bump, id, err := p.bumpSerial()
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, bump, id)
		return err
	})
	switch {
	case errors.Is(err, errNothingRemoved):
		return err
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrExists), errors.Is(err, ErrLineage), errors.Is(err, ErrSerialBehind):
		return fmt.Errorf("%s: %w", what, err)
	case err != nil:
		return p.wrap(what, err)
	}
	return nil
}

// MoveResource renames the resource recorded at from to to.Address in one
// write transaction: MoveResources with that one move. See
// Backend.MoveResource.
func (p *Postgres) MoveResource(from string, to Resource) error {
	return p.MoveResources([]Move{{From: from, To: to}})
}

// MoveResources does moves in one write transaction. See
// Backend.MoveResources. The moves are checked in order, in memory, against
// which of their addresses the state records (read in one query); then the
// addresses left empty are deleted and the destinations written in one
// batch.
func (p *Postgres) MoveResources(moves []Move) error {
	if len(moves) == 0 {
		return nil
	}
	if err := checkMoves(moves); err != nil {
		return err
	}
	addrs := make([]string, 0, 2*len(moves))
	for _, m := range moves {
		addrs = append(addrs, m.From, m.To.Address)
	}
	return p.writeTx(movesWhat(moves), func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "SELECT address FROM "+p.tbl("resources")+" WHERE address = ANY($1::text[])", addrs)
		if err != nil {
			return err
		}
		recorded, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		exists := make(map[string]bool, len(addrs))
		for _, a := range recorded {
			exists[a] = true
		}
		put := make(map[string]int, len(moves)) // address -> index of the move that writes it last
		var deleted []string
		for i, m := range moves {
			if err := checkMove(m.From, m.To.Address, exists[m.From], exists[m.To.Address]); err != nil {
				return &MoveError{From: m.From, To: m.To.Address, Err: err}
			}
			exists[m.From] = false
			delete(put, m.From)
			deleted = append(deleted, m.From)
			exists[m.To.Address] = true
			put[m.To.Address] = i
		}
		b := &pgx.Batch{}
		b.Queue("DELETE FROM "+p.tbl("resources")+" WHERE address = ANY($1::text[])", deleted)
		for i, m := range moves {
			if last, ok := put[m.To.Address]; ok && last == i {
				b.Queue(p.upsertResourceSQL(), resourceArgs(m.To)...)
			}
		}
		return tx.SendBatch(ctx, b).Close()
	})
}

// PutCache records entries in the shared cache without touching
// resources, in one write transaction. Without entries it does nothing.
func (p *Postgres) PutCache(entries ...CacheEntry) error {
	const what = "record cache entries"
	if len(entries) == 0 {
		return nil
	}
	for _, e := range entries {
		if err := checkCacheEntry(e); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return p.writeTx(what, func(ctx context.Context, tx pgx.Tx) error {
		return upsertCache(ctx, tx, entries)
	})
}

// upsertCache records entries in the shared cache in one statement; of
// entries sharing a key, the last wins.
func upsertCache(ctx context.Context, tx pgx.Tx, entries []CacheEntry) error {
	if len(entries) == 0 {
		return nil
	}
	last := make(map[CacheKey]int, len(entries))
	for i, e := range entries {
		last[e.CacheKey] = i
	}
	rows := make([][]any, 0, len(last))
	for i, e := range entries {
		if last[e.CacheKey] == i {
			rows = append(rows, cacheArgs(e))
		}
	}
	cols, err := columnsOf(rows)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO `+cacheTable+` (`+cacheColumns+`, checksum)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[], $9::bigint[])
		ON CONFLICT (service, mchid, api, sha256) DO UPDATE SET id = EXCLUDED.id, filename = EXCLUDED.filename,
			size = EXCLUDED.size, uploaded_at = EXCLUDED.uploaded_at, checksum = EXCLUDED.checksum`,
		cols...)
	return err
}

// RemoveCache removes every entry of the shared cache that f matches, in
// one write transaction, and returns how many it removed. The cache is
// shared: this invalidates the entries for every state in the database.
// When none matches, nothing is written and the serial stays as it is.
func (p *Postgres) RemoveCache(f CacheFilter) (int, error) {
	const what = "remove cache entries"
	if p.readOnly {
		return 0, fmt.Errorf("%s: %w", what, ErrReadOnly)
	}
	n := 0
	err := p.writeTx(what, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM `+cacheTable+`
			WHERE ($1 = '' OR service = $1) AND ($2 = '' OR mchid = $2) AND ($3 = '' OR api = $3) AND ($4 = '' OR sha256 = $4)`,
			f.Service, f.MchID, f.API, f.SHA256)
		if err != nil {
			return err
		}
		n = int(tag.RowsAffected())
		if n == 0 {
			return errNothingRemoved
		}
		return nil
	})
	return removedCount(n, err)
}

// Export reads the state and the whole shared cache in one REPEATABLE READ
// transaction. See Backend.Export.
func (p *Postgres) Export() (*Export, error) {
	doc := emptyExport()
	if !p.exists && !p.cacheExists {
		return doc, nil
	}
	ctx := context.Background()
	err := pgx.BeginTxFunc(ctx, p.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if p.exists {
			s, err := p.snapshotTx(ctx, tx)
			if err != nil {
				return err
			}
			doc.Lineage, doc.Serial, doc.Outputs = s.Lineage, s.Serial, s.Outputs
			rows, err := tx.Query(ctx, "SELECT "+p.resourceSelect()+" FROM "+p.tbl("resources")+" ORDER BY address")
			if err != nil {
				return err
			}
			if err := scanResources(rows, func(r Resource) { doc.Resources = append(doc.Resources, r) }); err != nil {
				return err
			}
		}
		if p.cacheExists {
			rows, err := tx.Query(ctx, "SELECT "+p.cacheSelect()+" FROM "+cacheTable+" ORDER BY service, mchid, api, sha256")
			if err != nil {
				return err
			}
			return scanCache(rows, func(e CacheEntry) { doc.Cache = append(doc.Cache, e) })
		}
		return nil
	})
	if err != nil {
		return nil, p.wrap("export state", err)
	}
	return doc, nil
}

// Push replaces the resources and outputs with doc's and adds doc's cache
// entries to the shared cache, in one write transaction. See Backend.Push.
// The cache being shared, a state counts as empty for the lineage check
// when it has no resources and no outputs.
func (p *Postgres) Push(doc *Export, force bool) error {
	const what = "push state"
	if err := CheckExport(doc); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return p.writeTx(what, func(ctx context.Context, tx pgx.Tx) error {
		var lineage string
		var serial int64
		var empty bool
		if err := tx.QueryRow(ctx, "SELECT lineage, serial, NOT EXISTS (SELECT 1 FROM "+p.tbl("resources")+") AND NOT EXISTS (SELECT 1 FROM "+p.tbl("outputs")+") FROM "+p.tbl("meta")+" FOR UPDATE").
			Scan(&lineage, &serial, &empty); err != nil {
			return err
		}
		if !force {
			if err := checkPush(doc, lineage, uint64(serial), empty); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, "DELETE FROM "+p.tbl("resources")); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM "+p.tbl("outputs")); err != nil {
			return err
		}
		if len(doc.Resources) > 0 {
			rows := make([][]any, len(doc.Resources))
			for i, r := range doc.Resources {
				rows[i] = resourceArgs(r)
			}
			cols, err := columnsOf(rows)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO `+p.tbl("resources")+` (`+resourceColumns+`, checksum)
				SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
					$8::text[], $9::text[], $10::text[], $11::text[], $12::bigint[], $13::text[], $14::text[], $15::bigint[])`,
				cols...); err != nil {
				return err
			}
		}
		for name, o := range doc.Outputs {
			if _, err := tx.Exec(ctx, p.insertOutputSQL(), outputArgs(name, o)...); err != nil {
				return err
			}
		}
		if err := upsertCache(ctx, tx, doc.Cache); err != nil {
			return err
		}
		if doc.Lineage != "" {
			lineage = doc.Lineage
		}
		// writeTx adds one more.
		_, err := tx.Exec(ctx, "UPDATE "+p.tbl("meta")+" SET lineage = $1, serial = $2", lineage, int64(max(uint64(serial), doc.Serial)))
		return err
	})
}

// ForceUnlockPostgres releases the lock on the postgres state in schema
// (DefaultPostgresSchema when "") of the database at connStr. A lock is
// held by a live session: its holder crashed or was killed, its session
// would have ended and the lock with it. So this ends the holder's lock
// session on the server (pg_terminate_backend, which needs the holder's
// role or pg_signal_backend), which also makes every later write of that
// holder fail, since a writer writes only through its lock session. When
// backendPID is not 0, it must name the holder's lock session, as shown in
// the lock error, else nothing is done and the error wraps ErrLocked. It
// removes the lock details and returns the holder's (nil when the state
// was not locked and no details were left).
func ForceUnlockPostgres(connStr, schemaName string, backendPID int) (*PostgresLockHolder, error) {
	p, err := OpenPostgres(connStr, schemaName, Options{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer p.Close()
	ctx := context.Background()
	h, err := p.lockHolder(ctx)
	if err != nil {
		return nil, err
	}
	if h == nil {
		// Free, or held by a writer that has not recorded itself yet: take
		// the lock at once to tell.
		w, err := OpenPostgres(connStr, schemaName, Options{Command: "force-unlock"})
		if err != nil {
			return nil, err
		}
		return nil, w.Close()
	}
	if backendPID != 0 && backendPID != h.BackendPID {
		return nil, fmt.Errorf("force-unlock %s: %w: the lock is held by session %d, not %d", p.where, ErrLocked, h.BackendPID, backendPID)
	}
	var ok bool
	if err := p.pool.QueryRow(ctx, "SELECT pg_terminate_backend($1, 5000)", h.BackendPID).Scan(&ok); err != nil {
		return nil, p.wrap("force-unlock: end the holder's session", err)
	}
	if !ok {
		return nil, fmt.Errorf("force-unlock %s: the holder's session %d did not end", p.where, h.BackendPID)
	}
	w, err := OpenPostgres(connStr, schemaName, Options{Command: "force-unlock", LockTimeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	return h, w.Close()
}
