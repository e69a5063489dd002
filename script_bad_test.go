package main

import (
	"os"
	"strconv"

	"github.com/rogpeppe/go-internal/testscript"
)

// mkfile FILE SIZE [MAGIC]: writes SIZE bytes, starting with the magic
// bytes of MAGIC (png, jpg, bmp) when given, zeros after.
func cmdMkfile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: mkfile FILE SIZE [png|jpg|bmp]")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	b := make([]byte, n)
	if len(args) == 3 {
		magic := map[string]string{"png": "\x89PNG\r\n\x1a\n", "jpg": "\xff\xd8\xff\xe0", "bmp": "BM"}[args[2]]
		copy(b, magic)
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o644))
}

// mkbadname DIR: writes a PNG into DIR under a name that is not UTF-8.
func cmdMkbadname(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: mkbadname DIR")
	}
	b, err := makeImage(".png", "bad name")
	ts.Check(err)
	dir := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(dir, 0o755))
	ts.Check(os.WriteFile(dir+"/caf\xe9.png", b, 0o644))
}

// truncate FILE N: cuts FILE to N bytes.
func cmdTruncate(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: truncate FILE N")
	}
	n, err := strconv.ParseInt(args[1], 10, 64)
	ts.Check(err)
	ts.Check(os.Truncate(ts.MkAbs(args[0]), n))
}
