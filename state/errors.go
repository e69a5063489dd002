package state

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

var (
	// ErrLocked is returned when another wxmedia holds the state lock and it
	// was not released within the lock timeout. The error returned is a
	// *LockedError, which names the holder when it is known.
	ErrLocked = errors.New("state is locked by another wxmedia")

	// ErrCorrupt is returned when the state file is not a bbolt database, is
	// truncated, or lacks the records every wxmedia state has. The file is
	// left as it is.
	ErrCorrupt = errors.New("state file is corrupt or not a wxmedia state")

	// ErrSchemaVersion is returned when the state was written by a newer
	// wxmedia, with a schema version this one does not understand.
	ErrSchemaVersion = errors.New("state schema version is not supported")

	// ErrReadOnly is returned when a write is attempted on a state opened
	// read-only.
	ErrReadOnly = errors.New("state is open read-only")

	// ErrNotFound is returned when a resource to move or change is not in
	// the state.
	ErrNotFound = errors.New("not in the state")

	// ErrExists is returned when a resource would be recorded at an address
	// that is already taken.
	ErrExists = errors.New("already in the state")

	// ErrLineage is returned by Push when the pushed state has another
	// lineage than the state it would replace: it is a different state.
	ErrLineage = errors.New("state lineages differ")

	// ErrSerialBehind is returned by Push when the pushed state is older
	// than the state it would replace: its serial is lower.
	ErrSerialBehind = errors.New("pushed state is older than the current state")

	// ErrInvalid is returned when a resource, cache entry or output handed
	// to the state breaks one of its documented invariants.
	ErrInvalid = errors.New("invalid state record")
)

// LockInfo describes the wxmedia process holding the state lock for
// writing. A writer records it in <state>.lock.json right after acquiring
// the lock and removes it on Close.
type LockInfo struct {
	// PID is the holder's process ID.
	PID int
	// Host is the holder's host name.
	Host string
	// Command is the wxmedia command the holder runs, e.g. apply.
	Command string
	// Started is when the holder acquired the lock, in UTC to the second.
	Started time.Time
}

// LockedError is the error returned by OpenLocal when the state lock could
// not be acquired in time. It wraps ErrLocked.
type LockedError struct {
	// Path is the state file.
	Path string
	// Holder describes the process holding the lock; it is nil when the
	// holder left no details, e.g. when it opened the state read-only.
	Holder *LockInfo
	// Waited is how long the lock was waited for (the lock timeout); 0
	// when it was tried once.
	Waited time.Duration
	// Session is, for a postgres state, the PostgreSQL backend process ID
	// of the holder's lock session: the ID force-unlock takes. 0 when
	// unknown, and for a local state.
	Session int
	// Reader is set when, on a local state, only readers (plan, output,
	// show, the reading state commands) held the lock all the time a
	// writer waited (ReaderWait, or Waited when longer): no writer holds
	// it, and there is nothing to force-unlock.
	Reader bool
}

// Error describes the holder, e.g.
//
//	state is locked by another wxmedia: pid 1234 on host "ci-7", running "apply" since 2026-11-25T21:05:00Z
func (e *LockedError) Error() string {
	if e.Reader {
		return fmt.Sprintf("%s (%s): held by a reader (plan, output, show or a state command that reads) for all of %s", ErrLocked, e.Path, e.Waited)
	}
	if e.Holder == nil {
		return fmt.Sprintf("%s (%s): holder unknown", ErrLocked, e.Path)
	}
	h := e.Holder
	var b strings.Builder
	fmt.Fprintf(&b, "%s: pid %d", ErrLocked, h.PID)
	if h.Host != "" {
		fmt.Fprintf(&b, " on host %q", h.Host)
	}
	if h.Command != "" {
		fmt.Fprintf(&b, ", running %q", h.Command)
	}
	if !h.Started.IsZero() {
		fmt.Fprintf(&b, " since %s", h.Started.UTC().Format(time.RFC3339))
	}
	if e.Session != 0 {
		fmt.Fprintf(&b, ", lock session %d", e.Session)
	}
	return b.String()
}

// Unwrap returns ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }
