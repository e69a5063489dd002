//go:build unix

package main

import (
	"syscall"
	"testing"
	"time"
)

// interrupt sends SIGINT to this process, which the handler under test
// catches.
func interrupt(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
}

// catchExit replaces the process exit of the handlers with a channel.
func catchExit(t *testing.T) <-chan struct{} {
	exited := make(chan struct{}, 1)
	old := exitAfterInterrupts
	exitAfterInterrupts = func() { exited <- struct{}{} }
	t.Cleanup(func() { exitAfterInterrupts = old })
	return exited
}

// TestSecondInterruptEndsABlockedCommand: the command never returns (it
// is blocked in something the context cannot reach); the second Ctrl-C
// cancels its context and, the command still not returning, ends the
// process within a few seconds.
func TestSecondInterruptEndsABlockedCommand(t *testing.T) {
	exited := catchExit(t)
	first := make(chan struct{})
	ctx, stop, cancel := gracefulInterrupt(func() { close(first) })
	defer cancel()
	interrupt(t)
	<-stop
	<-first
	if ctx.Err() != nil {
		t.Fatal("the first interrupt cancelled the context")
	}
	start := time.Now()
	interrupt(t)
	<-ctx.Done()
	select {
	case <-exited:
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("the process ended %v after the second interrupt, want within 5s", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second interrupt did not end a blocked command within 10s")
	}
}

// TestSecondInterruptWithoutGraceEndsAtOnce: where the first Ctrl-C
// cancels at once (the sandbox server), the second ends the process.
func TestSecondInterruptWithoutGraceEndsAtOnce(t *testing.T) {
	exited := catchExit(t)
	ctx, cancel := contextWithInterrupt()
	defer cancel()
	interrupt(t)
	<-ctx.Done()
	interrupt(t)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("the second interrupt did not end the process within 5s")
	}
}

// TestReturningCommandIsNotEnded: a command that returns after its context
// is cancelled is not ended by the handler.
func TestReturningCommandIsNotEnded(t *testing.T) {
	exited := catchExit(t)
	ctx, stop, cancel := gracefulInterrupt(func() {})
	interrupt(t)
	<-stop
	interrupt(t)
	<-ctx.Done()
	cancel() // the command returns
	select {
	case <-exited:
		t.Fatal("the process was ended although the command returned")
	case <-time.After(abortGrace + time.Second):
	}
}
