package state_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/wxmedia/wxmedia/state"
	"github.com/wxmedia/wxmedia/state/backendtest"
)

// PostgresEnv names the environment variable holding the connection string
// of a PostgreSQL server the tests may create databases in.
const PostgresEnv = "WXMEDIA_TEST_POSTGRES"

func TestConformanceLocal(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backendtest.Harness {
		path := filepath.Join(t.TempDir(), ".wxmedia", "state.db")
		return backendtest.Harness{
			Open: func(opts state.Options) (state.Backend, error) {
				return state.OpenLocal(path, opts)
			},
			ReadersSeeWriterStart: true,
		}
	})
}

func TestConformancePostgres(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backendtest.Harness {
		conn := testDatabase(t)
		schema := "wxmedia"
		return backendtest.Harness{
			Open: func(opts state.Options) (state.Backend, error) {
				return state.OpenPostgres(conn, schema, opts)
			},
		}
	})
}

// testDatabase creates a database of its own for t, dropped when t ends,
// and returns its connection string. It skips t when no server is
// configured.
func testDatabase(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(PostgresEnv)
	if admin == "" {
		t.Skipf("no PostgreSQL server: set %s to a connection string (.ci/run starts a throwaway one)", PostgresEnv)
	}
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(admin)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connect to %s: %v", PostgresEnv, err)
	}
	defer c.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	name := "wxmedia_test_" + hex.EncodeToString(b[:])
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Errorf("drop test database: %v", err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return WithDatabase(t, admin, name)
}

// WithDatabase returns the connection string conn with its database
// replaced by name.
func WithDatabase(t testing.TB, conn, name string) string {
	if u, err := url.Parse(conn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + name
		return u.String()
	}
	return conn + " dbname=" + name
}
