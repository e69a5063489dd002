package state

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The postgres backend's tables, by schema. Each schema has its own
// schema_version table recording the migrations applied to it; a migration
// runs once, in the transaction that records it.
//
// PostgresCacheSchema (wxmedia_cache), shared by every state in the
// database:
//
//	entries (service, mchid, api, sha256) -> id, filename, size, uploaded_at,
//	        checksum (postgres_sums.go, from version 2 on)
//
// A state's schema (schema_name, by default wxmedia):
//
//	meta      one row: lineage, serial, plan_key (a random secret that
//	          signs saved plans, from schema version 2 on), write_id (a
//	          random identifier every write changes, from version 4 on)
//	resources address -> the resource's fields, checksum (from version 3)
//	outputs   name -> value, type (cty JSON), sensitive, checksum (idem)
//	lock      one row while a writer holds the lock: pid, host, command,
//	          started, backend_pid (the lock session's server process)
//
// Times are kept as RFC 3339 text in UTC, to the nanosecond, as the local
// backend keeps them; cast them with ::timestamptz to query by time.

// cacheMigrations are the shared cache's migrations; the schema version is
// the number applied.
var cacheMigrations = []func(ctx context.Context, tx pgx.Tx) error{
	func(ctx context.Context, tx pgx.Tx) error {
		return execAll(ctx, tx,
			`CREATE TABLE `+cacheTable+` (
				service     text COLLATE "C" NOT NULL,
				mchid       text COLLATE "C" NOT NULL,
				api         text COLLATE "C" NOT NULL,
				sha256      text COLLATE "C" NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
				id          text NOT NULL CHECK (id <> ''),
				filename    text NOT NULL,
				size        bigint NOT NULL,
				uploaded_at text NOT NULL,
				PRIMARY KEY (service, mchid, api, sha256)
			)`,
			`COMMENT ON TABLE `+cacheTable+` IS 'wxmedia content cache, shared by every wxmedia state in this database: the identifier issued for the bytes with this SHA-256, sent to this service for this merchant and API'`,
		)
	},
	migrateCacheSums,
}

// stateMigrations are a state schema's migrations.
var stateMigrations = []func(ctx context.Context, tx pgx.Tx, p *Postgres) error{
	func(ctx context.Context, tx pgx.Tx, p *Postgres) error {
		lineage, err := newLineage()
		if err != nil {
			return err
		}
		err = execAll(ctx, tx,
			`CREATE TABLE `+p.tbl("meta")+` (
				singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
				lineage   text NOT NULL CHECK (lineage <> ''),
				serial    bigint NOT NULL CHECK (serial >= 0)
			)`,
			`CREATE TABLE `+p.tbl("resources")+` (
				address     text COLLATE "C" PRIMARY KEY CHECK (address <> ''),
				type        text NOT NULL,
				name        text NOT NULL,
				key         text NOT NULL,
				merchant    text NOT NULL,
				mchid       text NOT NULL,
				service     text NOT NULL,
				api         text NOT NULL,
				source      text NOT NULL,
				filename    text NOT NULL,
				sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
				size        bigint NOT NULL,
				id          text NOT NULL CHECK (id <> ''),
				uploaded_at text NOT NULL
			)`,
			`CREATE TABLE `+p.tbl("outputs")+` (
				name      text COLLATE "C" PRIMARY KEY CHECK (name <> ''),
				value     text NOT NULL,
				type      text NOT NULL,
				sensitive boolean NOT NULL
			)`,
			`CREATE TABLE `+p.tbl("lock")+` (
				singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
				pid         integer NOT NULL,
				host        text NOT NULL,
				command     text NOT NULL,
				started     timestamptz NOT NULL,
				backend_pid integer NOT NULL
			)`,
			`COMMENT ON SCHEMA `+pgx.Identifier{p.schema}.Sanitize()+` IS 'wxmedia state'`,
		)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO `+p.tbl("meta")+` (lineage, serial) VALUES ($1, 0)`, lineage)
		return err
	},
	func(ctx context.Context, tx pgx.Tx, p *Postgres) error {
		key, err := newPlanKey()
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `ALTER TABLE `+p.tbl("meta")+` ADD COLUMN plan_key bytea`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE `+p.tbl("meta")+` SET plan_key = $1`, key); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `ALTER TABLE `+p.tbl("meta")+` ALTER COLUMN plan_key SET NOT NULL`)
		return err
	},
	migrateStateSums,
	func(ctx context.Context, tx pgx.Tx, p *Postgres) error {
		id, err := newWriteIDText()
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `ALTER TABLE `+p.tbl("meta")+` ADD COLUMN write_id text NOT NULL DEFAULT ''`); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE `+p.tbl("meta")+` SET write_id = $1`, id)
		return err
	},
}

// planKeyMigration is the state schema version that adds meta.plan_key.
const planKeyMigration = 2

// writeIDMigration is the state schema version that adds meta.write_id
// (Head.WriteID), which every write that changes the serial changes.
const writeIDMigration = 4

func execAll(ctx context.Context, tx pgx.Tx, stmts ...string) error {
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// migrate creates or migrates the shared cache's tables and the state's,
// in one transaction under a database-wide advisory lock, so that wxmedia
// processes starting together create them once. Tables already at this
// wxmedia's version are left alone, so that a role without the privilege
// to create tables can use a database prepared for it.
func (p *Postgres) migrate(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, p.conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLockKey); err != nil {
			return err
		}
		if err := p.migrateSchema(ctx, tx, PostgresCacheSchema, "content cache", len(cacheMigrations), func(i int) error {
			return cacheMigrations[i](ctx, tx)
		}); err != nil {
			return err
		}
		return p.migrateSchema(ctx, tx, p.schema, "state", len(stateMigrations), func(i int) error {
			return stateMigrations[i](ctx, tx, p)
		})
	})
	if err != nil {
		return p.wrap("open state: create or migrate tables", err)
	}
	return nil
}

// migrateSchema brings schema up to version want, creating it if need be.
func (p *Postgres) migrateSchema(ctx context.Context, tx pgx.Tx, schema, what string, want int, step func(i int) error) error {
	versions := pgx.Identifier{schema, "schema_version"}.Sanitize()
	var hasSchema, hasVersions bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1), to_regclass($2) IS NOT NULL",
		schema, versions).Scan(&hasSchema, &hasVersions); err != nil {
		return err
	}
	if !hasSchema {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
			return err
		}
	}
	if !hasVersions {
		if _, err := tx.Exec(ctx, `CREATE TABLE `+versions+` (
			version    integer PRIMARY KEY,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
			return err
		}
	}
	have, err := p.version(ctx, tx, schema)
	if err != nil {
		return err
	}
	if have > want {
		return fmt.Errorf("%w: %s has schema version %d, this wxmedia reads up to %d; upgrade wxmedia", ErrSchemaVersion, what, have, want)
	}
	for i := have; i < want; i++ {
		if err := step(i); err != nil {
			return fmt.Errorf("migrate %s to schema version %d: %w", what, i+1, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+versions+" (version) VALUES ($1)", i+1); err != nil {
			return err
		}
	}
	return nil
}
