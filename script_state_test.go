package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// stalledserver NAME: listens on a TCP port of 127.0.0.1 that accepts
// connections and never answers, as a server that hangs does, and sets
// $NAME to its host:port. Connections are held until the script ends.
func cmdStalledServer(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: stalledserver NAME")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	ts.Defer(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	ts.Setenv(args[0], ln.Addr().String())
}

// timer start NAME | timer NAME below DURATION: starts a stopwatch, or
// fails unless the time since it started is below DURATION.
func cmdTimer(ts *testscript.TestScript, neg bool, args []string) {
	switch {
	case neg:
		ts.Fatalf("timer cannot be negated: say below")
	case len(args) == 2 && args[0] == "start":
		ts.Setenv("TIMER_"+args[1], strconv.FormatInt(time.Now().UnixNano(), 10))
	case len(args) == 3 && args[1] == "below":
		start, err := strconv.ParseInt(ts.Getenv("TIMER_"+args[0]), 10, 64)
		if err != nil {
			ts.Fatalf("timer %s was not started", args[0])
		}
		limit, err := time.ParseDuration(args[2])
		ts.Check(err)
		if took := time.Since(time.Unix(0, start)); took >= limit {
			ts.Fatalf("%s took %v, not below %v", args[0], took.Round(time.Millisecond), limit)
		}
	default:
		ts.Fatalf("usage: timer start NAME | timer NAME below DURATION")
	}
}

// copyexample NAME: copies examples/NAME into $WORK/NAME.
func cmdCopyExample(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: copyexample NAME")
	}
	ts.Check(copyDir(filepath.Join("examples", args[0]), ts.MkAbs(args[0])))
}

// rawgrep [!] TEXT FILE: FILE's raw bytes contain (or, negated, do not
// contain) the literal TEXT. Unlike grep it reads binary files such as a
// bbolt state as they are.
func cmdRawgrep(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: rawgrep TEXT FILE")
	}
	if args[0] == "" {
		ts.Fatalf("rawgrep: empty text")
	}
	b, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	found := bytes.Contains(b, []byte(args[0]))
	if found && neg {
		ts.Fatalf("%s contains %q", args[1], args[0])
	}
	if !found && !neg {
		ts.Fatalf("%s does not contain %q", args[1], args[0])
	}
}

// v2keyvar FILE VARFILE: rewrites the merchant block in FILE to take its
// api_v2_key from a sensitive variable, declares that variable, writes the
// literal key to the variables file VARFILE, and sets $V2KEY to it.
func cmdV2KeyVar(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: v2keyvar FILE VARFILE")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	re := regexp.MustCompile(`(?m)^(\s*api_v2_key\s*=\s*)"([^"]+)"`)
	m := re.FindSubmatch(b)
	if m == nil {
		ts.Fatalf("%s has no literal api_v2_key", args[0])
	}
	key := string(m[2])
	b = re.ReplaceAll(b, []byte("${1}var.api_v2_key"))
	b = append(b, "\nvariable \"api_v2_key\" {\n  type      = string\n  sensitive = true\n}\n"...)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o600))
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), fmt.Appendf(nil, "api_v2_key = %q\n", key), 0o600))
	ts.Setenv("V2KEY", key)
}

// sha256of FILE NAME: sets $NAME to the lowercase hex SHA-256 of FILE.
func cmdSHA256Of(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: sha256of FILE NAME")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	sum := sha256.Sum256(b)
	ts.Setenv(args[1], hex.EncodeToString(sum[:]))
}
