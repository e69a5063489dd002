package schema

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// bind returns t with its var.NAME and path.* parts replaced by their
// values in ctx (a resource's context, where they are the same for every
// instance), or nil when one is not a known, unmarked, non-null string:
// the general evaluator then decides, and reports what is wrong. A
// template without such parts is returned as it is.
//
// This is what lets a module's resources, whose sources are usually made
// from its input variables and path.module or path.root
// (source = "${path.root}/img/${var.dir}/${each.value}"), take the
// compiled-template path of fastpath.go once per module instance.
func (t *template) bind(ctx *hcl.EvalContext) *template {
	if t == nil {
		return nil
	}
	refs := false
	for _, p := range t.parts {
		refs = refs || p.ref[0] != ""
	}
	if !refs {
		return t
	}
	if ctx == nil {
		return nil
	}
	b := &template{parts: make([]tplPart, len(t.parts)), wrap: t.wrap}
	for i, p := range t.parts {
		if p.ref[0] == "" {
			b.parts[i] = p
			continue
		}
		obj, ok := ctx.Variables[p.ref[0]]
		if !ok || obj.IsMarked() || !obj.IsKnown() || obj.IsNull() || !obj.Type().IsObjectType() || !obj.Type().HasAttribute(p.ref[1]) {
			return nil
		}
		v := obj.GetAttr(p.ref[1])
		if v.IsMarked() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
			return nil
		}
		b.parts[i] = tplPart{lit: v.AsString()}
	}
	return b
}
