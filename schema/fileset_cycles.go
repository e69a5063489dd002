package schema

import (
	"io/fs"
	"os"
	"strings"
)

// Directory cycles. A symbolic link to a directory that contains it
// (media/sub/up -> ..) makes a tree endless: "**" would list the same files
// under up/, up/sub/up/, … until paths grow too long, and two such links
// double the work at every level. Both walkers of fileset (the parallel
// walk and doublestar) therefore never list a directory whose path is
// cyclic: a path where two of its directories, the directory itself
// included, are one real directory (same device and inode). Each real
// directory is so listed at most once per path, and a cycle ends where it
// closes.

// dirKey identifies a real directory: its device and inode.
type dirKey struct{ dev, ino uint64 }

// dirChain is a directory and the directories of its path above it.
type dirChain struct {
	key    dirKey
	parent *dirChain
}

// has reports whether k is a directory of the chain.
func (c *dirChain) has(k dirKey) bool {
	for ; c != nil; c = c.parent {
		if c.key == k {
			return true
		}
	}
	return false
}

// keyOf returns the key of the directory at path (following links).
func keyOf(path string) (dirKey, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return dirKey{}, false
	}
	return dirKeyOf(fi)
}

// prefixChain returns the chain of root and of each directory of rel
// (slash-separated, "." for root) above rel itself; false when that path
// is already cyclic, which makes everything below it cyclic too.
func prefixChain(root, rel string) (*dirChain, bool) {
	if rel == "." || rel == "" {
		return nil, true
	}
	var chain *dirChain
	add := func(p string) bool {
		k, ok := keyOf(p)
		if !ok {
			return true // not a directory one can know: no cycle through it
		}
		if chain.has(k) {
			return false
		}
		chain = &dirChain{key: k, parent: chain}
		return true
	}
	if !add(root) {
		return nil, false
	}
	segs := strings.Split(rel, "/")
	for i := range len(segs) - 1 {
		if !add(root + "/" + strings.Join(segs[:i+1], "/")) {
			return nil, false
		}
	}
	return chain, true
}

// acyclicFS is os.DirFS(root) for doublestar, with cyclic directories
// unlisted: ReadDir of a cyclic path is empty, and Stat of anything in a
// cyclic directory finds nothing. Doublestar calls it from one goroutine.
type acyclicFS struct {
	root string
	fsys fs.FS
	keys map[string]dirKey // by path relative to root; absent: unknown
}

func newAcyclicFS(root string) *acyclicFS {
	return &acyclicFS{root: root, fsys: os.DirFS(root), keys: map[string]dirKey{}}
}

func (a *acyclicFS) Open(name string) (fs.File, error) { return a.fsys.Open(name) }

// cyclic reports whether the directory name (relative to root) has a
// cyclic path.
func (a *acyclicFS) cyclic(name string) bool {
	if name == "." || name == "" {
		return false
	}
	seen := map[dirKey]bool{}
	check := func(rel string) bool {
		k, ok := a.keys[rel]
		if !ok {
			full := a.root
			if rel != "." {
				full += "/" + rel
			}
			if k, ok = keyOf(full); !ok {
				return false
			}
			a.keys[rel] = k
		}
		if seen[k] {
			return true
		}
		seen[k] = true
		return false
	}
	if check(".") {
		return true
	}
	for i := 0; i < len(name); i++ {
		if name[i] == '/' && check(name[:i]) {
			return true
		}
	}
	return check(name)
}

func (a *acyclicFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if a.cyclic(name) {
		return nil, nil
	}
	return fs.ReadDir(a.fsys, name)
}

func (a *acyclicFS) Stat(name string) (fs.FileInfo, error) {
	if i := strings.LastIndexByte(name, '/'); i > 0 && a.cyclic(name[:i]) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return fs.Stat(a.fsys, name)
}
