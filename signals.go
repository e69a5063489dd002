package main

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// contextWithInterrupt is cancelled on the first SIGINT or SIGTERM; a second
// one ends the process at once.
func contextWithInterrupt() (context.Context, context.CancelFunc) {
	ctx, _, cancel := gracefulInterrupt(nil)
	return ctx, cancel
}

// gracefulInterrupt handles SIGINT and SIGTERM for long work: the first
// closes the returned stop channel (start nothing new, let what is in
// flight finish) and calls onFirst; a second cancels the context, which
// aborts the uploads in flight at once, and the command then returns
// through its deferred closes (state lock released) with status 1; a third
// ends the process immediately. Every state write is a complete
// transaction, so an abort loses at most the uploads in flight.
func gracefulInterrupt(onFirst func()) (context.Context, <-chan struct{}, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	stop := make(chan struct{})
	done := make(chan struct{})
	ch := make(chan os.Signal, 3)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-ch:
		case <-done:
			return
		}
		close(stop)
		if onFirst == nil {
			cancel()
			return
		}
		onFirst()
		select {
		case <-ch:
		case <-done:
			return
		}
		cancel()
		select {
		case <-ch:
			os.Exit(1)
		case <-done:
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
