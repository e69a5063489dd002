//go:build !unix

package schema

import "io/fs"

// dirKeyOf is unknown here: directory cycles are not detected on these
// systems (their links to directories need privileges to make).
func dirKeyOf(fi fs.FileInfo) (dirKey, bool) { return dirKey{}, false }
