package state

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Head reads, in one REPEATABLE READ read-only transaction, the meta row,
// the outputs and the number of resources. A missing state, opened
// read-only, reads as an empty Head with Lineage "".
func (p *Postgres) Head() (*Head, error) {
	h := &Head{Outputs: map[string]Output{}}
	if !p.exists {
		return h, nil
	}
	ctx := context.Background()
	err := pgx.BeginTxFunc(ctx, p.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		s, err := p.snapshotTx(ctx, tx)
		if err != nil {
			return err
		}
		// The primary key's index answers the count; PostgreSQL keeps no
		// row count that a transaction's snapshot could trust.
		var n int64
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+p.tbl("resources")).Scan(&n); err != nil {
			return err
		}
		h = &Head{Lineage: s.Lineage, Serial: s.Serial, WriteID: s.WriteID, Resources: int(n), Outputs: s.Outputs, PlanKey: s.PlanKey}
		return nil
	})
	if err != nil {
		return nil, p.wrap("read state", err)
	}
	return h, nil
}

// ReadResources reads the records at addrs, and the serial, in one
// REPEATABLE READ read-only transaction.
func (p *Postgres) ReadResources(addrs []string) (map[string]Resource, uint64, error) {
	rs := make(map[string]Resource, min(len(addrs), maxCountHint))
	if !p.exists {
		return rs, 0, nil
	}
	var serial uint64
	ctx := context.Background()
	err := pgx.BeginTxFunc(ctx, p.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var s int64
		if err := tx.QueryRow(ctx, "SELECT serial FROM "+p.tbl("meta")).Scan(&s); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("%w: no serial", ErrCorrupt)
			}
			return err
		}
		serial = uint64(s)
		if len(addrs) == 0 {
			return nil
		}
		rows, err := tx.Query(ctx, "SELECT "+p.resourceSelect()+" FROM "+p.tbl("resources")+" WHERE address = ANY($1::text[])", addrs)
		if err != nil {
			return err
		}
		return scanResources(rows, func(r Resource) { rs[r.Address] = r })
	})
	if err != nil {
		return nil, 0, p.wrap("read resources", err)
	}
	return rs, serial, nil
}
