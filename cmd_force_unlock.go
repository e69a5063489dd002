package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"

	"github.com/wxmedia/wxmedia/internal/arguments"
	"github.com/wxmedia/wxmedia/state"
)

func runForceUnlock(u *ui, a *arguments.ForceUnlock) error {
	b, err := configuredBackend(u)
	if err != nil {
		return err
	}
	lockID := 0
	if a.LockID != "" && !b.isPostgres() {
		return withHints(fmt.Errorf("force-unlock takes no lock ID on a local state, not %q: it releases only a lock whose holder is gone", a.LockID),
			"run wxmedia force-unlock without an argument")
	}
	if a.LockID != "" && b.isPostgres() {
		if lockID, err = strconv.Atoi(a.LockID); err != nil || lockID <= 0 {
			return fmt.Errorf("lock ID %q is not a session ID: the lock error shows it", a.LockID)
		}
	}
	stale, err := b.forceUnlock(lockID)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no state in %s: nothing to unlock", b.where())
	}
	var le *state.LockedError
	if errors.As(err, &le) {
		return withHints(err, "the holder still runs; wait for it, or stop it, then try again")
	}
	if err != nil {
		return err
	}
	if stale == nil {
		u.printf("The state was not locked.\n")
		return nil
	}
	u.printf("Released the lock held by pid %d on host %q (%q since %s).\n\nwxmedia state has been successfully unlocked!\n", stale.PID, stale.Host, stale.Command, stale.Started.Format("2006-01-02T15:04:05Z07:00"))
	return nil
}
