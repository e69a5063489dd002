package schema

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoadEvaluate loads and evaluates arbitrary configuration text: any
// input gives a configuration or diagnostics, never a panic, and every
// error diagnostic that points into the file has a valid range.
func FuzzLoadEvaluate(f *testing.F) {
	f.Add(`merchant "m" {
  sandbox = true
}
resource "wechatpay_image" "a" {
  for_each = toset(["x.png"])
  source   = "img/${each.key}"
}
output "o" { value = { for k, r in wechatpay_image.a : k => r.media_id } }
`)
	f.Add(`variable "v" {
  type = map(string)
  default = { a = "b" }
  validation {
    condition     = length(var.v) > 0
    error_message = "empty"
  }
}
locals { x = var.v["a"] }
`)
	f.Add("resource \"wechatpay_image\" \"a\" {\n  source = \n}\n")
	f.Add(`locals { a = local.b
 b = local.a }`)
	f.Fuzz(func(t *testing.T, src string) {
		// File-system functions could be pointed at /dev/zero or walk the
		// whole disk; they have tests of their own.
		if strings.Contains(src, "file") {
			t.Skip()
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "main.wxm.hcl"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, diags := Load(dir)
		if cfg == nil {
			t.Fatal("nil configuration")
		}
		if !diags.HasErrors() {
			ev, d := cfg.Evaluate(nil)
			diags = append(diags, d...)
			if !d.HasErrors() {
				_, d = ev.Outputs(nil)
				diags = append(diags, d...)
			}
		}
		for _, d := range diags {
			if d.Subject != nil && d.Subject.Filename == "main.wxm.hcl" && d.Subject.Start.Line < 1 {
				t.Fatalf("diagnostic with a bad range: %s: %s", d.Subject, d.Summary)
			}
		}
	})
}
