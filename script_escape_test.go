package main

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rogpeppe/go-internal/testscript"
)

// waitrewrite FILE TEXT: waits (up to 15s) until FILE exists without TEXT,
// e.g. until a background process rewrote it.
func cmdWaitRewrite(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: waitrewrite FILE TEXT")
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		b, err := os.ReadFile(ts.MkAbs(args[0]))
		if err == nil && len(b) > 0 && !strings.Contains(string(b), args[1]) {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s still holds %q after 15s", args[0], args[1])
		}
	}
}

// mkimageq NAME: mkimage with a file name in Go string escapes, for names with
// control or format characters.
func cmdMkimageQuoted(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf(`usage: mkimageq NAME`)
	}
	name, err := strconv.Unquote(`"` + args[0] + `"`)
	ts.Check(err)
	b, err := makeImage(filepath.Ext(name), name)
	ts.Check(err)
	p := ts.MkAbs(name)
	ts.Check(os.MkdirAll(filepath.Dir(p), 0o755))
	ts.Check(os.WriteFile(p, b, 0o644))
}

// cpq SRC NAME: copies SRC to NAME, given in Go string escapes, for
// configuration files whose names hold control characters.
func cmdCopyQuoted(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf(`usage: cpq SRC NAME`)
	}
	name, err := strconv.Unquote(`"` + args[1] + `"`)
	ts.Check(err)
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(name), b, 0o644))
}

// ctlfree FILE...: the files hold no control character other than newline
// and tab, no Unicode format character (bidirectional overrides,
// zero-width characters) and only valid UTF-8: nothing that a terminal
// would act on or that would hide text.
func cmdCtlfree(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 || neg {
		ts.Fatalf("usage: ctlfree FILE...")
	}
	for _, f := range args {
		var s string
		if f == "stdout" || f == "stderr" {
			s = ts.ReadFile(f)
		} else {
			b, err := os.ReadFile(ts.MkAbs(f))
			ts.Check(err)
			s = string(b)
		}
		for i, r := range s {
			if r == utf8.RuneError {
				if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
					ts.Fatalf("%s: invalid UTF-8 byte %#x at %d", f, s[i], i)
				}
			}
			if (unicode.IsControl(r) && r != '\n' && r != '\t') || unicode.Is(unicode.Cf, r) {
				ts.Fatalf("%s: raw %U at byte %d: %q", f, r, i, s[max(0, i-40):min(len(s), i+40)])
			}
		}
	}
}

// hostileserver CERTFILE: starts an HTTPS server (stopped when the script
// ends) that answers every request with an unsigned 400 error whose
// message holds terminal escapes (OSC title, erase line, CR, a bidi
// override), sets $HOSTILE_URL, and writes its certificate to CERTFILE.
func cmdHostileServer(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: hostileserver CERTFILE")
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"code":"PARAM_ERROR","message":"\u001b]0;owned\u0007\u001b[2K\rwxmedia: Apply complete! 1 uploaded\u202e\u009b31m"}`))
	}))
	ts.Defer(srv.Close)
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), cert, 0o644))
	ts.Setenv("HOSTILE_URL", srv.URL)
}
