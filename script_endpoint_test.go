package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// mkimages DIR N: writes N small distinct PNG images DIR/f0000.png….
func cmdMkimages(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: mkimages DIR N")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	dir := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(dir, 0o755))
	for i := range n {
		name := fmt.Sprintf("f%04d.png", i)
		b, err := makeImage(".png", args[0]+"/"+name)
		ts.Check(err)
		ts.Check(os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
}

// clock start | clock below DUR: starts a stopwatch, or fails when more
// than DUR passed since it started.
func cmdClock(ts *testscript.TestScript, neg bool, args []string) {
	switch {
	case len(args) == 1 && args[0] == "start" && !neg:
		ts.Setenv("CLOCK_START", strconv.FormatInt(time.Now().UnixNano(), 10))
	case len(args) == 2 && args[0] == "below" && !neg:
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		start, err := strconv.ParseInt(ts.Getenv("CLOCK_START"), 10, 64)
		ts.Check(err)
		if took := time.Since(time.Unix(0, start)); took > d {
			ts.Fatalf("took %v, want at most %v", took.Round(time.Millisecond), d)
		} else {
			ts.Logf("took %v", took.Round(time.Millisecond))
		}
	default:
		ts.Fatalf("usage: clock start | clock below DUR")
	}
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
