package main

import (
	"bytes"
	"encoding/binary"
	"hash/fnv"
	"os"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// flipin FILE TEXT N|all: flips the lowest bit of the middle byte of the
// Nth occurrence (from 0) of TEXT in FILE, or of every occurrence, as a
// damaged disk would. TEXT @NAME is the content of the file NAME.
func cmdFlipIn(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 || neg || args[1] == "" {
		ts.Fatalf("usage: flipin FILE TEXT N|all")
	}
	text := args[1]
	if name, ok := strings.CutPrefix(text, "@"); ok {
		text = ts.ReadFile(name)
	}
	path := ts.MkAbs(args[0])
	b, err := os.ReadFile(path)
	ts.Check(err)
	var at []int
	for from := 0; ; {
		j := bytes.Index(b[from:], []byte(text))
		if j < 0 {
			break
		}
		at, from = append(at, from+j), from+j+len(text)
	}
	if args[2] != "all" {
		n, err := strconv.Atoi(args[2])
		ts.Check(err)
		if n < 0 || n >= len(at) {
			ts.Fatalf("%s holds %q only %d times", args[0], text, len(at))
		}
		at = at[n : n+1]
	}
	if len(at) == 0 {
		ts.Fatalf("%s does not hold %q", args[0], text)
	}
	for _, i := range at {
		b[i+len(text)/2] ^= 1
	}
	ts.Check(os.WriteFile(path, b, 0o600))
}

// damagepage FILE root|far: damages the bbolt file FILE through its
// current meta page: "root" writes invalid type flags into the root page
// of the buckets (bbolt asserts on it), "far" points the first nested
// bucket past the end of the file (bbolt reads outside its memory map).
func cmdDamagePage(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: damagepage FILE root|far")
	}
	path := ts.MkAbs(args[0])
	b, err := os.ReadFile(path)
	ts.Check(err)
	ne := binary.NativeEndian
	// The meta page with the higher transaction ID and a valid checksum.
	meta := func(off int) (pageSize, root, txid uint64, ok bool) {
		if off+16+64 > len(b) {
			return 0, 0, 0, false
		}
		m := b[off+16 : off+16+64]
		h := fnv.New64a()
		h.Write(m[:56])
		if ne.Uint32(m) != 0xED0CDAED || h.Sum64() != ne.Uint64(m[56:]) {
			return 0, 0, 0, false
		}
		return uint64(ne.Uint32(m[8:])), ne.Uint64(m[16:]), ne.Uint64(m[48:]), true
	}
	ps, root, txid, ok := meta(0)
	if !ok {
		ts.Fatalf("%s: no valid first meta page", args[0])
	}
	if _, r1, t1, ok := meta(int(ps)); ok && t1 > txid {
		root = r1
	}
	page := b[root*ps : (root+1)*ps]
	switch args[1] {
	case "root":
		ne.PutUint16(page[8:], 0xff)
	case "far":
		// The root page is a leaf of bucket elements: flags, pos, ksize,
		// vsize; the value starts with the bucket's root page number.
		if ne.Uint16(page[8:]) != 0x02 || ne.Uint16(page[10:]) == 0 {
			ts.Fatalf("%s: the root page is not a leaf of buckets", args[0])
		}
		pos, ksize := ne.Uint32(page[16+4:]), ne.Uint32(page[16+8:])
		v := 16 + int(pos) + int(ksize)
		ne.PutUint64(page[v:], 1<<40)
	default:
		ts.Fatalf("usage: damagepage FILE root|far")
	}
	ts.Check(os.WriteFile(path, b, 0o600))
}
