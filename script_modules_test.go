package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

var hclStringAttr = regexp.MustCompile(`(?m)^\s*([a-z0-9_]+)\s*=\s*"([^"]*)"`)

// sbshops SRVDIR OUT.json KEY=MCHID...: write OUT.json, a JSON object of
// merchants by KEY, each the arguments (mchid, serial_no, key and
// certificate files, endpoint…) of the merchant block that `wxmedia
// sandbox -mchid=…` wrote for MCHID in SRVDIR, as a configuration reads
// its merchants with jsondecode(file(…)). Secrets (api_v2_key,
// api_v3_key) are left out.
func cmdSbshops(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 || neg {
		ts.Fatalf("usage: sbshops SRVDIR OUT.json KEY=MCHID...")
	}
	files, err := filepath.Glob(filepath.Join(ts.MkAbs(args[0]), "merchant*.wxm.hcl"))
	ts.Check(err)
	byID := map[string]map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		ts.Check(err)
		attrs := map[string]string{}
		for _, m := range hclStringAttr.FindAllStringSubmatch(string(b), -1) {
			if m[1] != "api_v2_key" && m[1] != "api_v3_key" {
				attrs[m[1]] = m[2]
			}
		}
		byID[attrs["mchid"]] = attrs
	}
	out := map[string]map[string]string{}
	for _, kv := range args[2:] {
		k, id, ok := strings.Cut(kv, "=")
		if !ok || byID[id] == nil {
			ts.Fatalf("sbshops: %q: want KEY=MCHID of a merchant in %s", kv, args[0])
		}
		out[k] = byID[id]
	}
	b, err := json.MarshalIndent(out, "", "  ")
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), b, 0o644))
}
