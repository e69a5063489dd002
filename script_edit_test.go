package main

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// sizeof FILE NAME: sets $NAME to FILE's size in bytes.
func cmdSizeOf(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: sizeof FILE NAME")
	}
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	ts.Setenv(args[1], strconv.FormatInt(fi.Size(), 10))
}

// jsonset FILE PATH JSON: sets the value at PATH (dot-separated object
// keys and array indexes) of the JSON document in FILE to JSON, as an
// editor of the file would; JSON "-" deletes the object key.
func cmdJSONSet(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 || neg {
		ts.Fatalf("usage: jsonset FILE PATH JSON")
	}
	path := ts.MkAbs(args[0])
	b, err := os.ReadFile(path)
	ts.Check(err)
	var doc any
	ts.Check(json.Unmarshal(b, &doc))
	var val any
	if args[2] != "-" {
		if err := json.Unmarshal([]byte(args[2]), &val); err != nil {
			ts.Fatalf("jsonset: value %q is not JSON: %v", args[2], err)
		}
	}
	parts := strings.Split(args[1], ".")
	cur := doc
	for i, part := range parts {
		last := i == len(parts)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				if args[2] == "-" {
					delete(c, part)
				} else {
					c[part] = val
				}
			} else {
				cur = c[part]
			}
		case []any:
			n, err := strconv.Atoi(part)
			if err != nil || n < 0 || n >= len(c) {
				ts.Fatalf("jsonset: no index %q in an array of %d", part, len(c))
			}
			if last {
				c[n] = val
			} else {
				cur = c[n]
			}
		default:
			ts.Fatalf("jsonset: %s: %q is inside a scalar", args[1], part)
		}
	}
	out, err := json.Marshal(doc)
	ts.Check(err)
	ts.Check(os.WriteFile(path, out, 0o600))
}
