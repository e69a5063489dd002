//go:build !unix

package state

import "os"

// mapFile is not available here: walkPages reads each page instead.
func mapFile(f *os.File, size int64) ([]byte, func(), bool) { return nil, nil, false }
