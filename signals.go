package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// signalContext is cancelled on the first SIGINT or SIGTERM; a second one
// ends the process at once.
func signalContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-ch:
			cancel()
		case <-ctx.Done():
			return
		}
		<-ch
		os.Exit(130)
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}

// contextWithInterrupt is cancelled on the first SIGINT or SIGTERM.
func contextWithInterrupt() (context.Context, context.CancelFunc) {
	return signalContext()
}
