package state

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Rows carry checksums as the local state's records do (seal): from state
// schema version 3 on, each row of resources and outputs, and from cache
// schema version 2 on, each cache entry, has a checksum column holding the
// CRC-32C of the row's key and its record, which every read checks. A row
// whose identifier was changed by anything but wxmedia (a damaged page, a
// hand edit) is then refused as corrupt instead of published.
const (
	stateSumsVersion = 3
	cacheSumsVersion = 2
)

// resourceSum is the checksum of r's row: of its address and of the record
// the local state would store.
func resourceSum(r Resource) int64 {
	v, err := encodeResource(r)
	if err != nil {
		v = []byte(fmt.Sprintf("%#v", r))
	}
	return int64(recordSum([]byte(r.Address), v))
}

// cacheSum is the checksum of e's row.
func cacheSum(e CacheEntry) int64 {
	v, err := encodeCacheEntry(e)
	if err != nil {
		v = []byte(fmt.Sprintf("%#v", e))
	}
	return int64(recordSum(cacheKeyBytes(e.CacheKey), v))
}

// outputSum is the checksum of the output row name: of its compact JSON.
func outputSum(name string, o Output) int64 {
	v, _ := encodeOutput(Output{Value: compactJSON(o.Value), Type: compactJSON(o.Type), Sensitive: o.Sensitive})
	return int64(recordSum([]byte(name), v))
}

// resourceSelect and cacheSelect are the columns a read selects: with the
// checksum once the tables have one.
func (p *Postgres) resourceSelect() string {
	if p.stateVersion >= stateSumsVersion {
		return resourceColumns + ", checksum"
	}
	return resourceColumns + ", NULL::bigint"
}

func (p *Postgres) cacheSelect() string {
	if p.cacheVersion >= cacheSumsVersion {
		return cacheColumns + ", checksum"
	}
	return cacheColumns + ", NULL::bigint"
}

func (p *Postgres) outputSelect() string {
	if p.stateVersion >= stateSumsVersion {
		return outputColumns + ", checksum"
	}
	return outputColumns + ", NULL::bigint"
}

// checkSum refuses a row whose checksum is not the one computed from it.
func checkSum(what string, stored *int64, computed int64) error {
	if stored != nil && *stored != computed {
		return fmt.Errorf("%w: %s: %w", ErrCorrupt, what, errChecksum)
	}
	return nil
}

// migrateStateSums adds the checksum columns to a state's resources and
// outputs, filled for the rows there are.
func migrateStateSums(ctx context.Context, tx pgx.Tx, p *Postgres) error {
	for _, t := range []string{"resources", "outputs"} {
		if _, err := tx.Exec(ctx, "ALTER TABLE "+p.tbl(t)+" ADD COLUMN checksum bigint"); err != nil {
			return err
		}
	}
	rows, err := tx.Query(ctx, "SELECT "+resourceColumns+", NULL::bigint FROM "+p.tbl("resources"))
	if err != nil {
		return err
	}
	var addrs []string
	var sums []int64
	if err := scanResources(rows, func(r Resource) {
		addrs = append(addrs, r.Address)
		sums = append(sums, resourceSum(r))
	}); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "UPDATE "+p.tbl("resources")+" r SET checksum = u.sum FROM unnest($1::text[], $2::bigint[]) AS u(address, sum) WHERE r.address = u.address", addrs, sums); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, "SELECT name, value, type, sensitive, NULL::bigint FROM "+p.tbl("outputs"))
	if err != nil {
		return err
	}
	var names []string
	sums = sums[:0]
	if err := scanOutputs(rows, func(name string, o Output) {
		names = append(names, name)
		sums = append(sums, outputSum(name, o))
	}); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "UPDATE "+p.tbl("outputs")+" o SET checksum = u.sum FROM unnest($1::text[], $2::bigint[]) AS u(name, sum) WHERE o.name = u.name", names, sums); err != nil {
		return err
	}
	for _, t := range []string{"resources", "outputs"} {
		if _, err := tx.Exec(ctx, "ALTER TABLE "+p.tbl(t)+" ALTER COLUMN checksum SET NOT NULL"); err != nil {
			return err
		}
	}
	return nil
}

// migrateCacheSums adds the checksum column to the shared cache, filled
// for the entries there are.
func migrateCacheSums(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, "ALTER TABLE "+cacheTable+" ADD COLUMN checksum bigint"); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, "SELECT "+cacheColumns+", NULL::bigint FROM "+cacheTable)
	if err != nil {
		return err
	}
	var svc, mch, api, sum []string
	var sums []int64
	if err := scanCache(rows, func(e CacheEntry) {
		svc, mch, api, sum = append(svc, e.Service), append(mch, e.MchID), append(api, e.API), append(sum, e.SHA256)
		sums = append(sums, cacheSum(e))
	}); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE `+cacheTable+` c SET checksum = u.sum
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[]) AS u(service, mchid, api, sha256, sum)
		WHERE (c.service, c.mchid, c.api, c.sha256) = (u.service, u.mchid, u.api, u.sha256)`, svc, mch, api, sum, sums); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, "ALTER TABLE "+cacheTable+" ALTER COLUMN checksum SET NOT NULL")
	return err
}

// scanOutputs reads rows of name, value, type, sensitive and checksum (or
// NULL), checking the checksum when there is one.
func scanOutputs(rows pgx.Rows, fn func(name string, o Output)) error {
	var name, value, typ string
	var sensitive bool
	var sum *int64
	_, err := pgx.ForEachRow(rows, []any{&name, &value, &typ, &sensitive, &sum}, func() error {
		o := Output{Value: json.RawMessage(value), Type: json.RawMessage(typ), Sensitive: sensitive}
		if err := checkSum(fmt.Sprintf("output %q", name), sum, outputSum(name, o)); err != nil {
			return err
		}
		fn(name, o)
		return nil
	})
	return err
}
