package plan

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// BrokenLinkError: the source is a symbolic link whose target does not
// exist.
type BrokenLinkError struct {
	Target string // the link's text, as readlink gives it
}

func (e *BrokenLinkError) Error() string {
	return fmt.Sprintf("source is a broken symbolic link: its target %q does not exist", e.Target)
}

// Is makes a broken link match fs.ErrNotExist, as the missing file it
// leads to.
func (e *BrokenLinkError) Is(target error) bool { return target == fs.ErrNotExist }

// danglingLink returns the target of the symbolic link at path when the
// link exists and what it points to does not.
func danglingLink(path string) (string, bool) {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return "", false
	}
	target, err := os.Readlink(path)
	if err != nil {
		return "", false
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return "", false
	}
	return target, true
}

// resolveNormalized finds the file an absolute path names when its
// components are stored on disk in another Unicode normalisation form
// than written: macOS writes names decomposed (NFD), while configuration
// text, and every string of the expression language, is composed (NFC).
// Each component that does not exist as written is looked up among its
// directory's entries by NFC equality, and only an entry that is the one
// match is taken; false when some component has no entry or several.
func resolveNormalized(path string) (string, bool) {
	if !filepath.IsAbs(path) {
		return "", false
	}
	vol := filepath.VolumeName(path)
	parts := strings.Split(filepath.ToSlash(path[len(vol):]), "/")
	cur := vol + string(filepath.Separator)
	changed := false
	for _, p := range parts {
		if p == "" {
			continue
		}
		next := filepath.Join(cur, p)
		if _, err := os.Lstat(next); err == nil {
			cur = next
			continue
		}
		entries, err := os.ReadDir(cur)
		if err != nil {
			return "", false
		}
		want := norm.NFC.String(p)
		found := ""
		for _, e := range entries {
			if norm.NFC.String(e.Name()) == want {
				if found != "" {
					return "", false // ambiguous: two entries match
				}
				found = e.Name()
			}
		}
		if found == "" {
			return "", false
		}
		cur, changed = filepath.Join(cur, found), true
	}
	return cur, changed
}
