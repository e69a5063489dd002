// Package interrupt handles the interrupts (Ctrl-C, SIGINT, and SIGTERM)
// of a command that does long work: the first stops starting new work,
// the second aborts what is in flight, and the process ends if the command
// does not return promptly after that.
package interrupt

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// AbortGrace is how long the command has, after the interrupt that
// cancels its context, to return through its deferred closes before the
// process ends anyway: whatever it is blocked in, the second Ctrl-C ends
// it promptly.
const AbortGrace = 2 * time.Second

// Exit ends the process with status 1: the exit of the handlers, but in
// tests.
func Exit() { os.Exit(1) }

// notifyInterrupt is a context done at the next SIGINT or SIGTERM; its
// release restores the signals' default action, unless another context
// still waits for them.
func notifyInterrupt() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// Context is cancelled on the first SIGINT or SIGTERM; a second one ends
// the process at once, through exit.
func Context(exit func()) (context.Context, context.CancelFunc) {
	ctx, _, cancel := Graceful(nil, exit)
	return ctx, cancel
}

// Graceful handles SIGINT and SIGTERM for long work: the first
// closes the returned stop channel (start nothing new, let what is in
// flight finish) and calls onFirst; the next cancels the context, which
// aborts the uploads in flight at once, and the command then returns
// through its deferred closes (state lock released) with status 1 — or,
// should it not have returned AbortGrace later, exit ends the process; one
// more calls exit at once. With a nil onFirst the first signal cancels at
// once and the second calls exit. Every state write is a complete
// transaction, so an abort loses at most the uploads in flight.
//
// Each signal is awaited with signal.NotifyContext; the context for the
// next one is made before the last one's is released, so that no signal
// meets the default action (ending the process without its deferred
// closes) while the command runs. A signal that comes in the moment
// between one context's signal and the next context (two goroutine
// switches) goes to the spent one and is not counted: the user presses
// Ctrl-C once more. A context is done on the first signal only, so the
// next one cannot be made earlier (it would take the same signal).
func Graceful(onFirst, exit func()) (context.Context, <-chan struct{}, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	stop := make(chan struct{})
	done := make(chan struct{})     // closed when the command returns
	finished := make(chan struct{}) // closed when the handler has let go
	sig, release := notifyInterrupt()
	// await waits for the next signal and says whether it came, or the
	// timeout passed with the command still running; false when the
	// command returned first.
	await := func(timeout <-chan time.Time) bool {
		select {
		case <-sig.Done():
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
		next, releaseNext := notifyInterrupt()
		release()
		sig, release = next, releaseNext
		return true
	}
	go func() {
		defer close(finished)
		defer func() { release() }()
		if !await(nil) {
			return
		}
		close(stop)
		if onFirst != nil {
			onFirst()
			if !await(nil) {
				return
			}
		}
		cancel()
		var timeout <-chan time.Time
		if onFirst != nil {
			grace := time.NewTimer(AbortGrace)
			defer grace.Stop()
			timeout = grace.C
		}
		if await(timeout) {
			exit()
		}
	}()
	var once sync.Once
	return ctx, stop, func() {
		once.Do(func() {
			close(done)
			cancel()
			<-finished
		})
	}
}
