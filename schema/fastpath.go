package schema

import (
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Specialised evaluation of for_each for large configurations. They give
// exactly what the general evaluator gives (fastpath_test.go compares the
// two over many configurations) and step aside, to the general evaluator,
// whenever a case is not theirs, including every case that ends in a
// diagnostic.
//
//   - A for_each that is directly a fileset(…) call lists the files without
//     building and sorting a cty set.
//   - A source or filename that is a string template made only of literal
//     text, each.key and each.value is compiled once and filled in per
//     instance, without building an evaluation context per instance.

// fastPaths enables the specialised paths; tests turn it off to compare.
var fastPaths = true

// fastFileset returns the for_each keys of expr, sorted and distinct, when
// expr is a call of the built-in fileset with two plain string arguments
// that lists without error; ok is false otherwise.
func (s *scope) fastFileset(expr hcl.Expression, ctx *hcl.EvalContext) (keys []string, ok bool) {
	call, isCall := expr.(*hclsyntax.FunctionCallExpr)
	if !fastPaths || !isCall || call.Name != "fileset" || call.ExpandFinal || len(call.Args) != 2 {
		return nil, false
	}
	var args [2]string
	for i, a := range call.Args {
		v, diags := a.Value(ctx)
		if diags.HasErrors() || v.IsMarked() || !v.IsKnown() || v.IsNull() {
			return nil, false
		}
		sv, err := convert.Convert(v, cty.String)
		if err != nil || sv.IsMarked() || !sv.IsKnown() || sv.IsNull() {
			return nil, false
		}
		args[i] = sv.AsString()
	}
	matches, err := filesetMatches(s.ev.Config.Dir, args[0], args[1])
	if err != nil {
		return nil, false
	}
	keys = make([]string, len(matches))
	for i, m := range matches {
		// As a cty string, which is what the set would hold: NFC normalised.
		keys[i] = cty.StringVal(m).AsString()
	}
	sort.Strings(keys)
	out := keys[:0]
	for i, k := range keys {
		if i == 0 || k != keys[i-1] {
			out = append(out, k)
		}
	}
	return out, true
}

// tplPart is one part of a compiled template: literal text, or each.key,
// or each.value.
type tplPart struct {
	lit  string
	each string // "", "key" or "value"
}

// template is a string expression compiled for per-instance filling.
type template struct {
	parts []tplPart
	// wrap is true for an expression whose value is one part's value as it
	// is ("${each.value}" or each.value), not a string built from parts.
	wrap bool
}

// compileTemplate compiles expr when it is literal text, each.key,
// each.value, or a template of those; nil otherwise.
func compileTemplate(expr hcl.Expression) *template {
	if !fastPaths || expr == nil {
		return nil
	}
	switch e := expr.(type) {
	case *hclsyntax.TemplateWrapExpr:
		p, ok := compilePart(e.Wrapped)
		if !ok {
			return nil
		}
		return &template{parts: []tplPart{p}, wrap: true}
	case *hclsyntax.ScopeTraversalExpr:
		p, ok := compilePart(e)
		if !ok || p.each == "" {
			return nil
		}
		return &template{parts: []tplPart{p}, wrap: true}
	case *hclsyntax.TemplateExpr:
		t := &template{}
		for _, part := range e.Parts {
			p, ok := compilePart(part)
			if !ok {
				return nil
			}
			t.parts = append(t.parts, p)
		}
		return t
	}
	return nil
}

func compilePart(expr hclsyntax.Expression) (tplPart, bool) {
	switch e := expr.(type) {
	case *hclsyntax.LiteralValueExpr:
		v := e.Val
		if v.Type() != cty.String || v.IsMarked() || !v.IsKnown() || v.IsNull() {
			return tplPart{}, false
		}
		return tplPart{lit: v.AsString()}, true
	case *hclsyntax.ScopeTraversalExpr:
		t := e.Traversal
		if len(t) != 2 || t.RootName() != "each" {
			return tplPart{}, false
		}
		a, ok := t[1].(hcl.TraverseAttr)
		if !ok || a.Name != "key" && a.Name != "value" {
			return tplPart{}, false
		}
		return tplPart{each: a.Name}, true
	}
	return tplPart{}, false
}

// fill returns the template's string for one instance, or false when the
// general evaluator must decide: each.value is not a known, unmarked,
// non-null string, or the result would be refused (empty).
func (t *template) fill(key string, val cty.Value) (string, bool) {
	if t == nil {
		return "", false
	}
	part := func(p tplPart) (string, bool) {
		switch p.each {
		case "key":
			return key, true
		case "value":
			if val.Type() != cty.String || val.IsMarked() || !val.IsKnown() || val.IsNull() {
				return "", false
			}
			return val.AsString(), true
		}
		return p.lit, true
	}
	var out string
	if t.wrap {
		s, ok := part(t.parts[0])
		if !ok {
			return "", false
		}
		out = s
	} else {
		n := 0
		strs := make([]string, len(t.parts))
		for i, p := range t.parts {
			s, ok := part(p)
			if !ok {
				return "", false
			}
			strs[i] = s
			n += len(s)
		}
		buf := make([]byte, 0, n)
		for _, s := range strs {
			buf = append(buf, s...)
		}
		// A template's result is a cty string: NFC normalised.
		out = cty.StringVal(string(buf)).AsString()
	}
	if out == "" {
		return "", false
	}
	return out, true
}
