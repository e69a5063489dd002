package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
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
		warnLooseMode(b.notes, dir, 0o700, "directory")
	}
	if ok {
		warnLooseMode(b.notes, path, 0o600, "state file")
	}
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
