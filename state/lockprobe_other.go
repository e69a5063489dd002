//go:build !unix

package state

import "time"

// heldByReaders reports false: outside Unix, wxmedia cannot tell a
// reader's lock from a writer's, and treats every holder as a writer.
func heldByReaders(string) bool { return false }

// yieldToWriter does nothing: no writer waits for readers (heldByReaders).
func yieldToWriter(string, time.Time) {}

// markWriterWaiting leaves no marker: no writer waits for readers.
func markWriterWaiting(string) func() { return nil }
