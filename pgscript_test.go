package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/wxmedia/wxmedia/uploader/sandbox"
)

// postgresEnv names the environment variable holding the connection string
// of a PostgreSQL server the tests may create databases in; .ci/run starts a
// throwaway server and sets it.
const postgresEnv = "WXMEDIA_TEST_POSTGRES"

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
			sb, err := sandbox.Open(filepath.Join(env.WorkDir, ".sandbox"))
			if err != nil {
				return err
			}
			srv, err := sb.Start("127.0.0.1:0")
			if err != nil {
				sb.Close()
				return err
			}
			env.Defer(func() {
				srv.Close()
				sb.Close()
			})
			if err := sb.WriteMerchantConfig(filepath.Join(env.WorkDir, "merchant.wxm.hcl"), srv.URL(), "1900000001"); err != nil {
				return err
			}
			env.Values["sandbox"] = sb
			env.Setenv("SANDBOX_URL", srv.URL())
			env.Setenv("NO_COLOR", "1")
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

// createTestDatabase creates a database of its own on the server at admin
// (a postgres:// URL) and returns its URL and a function dropping it.
func createTestDatabase(admin string) (string, func(), error) {
	ctx := context.Background()
	c, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", nil, err
	}
	defer c.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	name := "wxmedia_test_" + hex.EncodeToString(b[:])
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		c.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
	}
	return u.String(), drop, nil
}

func init() {
	scriptCmds["uploadsbetween"] = cmdUploadsBetween
	scriptCmds["pause"] = cmdPause
}

// pause DURATION: wait, e.g. for a background command to get going.
func cmdPause(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: pause DURATION")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	time.Sleep(d)
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
