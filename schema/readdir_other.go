//go:build !linux

package schema

import (
	"io/fs"
	"os"
)

// readDir calls fn with the name and kind of every entry of the directory
// full, except . and ..; name is only valid during the call.
func readDir(full string, fn func(name string, kind entryKind)) error {
	f, err := os.Open(full)
	if err != nil {
		return err
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
