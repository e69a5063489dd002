package main

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// waituploads N: waits (up to 60s) until the sandbox has issued at least N
// identifiers, e.g. to know that a background apply holds its lock.
func cmdWaitUploads(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: waituploads N")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	sb := sandboxOf(ts)
	for deadline := time.Now().Add(60 * time.Second); sb.Stats().Uploads < want; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			ts.Fatalf("the sandbox issued %d identifiers in 60s, want at least %d", sb.Stats().Uploads, want)
		}
	}
}

// pemline FILE NAME: sets $NAME to a line from the middle of the PEM file,
// a piece of the key material itself.
func cmdPemline(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: pemline FILE NAME")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 4 {
		ts.Fatalf("%s is not a PEM file", args[0])
	}
	ts.Setenv(args[1], strings.TrimSpace(lines[len(lines)/2]))
}

// hclattr FILE ATTR NAME: sets $NAME to the literal string value of ATTR.
func cmdHCLAttr(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: hclattr FILE ATTR NAME")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(args[1]) + `\s*=\s*"([^"]*)"`).FindSubmatch(b)
	if m == nil {
		ts.Fatalf("%s has no literal %s", args[0], args[1])
	}
	ts.Setenv(args[2], string(m[1]))
}

// dropattr FILE ATTR: removes the line setting ATTR.
func cmdDropAttr(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: dropattr FILE ATTR")
	}
	p := ts.MkAbs(args[0])
	b, err := os.ReadFile(p)
	ts.Check(err)
	out := regexp.MustCompile(`(?m)^\s*`+regexp.QuoteMeta(args[1])+`\s*=.*\n`).ReplaceAll(b, nil)
	ts.Check(os.WriteFile(p, out, 0o644))
}

// setattr FILE ATTR EXPR: sets ATTR to the HCL expression EXPR on the
// line that sets it.
func cmdSetAttr(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 || neg {
		ts.Fatalf("usage: setattr FILE ATTR EXPR")
	}
	p := ts.MkAbs(args[0])
	b, err := os.ReadFile(p)
	ts.Check(err)
	re := regexp.MustCompile(`(?m)^(\s*` + regexp.QuoteMeta(args[1]) + `\s*=).*$`)
	if !re.Match(b) {
		ts.Fatalf("%s does not set %s", args[0], args[1])
	}
	out := re.ReplaceAllFunc(b, func(line []byte) []byte {
		return append(re.FindSubmatch(line)[1], " "+args[2]...)
	})
	ts.Check(os.WriteFile(p, out, 0o644))
}

// perm FILE MODE: FILE's permission bits are exactly MODE (octal).
func cmdPerm(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: perm FILE MODE")
	}
	want, err := strconv.ParseUint(args[1], 8, 32)
	ts.Check(err)
	st, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	if got := st.Mode().Perm(); (uint64(got) == want) == neg {
		ts.Fatalf("%s has mode %04o, want %s%04o", args[0], got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}
