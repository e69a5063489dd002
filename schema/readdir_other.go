//go:build !linux

package schema

import (
	"io/fs"
	"os"
)

// readDir calls fn with the name and kind of every entry of the directory
// full, except . and ..; name is only valid during the call.
//
// enter is called first with the directory's key (see fileset_cycles.go);
// when it returns false, nothing is listed.
func readDir(full string, enter func(k dirKey, known bool) bool, fn func(name string, kind entryKind)) error {
	f, err := os.Open(full)
	if err != nil {
		return err
	}
	if fi, err := f.Stat(); err == nil {
		if !enter(dirKeyOf(fi)) {
			f.Close()
			return nil
		}
	}
	entries, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return err
	}
	for _, e := range entries {
		kind := kindOther
		switch {
		case e.Type()&(fs.ModeSymlink|fs.ModeIrregular) != 0:
			kind = kindFollow
		case e.IsDir():
			kind = kindDir
		}
		fn(e.Name(), kind)
	}
	return nil
}
