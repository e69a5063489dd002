package backendtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// PostgresEnv names the environment variable holding the connection string
// of a PostgreSQL server the tests may create databases in; .ci/run starts
// a throwaway server and sets it.
const PostgresEnv = "WXMEDIA_TEST_POSTGRES"

// CreateDatabase creates a database of its own on the server at admin and
// returns its connection string and a function dropping it.
func CreateDatabase(admin string) (string, func(), error) {
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(admin)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", PostgresEnv, err)
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return "", nil, fmt.Errorf("connect to %s: %w", PostgresEnv, err)
	}
	defer c.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	name := "wxmedia_test_" + hex.EncodeToString(b[:])
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create test database: %w", err)
	}
	drop := func() {
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		c.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
	}
	return withDatabase(admin, name), drop, nil
}

// PostgresDatabase creates a database of its own for t on the server
// PostgresEnv names, dropped when t ends, and returns its connection
// string. Without that variable it skips t.
func PostgresDatabase(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(PostgresEnv)
	if admin == "" {
		t.Skipf("no PostgreSQL server: set %s to a connection string (.ci/run starts a throwaway one)", PostgresEnv)
	}
	conn, drop, err := CreateDatabase(admin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	return conn
}

// withDatabase returns the connection string conn with its database
// replaced by name.
func withDatabase(conn, name string) string {
	if u, err := url.Parse(conn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + name
		return u.String()
	}
	return conn + " dbname=" + name
}
