//go:build !unix

package schema

// mkfifo does nothing where named pipes cannot be made.
func mkfifo(path string) error { return nil }
