//go:build unix

package interrupt

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

// catchExit is an exit for the handlers that signals a channel instead of
// ending the process.
func catchExit() (exit func(), exited <-chan struct{}) {
	ch := make(chan struct{}, 1)
	return func() { ch <- struct{}{} }, ch
}

// TestSecondInterruptEndsABlockedCommand: the command never returns (it
// is blocked in something the context cannot reach); the second Ctrl-C
// cancels its context and, the command still not returning, ends the
// process within a few seconds.
func TestSecondInterruptEndsABlockedCommand(t *testing.T) {
	exit, exited := catchExit()
	first := make(chan struct{})
	ctx, stop, cancel := Graceful(func() { close(first) }, exit)
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
	exit, exited := catchExit()
	ctx, cancel := Context(exit)
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
	exit, exited := catchExit()
	ctx, stop, cancel := Graceful(func() {}, exit)
	interrupt(t)
	<-stop
	interrupt(t)
	<-ctx.Done()
	cancel() // the command returns
	select {
	case <-exited:
		t.Fatal("the process was ended although the command returned")
	case <-time.After(AbortGrace + time.Second):
	}
}

// TestThirdInterruptEndsAtOnce: a third Ctrl-C does not wait for the
// grace of the second.
func TestThirdInterruptEndsAtOnce(t *testing.T) {
	exit, exited := catchExit()
	ctx, stop, cancel := Graceful(func() {}, exit)
	defer cancel()
	interrupt(t)
	<-stop
	interrupt(t)
	<-ctx.Done()
	start := time.Now()
	interrupt(t)
	select {
	case <-exited:
		if d := time.Since(start); d >= AbortGrace {
			t.Fatalf("the third interrupt ended the process after %v, the grace of the second", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the third interrupt did not end the process")
	}
}
