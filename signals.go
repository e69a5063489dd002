package main

import (
	"context"
	"os"
	"os/signal"
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
// flight finish) and calls onFirst; a second one ends the process at once
// with status 130. Every state write is a complete transaction, so an abort
// loses at most the uploads in flight.
func gracefulInterrupt(onFirst func()) (context.Context, <-chan struct{}, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	stop := make(chan struct{})
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
		close(stop)
		if onFirst != nil {
			onFirst()
		} else {
			cancel()
		}
		select {
		case <-ch:
			os.Exit(130)
		case <-ctx.Done():
		}
	}()
	return ctx, stop, func() { signal.Stop(ch); cancel() }
}
