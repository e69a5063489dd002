package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/wxmedia/wxmedia/internal/atomicfile"
	"github.com/wxmedia/wxmedia/internal/safefile"
)

// lockInfoPath returns the side file where the writer holding the lock on
// the state at path describes itself.
func lockInfoPath(path string) string { return path + ".lock.json" }

// writeLockInfo records this process as the holder of the lock on the state
// at path. The caller holds the lock.
func writeLockInfo(path, command string) error {
	host, _ := os.Hostname()
	info := LockInfo{
		PID:     os.Getpid(),
		Host:    host,
		Command: command,
		Started: time.Now().UTC().Truncate(time.Second),
	}
	data, err := json.Marshal(storedLockInfo(info))
	if err != nil {
		return err
	}
	return writeFileAtomic(lockInfoPath(path), append(data, '\n'))
}

// readLockInfo returns the holder recorded beside the state at path, or nil
// when there is none, it cannot be read, or it was left by a process of this
// host that no longer runs.
func readLockInfo(path string) *LockInfo {
	data, err := readLockFile(path)
	if err != nil {
		return nil
	}
	var stored storedLockInfo
	if err := json.Unmarshal(data, &stored); err != nil || stored.PID <= 0 {
		return nil
	}
	info := LockInfo(stored)
	if host, err := os.Hostname(); err == nil && host == info.Host && !processAlive(info.PID) {
		return nil
	}
	return &info
}

// maxLockInfoSize bounds a read of the lock details, a few hundred bytes
// of JSON that anyone who can write beside the state may have replaced.
const maxLockInfoSize = 64 << 10

// readLockFile reads the lock details beside the state at path as any file
// from outside is read (safefile): a named pipe or a device in their place
// is refused at once, never waited on or read without end.
func readLockFile(path string) ([]byte, error) {
	return safefile.ReadFile(lockInfoPath(path), maxLockInfoSize)
}

// writeFileAtomic replaces the file at path with data, mode 0600, durably:
// a reader sees either the old file or the new one.
func writeFileAtomic(path string, data []byte) error {
	err := atomicfile.WriteBytes(path, data, 0o600, atomicfile.Durable)
	var ce *atomicfile.CreateError
	if errors.As(err, &ce) {
		return dirError(ce.Dir, ce.Err)
	}
	return err
}

// dirError explains a failure to create a file in dir.
func dirError(dir string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("state directory %s is not writable: %w", dir, err)
	}
	return fmt.Errorf("create file in state directory %s: %w", dir, err)
}

// syncDir makes a rename or link in dir durable.
func syncDir(dir string) error { return atomicfile.SyncDir(dir) }
