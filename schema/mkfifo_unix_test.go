//go:build unix

package schema

import "syscall"

// mkfifo makes a named pipe, which fileset lists like a file.
func mkfifo(path string) error { return syscall.Mkfifo(path, 0o644) }
