package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/wxmedia/wxmedia/plan"
)

// warnLoosePermissions warns, once per run, when the data directory
// (.wxmedia, which holds the state and the sandbox's private keys) or a
// local state file is open to group or others, although wxmedia makes them
// 0700 and 0600: a clone or a copy (git keeps no such modes), or a
// hand-made directory. It only checks what exists, and only warns: the
// command goes on.
func (b stateBackend) warnLoosePermissions() {
	if b.notes == nil || runtime.GOOS == "windows" {
		return
	}
	b.notes.permChecked.Do(b.checkPermissions)
}

// checkPermissions is warnLoosePermissions' check, made once per run.
func (b stateBackend) checkPermissions() {
	dirs := []string{dataDir}
	ok, path := b.localPath()
	if ok && filepath.Base(filepath.Dir(path)) == dataDir && filepath.Clean(filepath.Dir(path)) != dataDir {
		dirs = append(dirs, filepath.Dir(path))
	}
	for _, dir := range dirs {
		if !warnNotDirectory(b.notes, dir) {
			// No mode of it helps, nor does the state file's check.
			return
		}
		warnLooseMode(b.notes, dir, 0o700, "directory")
	}
	if ok {
		warnLooseMode(b.notes, path, 0o600, "state file")
	}
}

// warnNotDirectory warns when dir exists but is not a directory (a file
// written in its place): wxmedia cannot keep its state there, and no
// chmod fixes that. It says what dir is and to move it aside, and reports
// whether dir is a directory or missing.
func warnNotDirectory(u *ui, dir string) bool {
	st, err := os.Stat(dir)
	if err != nil || st.IsDir() {
		return true
	}
	kind := "a regular file"
	switch t := st.Mode().Type(); {
	case t&os.ModeNamedPipe != 0:
		kind = "a named pipe"
	case t&os.ModeSocket != 0:
		kind = "a socket"
	case t&os.ModeDevice != 0:
		kind = "a device"
	case t != 0:
		kind = "not a regular file"
	}
	dir = plan.Visible(dir)
	u.warnf("%s is %s, not a directory: wxmedia keeps its state and caches in the directory %s", dir, kind, dir)
	u.hints([]string{fmt.Sprintf("move it aside (mv %s %s.orig) and run again", dir, dir)})
	return false
}

// warnLooseMode warns when path exists with permission bits beyond want,
// and says the chmod that fixes it.
func warnLooseMode(u *ui, path string, want os.FileMode, what string) {
	st, err := os.Stat(path)
	if err != nil {
		return
	}
	if perm := st.Mode().Perm(); perm&^want != 0 {
		u.warnf("%s %s has mode %04o, open to group or others; wxmedia keeps it %04o", what, path, perm, want)
		u.hints([]string{fmt.Sprintf("run chmod %o %s", want, path)})
	}
}
