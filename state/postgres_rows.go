package state

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// A record's row is mapped once each way: resourceArgs, cacheArgs and
// outputArgs give the arguments of a row, in the order of its columns
// (resourceColumns, cacheColumns, outputColumns) and then its checksum;
// scanResources, scanCache and scanOutputs (postgres_sums.go) read rows
// back.

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

// outputColumns are the columns of an output row, without its checksum.
const outputColumns = "name, value, type, sensitive"

// outputArgs are the arguments of output name's row: its JSON compact, as
// the checksum covers it.
func outputArgs(name string, o Output) []any {
	return []any{name, string(compactJSON(o.Value)), string(compactJSON(o.Type)), o.Sensitive, outputSum(name, o)}
}

func (p *Postgres) insertOutputSQL() string {
	return "INSERT INTO " + p.tbl("outputs") + " (" + outputColumns + ", checksum) VALUES ($1, $2, $3, $4, $5)"
}

// columnsOf turns rows of arguments (resourceArgs, cacheArgs), which
// hold strings and int64s, into one array per column, for an INSERT that
// takes every row at once from unnest.
func columnsOf(rows [][]any) ([]any, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	cols := make([]any, len(rows[0]))
	for j, v := range rows[0] {
		switch v.(type) {
		case string:
			cols[j] = make([]string, 0, len(rows))
		case int64:
			cols[j] = make([]int64, 0, len(rows))
		default:
			return nil, fmt.Errorf("column %d holds a %T, not a string or an int64", j, v)
		}
	}
	for _, row := range rows {
		for j, v := range row {
			switch c := cols[j].(type) {
			case []string:
				cols[j] = append(c, v.(string))
			case []int64:
				cols[j] = append(c, v.(int64))
			}
		}
	}
	return cols, nil
}
