package schema

import "unsafe"

// byteArena hands out the bytes of many small strings from a few large
// blocks: the file names a listing finds, and the addresses and paths of
// a resource's instances. A large for_each makes hundreds of thousands
// of them, all live until the plan ends; one allocation each would cost
// a size class's rounding and a header per string, and time. The plan
// runs without collections (internal/memtune), so a string here is never
// freed before its block, which holds strings that live as long.
//
// Written by hand: the standard library's arena experiment is not
// available, and what is needed is a bump allocator of a dozen lines.
type byteArena struct {
	buf []byte
	// block is the size of the last block made: each is twice the last,
	// from minArenaBlock to maxArenaBlock, so that a few names take
	// little and many take few blocks.
	block int
}

const (
	minArenaBlock = 256
	maxArenaBlock = 64 << 10
)

// reserve makes the next block at least n bytes, for a caller that
// knows how much it is about to take.
func (a *byteArena) reserve(n int) {
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, n)
	}
}

// take returns n bytes (n > 0), never handed out again (unless reset);
// a nil arena makes them on their own.
func (a *byteArena) take(n int) []byte {
	if a == nil {
		return make([]byte, n)
	}
	if cap(a.buf)-len(a.buf) < n {
		a.block = min(max(a.block*2, minArenaBlock), maxArenaBlock)
		if n > a.block/4 {
			return make([]byte, n) // large: its own allocation
		}
		a.buf = make([]byte, 0, a.block)
	}
	l := len(a.buf)
	a.buf = a.buf[:l+n]
	return a.buf[l : l+n : l+n]
}

// reset hands out again the bytes of the last block: only for an arena
// whose strings are used, and copied, before the next reset (scratch).
func (a *byteArena) reset() { a.buf = a.buf[:0] }

// concat returns the strings joined, as one string in the arena.
func (a *byteArena) concat(parts ...string) string {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	if n == 0 {
		return ""
	}
	b := a.take(n)[:0]
	for _, p := range parts {
		b = append(b, p...)
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// arenaString is the string of b, bytes taken from an arena and never
// written again.
func arenaString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}
