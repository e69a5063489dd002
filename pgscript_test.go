package main

import (
	"context"
	"net/url"
	"os"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/wxmedia/wxmedia/state/backendtest"
)

// postgresEnv names the environment variable holding the connection string
// of a PostgreSQL server the tests may create databases in; .ci/run starts a
// throwaway server and sets it.
const postgresEnv = backendtest.PostgresEnv

// createTestDatabase creates a database of its own on the server at admin
// and returns its connection string and a function dropping it.
var createTestDatabase = backendtest.CreateDatabase

// TestPostgresScript runs the scripts in testdata/pgscript against a
// PostgreSQL server: each gets a database of its own, its connection string
// in $PGCONN (with a password, which trust authentication ignores, so that
// scripts can check it never shows: $PGPASSWORD_MARK), and the same
// sandbox server and merchant block as the scripts of TestScript.
func TestPostgresScript(t *testing.T) {
	admin := os.Getenv(postgresEnv)
	if admin == "" {
		t.Skipf("no PostgreSQL server: set %s to a connection string (.ci/run starts a throwaway one)", postgresEnv)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/pgscript",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			if err := setupSandbox(env); err != nil {
				return err
			}
			conn, drop, err := createTestDatabase(admin)
			if err != nil {
				return err
			}
			env.Defer(drop)
			u, err := url.Parse(conn)
			if err != nil {
				return err
			}
			u.User = url.UserPassword(u.User.Username(), "pw-Mark-7f3a9")
			env.Setenv("PGCONN", u.String())
			env.Setenv("PGPASSWORD_MARK", "pw-Mark-7f3a9")
			return nil
		},
		Cmds: scriptCmds,
	})
}

// uploadsbetween LO HI: the sandbox issued between LO and HI identifiers,
// both included.
func cmdUploadsBetween(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: uploadsbetween LO HI")
	}
	lo, err := strconv.Atoi(args[0])
	ts.Check(err)
	hi, err := strconv.Atoi(args[1])
	ts.Check(err)
	got := sandboxOf(ts).Stats().Uploads
	if (got >= lo && got <= hi) == neg {
		ts.Fatalf("sandbox counted %d uploads, want between %d and %d", got, lo, hi)
	}
}

// pgexec SQL: runs SQL in the script's database ($PGCONN), as an operator
// would with psql (dropping a schema lost, say).
func cmdPgexec(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: pgexec SQL")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, ts.Getenv("PGCONN"))
	ts.Check(err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, args[0])
	ts.Check(err)
}
