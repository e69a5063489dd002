package main

import (
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["setendpoint"] = cmdSetEndpoint
}

// setendpoint FILE ATTR FORM: rewrites the literal URL of ATTR in FILE as
// FORM, in which {host} stands for the URL's host and port, e.g.
// 'HTTPS://{host}/.'.
func cmdSetEndpoint(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 || neg {
		ts.Fatalf("usage: setendpoint FILE ATTR FORM")
	}
	p := ts.MkAbs(args[0])
	b, err := os.ReadFile(p)
	ts.Check(err)
	re := regexp.MustCompile(`(?m)^(\s*` + regexp.QuoteMeta(args[1]) + `\s*=\s*")([^"]*)(")`)
	m := re.FindSubmatch(b)
	if m == nil {
		ts.Fatalf("%s has no literal %s", args[0], args[1])
	}
	u, err := url.Parse(string(m[2]))
	ts.Check(err)
	form := strings.ReplaceAll(args[2], "{host}", u.Host)
	b = re.ReplaceAllLiteral(b, []byte(string(m[1])+form+string(m[3])))
	ts.Check(os.WriteFile(p, b, 0o644))
}
