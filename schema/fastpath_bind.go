package schema

import (
	"path/filepath"
	"strings"

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

// dirPrefix is, for a bound template whose text starts with literal
// directories that need cleaning when joined to a directory
// ("../../img/d001/${each.value}" or "./${each.key}"), that text up to
// its last slash, and that text joined to dir (absolute, clean); "" when
// there is none. A source starting with the prefix, and clean after it,
// joins to dir as joined + "/" + the rest, without cleaning each time.
func (t *template) dirPrefix(dir string) (prefix, joined string) {
	if t == nil || t.wrap || filepath.Separator != '/' || !filepath.IsAbs(dir) || filepath.Clean(dir) != dir {
		return "", ""
	}
	var lit strings.Builder
	for _, p := range t.parts {
		if p.each != "" || p.ref[0] != "" {
			break
		}
		lit.WriteString(p.lit)
	}
	s := lit.String()
	i := strings.LastIndexByte(s, '/')
	if i <= 0 || s[0] == '/' || cleanRel(s[:i]) {
		return "", "" // nothing to clean: expand joins it in one copy
	}
	prefix = s[:i+1]
	joined = filepath.Join(dir, prefix)
	if joined == "/" || !filepath.IsAbs(joined) {
		return "", ""
	}
	return prefix, joined
}
