package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"
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
	data, err := json.Marshal(info)
	if err != nil {
		return err
	}
	return writeFileAtomic(lockInfoPath(path), append(data, '\n'))
}

// readLockInfo returns the holder recorded beside the state at path, or nil
// when there is none, it cannot be read, or it was left by a process of this
// host that no longer runs.
func readLockInfo(path string) *LockInfo {
	data, err := os.ReadFile(lockInfoPath(path))
	if err != nil {
		return nil
	}
	var info LockInfo
	if err := json.Unmarshal(data, &info); err != nil || info.PID <= 0 {
		return nil
	}
	if host, err := os.Hostname(); err == nil && host == info.Host && !processAlive(info.PID) {
		return nil
	}
	return &info
}

// writeFileAtomic replaces the file at path with data, mode 0600: it writes
// a temporary file in the same directory, syncs it and renames it over path,
// so that a reader sees either the old file or the new one.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return dirError(dir, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// dirError explains a failure to create a file in dir.
func dirError(dir string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("state directory %s is not writable: %w", dir, err)
	}
	return fmt.Errorf("create file in state directory %s: %w", dir, err)
}

// syncDir makes a rename or link in dir durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
