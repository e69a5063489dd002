package schema

import (
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// A module's usual source template compiles, binds to its instance's
// var and path values, and fills per file; a value that is not a known,
// unmarked, non-null string leaves it to the general evaluator.
func TestTemplateBind(t *testing.T) {
	expr, diags := hclsyntax.ParseExpression([]byte(`"${path.root}/img/${var.dir}/${each.value}"`), "t", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	tpl := compileTemplate(expr)
	if tpl == nil {
		t.Fatal("not compiled")
	}
	if _, ok := tpl.fillStr(nil, "a.png", "a.png", true); ok {
		t.Error("an unbound template filled")
	}
	ctx := func(dir cty.Value) *hcl.EvalContext {
		return &hcl.EvalContext{Variables: map[string]cty.Value{
			"var":  cty.ObjectVal(map[string]cty.Value{"dir": dir}),
			"path": cty.ObjectVal(map[string]cty.Value{"root": cty.StringVal("../.."), "module": cty.StringVal(".")}),
		}}
	}
	b := tpl.bind(ctx(cty.StringVal("d001")))
	if got, ok := b.fillStr(nil, "a.png", "a.png", true); !ok || got != "../../img/d001/a.png" {
		t.Errorf("bound: %q %v", got, ok)
	}
	for _, dir := range []cty.Value{
		cty.StringVal("d").Mark(SensitiveMark), cty.UnknownVal(cty.String), cty.NullVal(cty.String), cty.NumberIntVal(5),
	} {
		if tpl.bind(ctx(dir)) != nil {
			t.Errorf("bound with var.dir = %#v", dir)
		}
	}
	if tpl.bind(&hcl.EvalContext{}) != nil || tpl.bind(nil) != nil {
		t.Error("bound without var and path")
	}
	lit, _ := hclsyntax.ParseExpression([]byte(`"img/${each.key}"`), "t", hcl.InitialPos)
	if l := compileTemplate(lit); l.bind(nil) != l {
		t.Error("a template without references is not itself")
	}
}
