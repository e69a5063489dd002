package state_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/wxmedia/wxmedia/state"
	"github.com/wxmedia/wxmedia/state/backendtest"
)

// TestPostgresRowChecksums changes a recorded identifier in a resource
// row, a cache row and an output row behind wxmedia's back, as damage or a
// hand edit would: each read refuses it as corrupt instead of returning
// it. It then drops the checksums and the migrations that added them, as
// a database of an older wxmedia, and checks that a writer adds them back
// for every row, which reads as before.
func TestPostgresRowChecksums(t *testing.T) {
	conn := testDatabase(t)
	st, err := state.OpenPostgres(conn, "sums", state.Options{Command: "apply"})
	must(t, err)
	r := backendtest.Resource(1)
	must(t, st.CommitUpload(r, backendtest.Entry(r)))
	must(t, st.SetOutputs(map[string]state.Output{"id": {Value: json.RawMessage(`"` + r.ID + `"`), Type: json.RawMessage(`"string"`)}}))
	before, err := st.Snapshot()
	must(t, err)
	cacheBefore, err := st.ListCache()
	must(t, err)
	must(t, st.Close())

	ctx := context.Background()
	db, err := pgx.Connect(ctx, conn)
	must(t, err)
	defer db.Close(ctx)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := db.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	read := func() (error, error) {
		t.Helper()
		st, err := state.OpenPostgres(conn, "sums", state.Options{ReadOnly: true})
		must(t, err)
		defer st.Close()
		_, snapErr := st.Snapshot()
		_, cacheErr := st.ListCache()
		return snapErr, cacheErr
	}
	for _, c := range []struct{ name, edit, undo string }{
		{"resource", `UPDATE sums.resources SET id = id || 'x'`, `UPDATE sums.resources SET id = left(id, -1)`},
		{"output", `UPDATE sums.outputs SET value = '"forged"'`, `UPDATE sums.outputs SET value = '"` + r.ID + `"'`},
		{"cache", `UPDATE wxmedia_cache.entries SET id = id || 'x'`, `UPDATE wxmedia_cache.entries SET id = left(id, -1)`},
	} {
		exec(c.edit)
		snapErr, cacheErr := read()
		err := snapErr
		if c.name == "cache" {
			err = cacheErr
		}
		if !errors.Is(err, state.ErrCorrupt) {
			t.Errorf("%s row edited: %v, want ErrCorrupt", c.name, err)
		}
		exec(c.undo)
	}
	if snapErr, cacheErr := read(); snapErr != nil || cacheErr != nil {
		t.Fatalf("rows restored: %v, %v", snapErr, cacheErr)
	}

	// A database as an older wxmedia left it.
	exec(`ALTER TABLE sums.resources DROP COLUMN checksum`)
	exec(`ALTER TABLE sums.outputs DROP COLUMN checksum`)
	exec(`ALTER TABLE wxmedia_cache.entries DROP COLUMN checksum`)
	exec(`ALTER TABLE sums.meta DROP COLUMN write_id`)
	exec(`DELETE FROM sums.schema_version WHERE version IN (3, 4)`)
	exec(`DELETE FROM wxmedia_cache.schema_version WHERE version = 2`)
	w, err := state.OpenPostgres(conn, "sums", state.Options{Command: "apply"})
	must(t, err)
	defer w.Close()
	after, err := w.Snapshot()
	must(t, err)
	cacheAfter, err := w.ListCache()
	must(t, err)
	// The migrations give the state a new write identifier, nothing else.
	if after.WriteID == "" || after.WriteID == before.WriteID {
		t.Errorf("write identifier %q after the migration, %q before", after.WriteID, before.WriteID)
	}
	after.WriteID = before.WriteID
	if !reflect.DeepEqual(after, before) || !reflect.DeepEqual(cacheAfter, cacheBefore) {
		t.Errorf("the migration changed what the state holds")
	}
	var missing int
	must(t, db.QueryRow(ctx, `SELECT (SELECT count(*) FROM sums.resources WHERE checksum IS NULL) + (SELECT count(*) FROM wxmedia_cache.entries WHERE checksum IS NULL)`).Scan(&missing))
	if missing != 0 {
		t.Errorf("%d rows without a checksum after the migration", missing)
	}
	exec(`UPDATE sums.resources SET id = id || 'x'`)
	if _, err := w.Snapshot(); !errors.Is(err, state.ErrCorrupt) {
		t.Errorf("migrated row edited: %v, want ErrCorrupt", err)
	}
}
