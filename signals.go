package main

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// abortGrace is how long the command has, after the interrupt that
// cancels its context, to return through its deferred closes before the
// process ends anyway: whatever it is blocked in, the second Ctrl-C ends
// it promptly.
const abortGrace = 2 * time.Second

// exitAfterInterrupts ends the process; tests replace it.
var exitAfterInterrupts = func() { os.Exit(1) }

// contextWithInterrupt is cancelled on the first SIGINT or SIGTERM; a second
// one ends the process at once.
func contextWithInterrupt() (context.Context, context.CancelFunc) {
	ctx, _, cancel := gracefulInterrupt(nil)
	return ctx, cancel
}

// gracefulInterrupt handles SIGINT and SIGTERM for long work: the first
// closes the returned stop channel (start nothing new, let what is in
// flight finish) and calls onFirst; the next cancels the context, which
// aborts the uploads in flight at once, and the command then returns
// through its deferred closes (state lock released) with status 1 — or,
// should it not have returned abortGrace later, the process ends with
// status 1; one more ends the process immediately. With a nil onFirst the
// first signal cancels at once and the second ends the process. Every
// state write is a complete transaction, so an abort loses at most the
// uploads in flight.
func gracefulInterrupt(onFirst func()) (context.Context, <-chan struct{}, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	stop := make(chan struct{})
	done := make(chan struct{})
	ch := make(chan os.Signal, 3)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	wait := func(timeout <-chan time.Time) bool {
		select {
		case <-ch:
			return true
		case <-timeout:
			select {
			case <-done:
				return false // it returned meanwhile
			default:
				return true
			}
		case <-done:
			return false
		}
	}
	go func() {
		if !wait(nil) {
			return
		}
		close(stop)
		if onFirst != nil {
			onFirst()
			if !wait(nil) {
				return
			}
		}
		cancel()
		var timeout <-chan time.Time
		if onFirst != nil {
			grace := time.NewTimer(abortGrace)
			defer grace.Stop()
			timeout = grace.C
		}
		if wait(timeout) {
			exitAfterInterrupts()
		}
	}()
	var once sync.Once
	return ctx, stop, func() {
		once.Do(func() {
			signal.Stop(ch)
			close(done)
			cancel()
		})
	}
}
