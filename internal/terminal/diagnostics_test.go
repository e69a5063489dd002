package terminal

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// A diagnostic shows no sensitive value of its expression, even inside a
// collection, and its summary and detail show control characters as
// escapes.
func TestSafeDiagnostic(t *testing.T) {
	expr, _ := hclParse(t, "local.o + 1")
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{
		"local": cty.ObjectVal(map[string]cty.Value{
			"o": cty.ObjectVal(map[string]cty.Value{"a": cty.StringVal("deep-secret").Mark("sensitive")}),
		}),
	}}
	d := safeDiagnostic(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "bad \x1b[2K", Detail: "file \x1b]0;x\x07\nnext", Expression: expr, EvalContext: ctx})
	if d.Expression != nil || d.EvalContext != nil {
		t.Error("the values of a sensitive expression are kept")
	}
	if d.Summary != `bad \x1b[2K` || d.Detail != "file \\x1b]0;x\\a\nnext" {
		t.Errorf("summary %q, detail %q", d.Summary, d.Detail)
	}
}

func hclParse(t *testing.T, src string) (hcl.Expression, hcl.Diagnostics) {
	t.Helper()
	e, d := hclsyntax.ParseExpression([]byte(src), "t.hcl", hcl.InitialPos)
	if d.HasErrors() {
		t.Fatal(d)
	}
	return e, d
}

// A diagnostic that reads exactly as one already shown (the same mistake
// in a module's text, found for each instance) is shown once; one that
// differs, if only in its detail, is shown too.
func TestDiagnosticsShownOnce(t *testing.T) {
	var out strings.Builder
	term := &Terminal{Stderr: &out}
	rng := &hcl.Range{Filename: "modules/store/main.wxm.hcl", Start: hcl.Pos{Line: 3, Column: 11, Byte: 20}, End: hcl.Pos{Line: 3, Column: 20, Byte: 29}}
	same := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Reference to undeclared resource", Detail: "A resource \"wechatpay_image.lgo\" has not been declared.", Subject: rng}
	other := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Source file refused", Detail: "module.store[\"north\"].wechatpay_image.logo: missing", Subject: rng}
	other2 := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Source file refused", Detail: "module.store[\"south\"].wechatpay_image.logo: missing", Subject: rng}
	term.Diagnostics(nil, hcl.Diagnostics{same, other, same, other2, same})
	got := out.String()
	if n := strings.Count(got, "Reference to undeclared resource"); n != 1 {
		t.Errorf("the same diagnostic shown %d times, want 1:\n%s", n, got)
	}
	if n := strings.Count(got, "Source file refused"); n != 2 {
		t.Errorf("two diagnostics differing in their detail shown %d times, want 2:\n%s", n, got)
	}
}
