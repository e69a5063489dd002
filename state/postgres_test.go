package state_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wxmedia/wxmedia/state"
	"github.com/wxmedia/wxmedia/state/backendtest"
)

func TestPostgresErrorsHideTheConnectionString(t *testing.T) {
	for _, conn := range []string{
		"postgres://alice:s3cret-pw@127.0.0.1:1/wx?sslmode=disable&connect_timeout=2",
		"host=127.0.0.1 port=1 user=alice password=s3cret-pw dbname=wx sslmode=disable connect_timeout=2",
		"host=127.0.0.1 port=notaport password=s3cret-pw",
		"postgres://alice:s3cret-pw@127.0.0.1:1/wx?sslmode=bogus",
	} {
		_, err := state.OpenPostgres(conn, "", state.Options{ReadOnly: true})
		if err == nil {
			t.Fatalf("%q: no error", conn)
		}
		if strings.Contains(err.Error(), "s3cret-pw") || strings.Contains(err.Error(), conn) {
			t.Errorf("error shows the secret: %v", err)
		}
		for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
			if strings.Contains(e.Error(), "s3cret-pw") {
				t.Errorf("wrapped error shows the secret: %v", e)
			}
		}
		if !strings.Contains(err.Error(), `postgres schema "wxmedia"`) {
			t.Errorf("error does not say where: %v", err)
		}
	}
}

func TestPostgresSchemaNames(t *testing.T) {
	for _, name := range []string{"wxmedia_cache", "pg_x", "a-b", "1abc", "information_schema", strings.Repeat("a", 64), `a"b`} {
		if _, err := state.OpenPostgres("postgres://127.0.0.1:1/x", name, state.Options{}); !errors.Is(err, state.ErrInvalid) {
			t.Errorf("schema_name %q: %v, want ErrInvalid", name, err)
		}
	}
}

// The cache is database-wide: a state in another schema finds what this
// one uploaded.
func TestPostgresCacheSharedAcrossSchemas(t *testing.T) {
	conn := testDatabase(t)
	a, err := state.OpenPostgres(conn, "team_a", state.Options{})
	must(t, err)
	defer a.Close()
	b, err := state.OpenPostgres(conn, "team_b", state.Options{})
	must(t, err)
	defer b.Close()
	r := backendtest.Resource(1)
	must(t, a.CommitUpload(r, backendtest.Entry(r)))
	hits, err := b.LookupCache([]state.CacheKey{backendtest.Entry(r).CacheKey})
	must(t, err)
	if hits[backendtest.Entry(r).CacheKey].ID != r.ID {
		t.Errorf("team_b does not see team_a's upload: %v", hits)
	}
	sa, _ := a.Snapshot()
	sb, _ := b.Snapshot()
	if sa.Lineage == sb.Lineage || len(sb.Resources) != 0 || sb.Serial != 0 {
		t.Errorf("states are not separate: %+v %+v", sa, sb)
	}
	// Both writers run at once: the locks are per state.
	r2 := backendtest.Resource(2)
	must(t, b.CommitUpload(r2, backendtest.Entry(r2)))
}

// A holder whose session ends (crash, kill, force-unlock) loses the lock
// and can write no more; the next writer takes over at once.
func TestPostgresForceUnlockFencesTheHolder(t *testing.T) {
	conn := testDatabase(t)
	holder, err := state.OpenPostgres(conn, "", state.Options{Command: "apply"})
	must(t, err)
	defer holder.Close()
	_, err = state.OpenPostgres(conn, "", state.Options{})
	var le *state.LockedError
	if !errors.As(err, &le) || le.Holder == nil {
		t.Fatalf("second writer: %v", err)
	}
	h, err := state.ForceUnlockPostgres(conn, "", 1)
	if !errors.Is(err, state.ErrLocked) || h != nil {
		t.Errorf("force-unlock naming another session: %v", err)
	}
	h, err = state.ForceUnlockPostgres(conn, "", 0)
	must(t, err)
	if h == nil || h.Command != "apply" || h.BackendPID == 0 {
		t.Errorf("force-unlock returned %+v", h)
	}
	r := backendtest.Resource(1)
	if err := holder.CommitUpload(r, backendtest.Entry(r)); err == nil {
		t.Errorf("the unlocked holder could still write")
	}
	next, err := state.OpenPostgres(conn, "", state.Options{LockTimeout: time.Second})
	must(t, err)
	must(t, next.CommitUpload(r, backendtest.Entry(r)))
	must(t, next.Close())
	if h, err := state.ForceUnlockPostgres(conn, "", 0); err != nil || h != nil {
		t.Errorf("force-unlock of a free state: %+v, %v", h, err)
	}
}

func TestPostgresNewerSchemaRefused(t *testing.T) {
	conn := testDatabase(t)
	p, err := state.OpenPostgres(conn, "", state.Options{})
	must(t, err)
	must(t, p.Close())
	c, err := pgx.Connect(t.Context(), conn)
	must(t, err)
	defer c.Close(t.Context())
	_, err = c.Exec(t.Context(), "INSERT INTO wxmedia.schema_version (version) VALUES (99)")
	must(t, err)
	for _, ro := range []bool{false, true} {
		if _, err := state.OpenPostgres(conn, "", state.Options{ReadOnly: ro}); !errors.Is(err, state.ErrSchemaVersion) {
			t.Errorf("read-only %v: %v, want ErrSchemaVersion", ro, err)
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
