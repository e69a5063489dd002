//go:build !unix

package state

// processAlive reports whether a process with the given ID runs on this
// host. Without a portable way to tell, it assumes it does.
func processAlive(pid int) bool { return true }
