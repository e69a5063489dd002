//go:build unix

// Package cputime reads the CPU time the process has used, which the
// benchmarks report beside their wall time: it moves less than wall time
// on a busy machine.
package cputime

import (
	"syscall"
	"time"
)

// Process is the CPU time (user and system, of every core) the process
// has used so far; 0 when it cannot be read.
func Process() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
