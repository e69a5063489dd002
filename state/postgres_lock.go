package state

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
)

// lockPollInterval is how often a writer waiting for the state lock retries.
const lockPollInterval = 50 * time.Millisecond

// lockKey is the advisory lock key of the state in schema.
func lockKey(schema string) int64 {
	h := sha256.Sum256([]byte("wxmedia state lock\x00" + schema))
	return int64(binary.BigEndian.Uint64(h[:8]))
}

// migrationLockKey serialises table creation and migrations across
// wxmedia processes sharing a database.
var migrationLockKey = lockKey("\x00migrations")

// acquireLock takes the state's advisory lock on p.conn, polling until
// timeout (forever when negative).
func (p *Postgres) acquireLock(ctx context.Context, timeout time.Duration, onWait func(*LockInfo, time.Duration)) error {
	key := lockKey(p.schema)
	deadline := time.Now().Add(timeout)
	for first := true; ; first = false {
		var got bool
		if err := p.conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&got); err != nil {
			return p.wrap("open state: take lock", err)
		}
		if got {
			return nil
		}
		if timeout >= 0 && !time.Now().Before(deadline) {
			h, err := p.lockHolder(ctx)
			if err != nil {
				return err
			}
			le := &LockedError{Path: p.where, Waited: timeout}
			if h != nil {
				le.Holder, le.Session = &h.LockInfo, h.BackendPID
			}
			return le
		}
		if first && onWait != nil {
			h, _ := p.lockHolder(ctx)
			var info *LockInfo
			if h != nil {
				info = &h.LockInfo
			}
			onWait(info, timeout)
		}
		time.Sleep(lockPollInterval)
	}
}

// PostgresLockHolder describes the session holding a postgres state's lock.
type PostgresLockHolder struct {
	LockInfo
	// BackendPID is the PostgreSQL backend process of the holder's lock
	// session.
	BackendPID int
}

// lockHolder returns the recorded holder of the state lock, or nil when
// the lock is free or its holder recorded nothing. A record is trusted only
// while the session it names still holds the lock.
func (p *Postgres) lockHolder(ctx context.Context) (*PostgresLockHolder, error) {
	var exists bool
	if err := p.pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", p.tbl("lock")).Scan(&exists); err != nil {
		return nil, p.wrap("read lock holder", err)
	}
	if !exists {
		return nil, nil
	}
	key := lockKey(p.schema)
	var h PostgresLockHolder
	err := p.pool.QueryRow(ctx, `SELECT l.pid, l.host, l.command, l.started, l.backend_pid FROM `+p.tbl("lock")+` l
		WHERE EXISTS (SELECT 1 FROM pg_locks k WHERE k.locktype = 'advisory' AND k.granted AND k.pid = l.backend_pid
			AND k.database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND k.classid = $1::int8::oid AND k.objid = $2::int8::oid AND k.objsubid = 1)`,
		int64(uint32(uint64(key)>>32)), int64(uint32(uint64(key)))).Scan(&h.PID, &h.Host, &h.Command, &h.Started, &h.BackendPID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, p.wrap("read lock holder", err)
	}
	h.Started = h.Started.UTC()
	return &h, nil
}

// LockHolder returns who holds the state's lock, or nil when it is free or
// its holder is not known.
func (p *Postgres) LockHolder() (*LockInfo, error) {
	h, err := p.lockHolder(context.Background())
	if h == nil || err != nil {
		return nil, err
	}
	return &h.LockInfo, nil
}

// writeLockInfo records this process as the lock holder. The caller holds
// the lock.
func (p *Postgres) writeLockInfo(ctx context.Context, command string) error {
	host, _ := os.Hostname()
	_, err := p.conn.Exec(ctx, `INSERT INTO `+p.tbl("lock")+` (singleton, pid, host, command, started, backend_pid)
		VALUES (true, $1, $2, $3, $4, pg_backend_pid())
		ON CONFLICT (singleton) DO UPDATE SET pid = EXCLUDED.pid, host = EXCLUDED.host, command = EXCLUDED.command,
			started = EXCLUDED.started, backend_pid = EXCLUDED.backend_pid`,
		os.Getpid(), host, command, time.Now().UTC().Truncate(time.Second))
	if err != nil {
		return p.wrap("open state: record lock holder", err)
	}
	return nil
}
