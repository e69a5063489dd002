package terminal

import (
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
