// Package datadir creates directories under wxmedia's data directory,
// .wxmedia: the one way every writer of a file there (the state, the stat
// cache, the no-op index, the sandbox, cached platform certificates) makes
// its directory. The data directory holds private keys and machine-local
// caches that must not be committed, so it is git-ignored by itself, as
// other tools do for theirs: it gets a .gitignore containing "*".
package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/wxmedia/wxmedia/internal/atomicfile"
)

// Name is the data directory's name.
const Name = ".wxmedia"

// GitignoreName is the ignore file written into the data directory.
const GitignoreName = ".gitignore"

// Gitignore is the ignore file's content: everything in the directory.
const Gitignore = "# Written by wxmedia: state, sandbox keys and machine-local caches stay out of version control.\n*\n"

// MkdirAll creates dir and any missing parents with mode 0700, as
// os.MkdirAll does. When dir is a data directory (named .wxmedia) or lies
// inside one, the nearest such directory also gets its .gitignore unless it
// has one (whatever its content: a user's own is kept). That costs one
// stat per call once the file exists, so writers call it on every write
// and a data directory made by an older wxmedia, or copied without its
// .gitignore, gets one the next time wxmedia writes there.
func MkdirAll(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	top, ok := find(dir)
	if !ok {
		return nil
	}
	path := filepath.Join(top, GitignoreName)
	if _, err := os.Lstat(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return nil // there, or unreadable: never overwrite a user's file
	}
	if err := atomicfile.WriteBytes(path, []byte(Gitignore), 0o600, atomicfile.Replace); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// find returns the nearest directory named .wxmedia among dir and its
// parents, as the path names them.
func find(dir string) (string, bool) {
	for d := filepath.Clean(dir); ; {
		if filepath.Base(d) == Name {
			return d, true
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", false
		}
		d = parent
	}
}
