package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// jsonField decodes the last command's stdout as one JSON document and
// returns the value at path: dot-separated object keys and array indexes.
func jsonField(ts *testscript.TestScript, path string) any {
	var doc any
	dec := json.NewDecoder(strings.NewReader(ts.ReadFile("stdout")))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		ts.Fatalf("stdout is not JSON: %v", err)
	}
	if dec.More() {
		ts.Fatalf("stdout holds more than one JSON document")
	}
	cur := doc
	for _, part := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[part]
			if !ok {
				ts.Fatalf("%s: no key %q", path, part)
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(c) {
				ts.Fatalf("%s: no index %q in an array of %d", path, part, len(c))
			}
			cur = c[i]
		default:
			ts.Fatalf("%s: %q is inside a scalar", path, part)
		}
	}
	return cur
}

// jsonfield PATH WANT: the stdout JSON has WANT at PATH; strings compare
// as they are, anything else as compact JSON (null, 3, true, [], {...}).
func cmdJSONField(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: jsonfield PATH WANT")
	}
	v := jsonField(ts, args[0])
	got, ok := v.(string)
	if !ok {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		ts.Check(enc.Encode(v))
		got = strings.TrimSpace(b.String())
	}
	if (got == args[1]) == neg {
		ts.Fatalf("%s = %s, want %s%s", args[0], got, map[bool]string{true: "not ", false: ""}[neg], args[1])
	}
}

// jsonsha PATH FILE: the stdout JSON has FILE's SHA-256 at PATH.
func cmdJSONSha(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: jsonsha PATH FILE")
	}
	b, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	s := sha256.Sum256(b)
	want := hex.EncodeToString(s[:])
	if got, _ := jsonField(ts, args[0]).(string); (got == want) == neg {
		ts.Fatalf("%s = %s, want the sha256 of %s, %s", args[0], got, args[1], want)
	}
}
