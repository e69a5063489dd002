package sandbox

import (
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// What hclString writes reads back as the same string, whatever it holds.
func TestHCLStringRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", `a"b\c`, "${x} %{y} $${z}", "line\nbreak\ttab\r", "\x00\x1b[2J", "中文 名\u202e", "C:\\keys\\apiclient_key.pem"} {
		src := "x = " + hclString(s) + "\n"
		f, diags := hclsyntax.ParseConfig([]byte(src), "t.hcl", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%q: %s: %v", s, src, diags)
		}
		attrs, _ := f.Body.JustAttributes()
		v, diags := attrs["x"].Expr.Value(nil)
		if diags.HasErrors() {
			t.Fatalf("%q: %s: %v", s, src, diags)
		}
		if got := v.AsString(); got != s {
			t.Errorf("%s reads back as %q, want %q", src, got, s)
		}
	}
}
