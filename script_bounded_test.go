package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// mkbomb FILE KIND N: write a configuration file that is a bomb of size N:
// nest, an output nested in N parentheses; unary, an output of N "!"
// before true; chain, an output of N additions over N lines; list, a local list of N
// distinct strings (local.x); numbers, of N distinct numbers; bytes, a
// comment line of N bytes after a valid configuration.
func cmdMkbomb(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: mkbomb FILE nest|unary|chain|list|numbers|bytes N")
	}
	n, err := strconv.Atoi(args[2])
	ts.Check(err)
	var b strings.Builder
	switch args[1] {
	case "nest":
		b.WriteString(`output "x" { value = `)
		b.WriteString(strings.Repeat("(", n) + "1" + strings.Repeat(")", n))
		b.WriteString(" }\n")
	case "unary":
		b.WriteString(`output "x" { value = ` + strings.Repeat("!", n) + "true }\n")
	case "chain":
		b.WriteString(`output "x" { value = (1` + strings.Repeat("\n+ 1", n) + ") }\n")
	case "list", "numbers":
		b.WriteString("locals {\n  x = [")
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			if args[1] == "list" {
				b.WriteString(`"s` + strconv.Itoa(i) + `"`)
			} else {
				b.WriteString(strconv.Itoa(i))
			}
		}
		b.WriteString("]\n}\n")
	case "bytes":
		b.WriteString("locals {\n  x = 1\n}\n# ")
		b.WriteString(strings.Repeat("x", n))
		b.WriteString("\n")
	default:
		ts.Fatalf("mkbomb: unknown kind %q", args[1])
	}
	ts.Check(os.MkdirAll(filepath.Dir(ts.MkAbs(args[0])), 0o755))
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(b.String()), 0o644))
}
