package schema

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/wxmedia/wxmedia/internal/words"
)

// expand evaluates a resource's for_each and its per-instance arguments.
func (s *scope) expand(r *Resource) ([]*Instance, hcl.Diagnostics) {
	if r.Source == nil {
		return nil, nil // reported by Load: Missing required argument
	}
	ctx, diags := s.evalContext([]hcl.Expression{r.ForEach, r.Source, r.Filename, r.MerchantKey}, "A resource argument")
	if diags.HasErrors() {
		return nil, diags
	}
	// The items: a fileset's keys as they are (item), or evaluated.
	var (
		items   []forEachItem
		keys    keyList
		fileset bool // keys give the items
	)
	if r.ForEach == nil {
		for _, e := range []hcl.Expression{r.Source, r.Filename, r.MerchantKey} {
			if e == nil {
				continue
			}
			for _, t := range e.Variables() {
				if t.RootName() == "each" {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  `Reference to "each" in context without for_each`,
						Detail:   `The "each" object can be used only in resource blocks that have for_each set.`,
						Subject:  t.SourceRange().Ptr(),
					})
				}
			}
		}
		if diags.HasErrors() {
			return nil, diags
		}
		items = []forEachItem{{}}
	} else if keys, fileset = s.fastFileset(r.ForEach, ctx); !fileset {
		var d hcl.Diagnostics
		items, d = s.forEachValue(r.ForEach, ctx, false)
		diags = append(diags, d...)
		if d.HasErrors() {
			return nil, diags
		}
	}
	n := len(items)
	if fileset {
		n = keys.len()
	}
	item := func(i int) forEachItem {
		if fileset {
			return forEachItem{key: keys.at(i), str: true}
		}
		return items[i]
	}
	// itemsIn calls fn with the items lo to hi, in order.
	itemsIn := func(lo, hi int, fn func(i int, it forEachItem)) {
		if fileset {
			keys.each(lo, hi, func(i int, k string) { fn(i, forEachItem{key: k, str: true}) })
			return
		}
		for i := lo; i < hi; i++ {
			fn(i, items[i])
		}
	}

	var srcT, fnT *template
	if r.ForEach != nil && s.fast() {
		srcT, fnT = s.ev.compiledTemplate(r.Source).bind(ctx), s.ev.compiledTemplate(r.Filename).bind(ctx)
	}
	// One allocation for all the instances. The address prefix and the
	// directory are computed once.
	backing := make([]Instance, n)
	addr := r.Addr()
	if s.ev.Module != "" {
		addr = s.ev.Module + "." + addr
	}
	// The merchant instance of every instance, when the merchant argument
	// has no key.
	merchant := ""
	switch {
	case r.MerchantKey == nil && r.Merchant == "" && s.ev.Module != "":
		if merchant = s.ev.inherited; merchant == "" {
			return nil, append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "No merchant declared",
				Detail:   fmt.Sprintf("The resource %s of %s needs a merchant, but its module declares no merchant block and the module calling it has no single merchant (without for_each) that it could use. Declare a merchant block in the module, for example from an input variable.", r.Addr(), s.ev.Module),
				Subject:  r.DeclRange.Ptr(),
			})
		}
	case r.MerchantKey == nil:
		merchant = s.ev.merchantInstance(r.Merchant, "", false)
	}
	dir := s.ev.Config.Dir
	dirClean := filepath.Separator == '/' && dir != "" && dir != "." && filepath.Clean(dir) == dir
	dirSlash := dir + "/"
	// pathPrefix is what a clean relative source is joined to.
	pathPrefix := dirSlash
	if dir == "/" {
		pathPrefix = "/"
	}
	// Inside a module, the source shown in plans, messages and the state
	// is relative to the root module's directory, as the user reads paths
	// (modules/store/logo.png, not logo.png; assets/logo.png, not
	// ../../assets/logo.png).
	modDir := ""
	if rel := s.ev.Config.RelDir; rel != "" && rel != "." {
		modDir = filepath.FromSlash(rel)
	}
	// modSlash is modDir and a slash when joining a clean relative source
	// to it adds only that: the source as shown is then modSlash + the
	// source, which ends the path when the module's directory ends with
	// modDir.
	modSlash := ""
	if modDir != "" && dirClean && filepath.Clean(modDir) == modDir && !filepath.IsAbs(modDir) {
		modSlash = filepath.ToSlash(modDir) + "/"
	}
	// A source made of directories to clean, then the key (a module's
	// "${path.root}/img/${var.dir}/${each.value}"): that prefix joined
	// once.
	srcPrefix, srcJoined := srcT.dirPrefix(dir)
	// The prefix as shown, from the root module's directory.
	srcShown := ""
	if srcPrefix != "" && modDir != "" {
		srcShown = filepath.ToSlash(filepath.Join(modDir, srcPrefix))
	}
	// setSource sets the source, and the path made from it (in a) unless
	// path gives it already, and the source as shown unless shown gives
	// it. Every string it sets is in a when src is, or is a part of the
	// path it makes.
	setSource := func(in *Instance, src, path, shown string, a *byteArena) {
		joined := false
		if path == "" {
			switch {
			case filepath.IsAbs(src):
				path = src
			case dirClean && cleanRel(src):
				path = a.concat(pathPrefix, src)
				src, joined = path[len(pathPrefix):], true
			default:
				path = filepath.Join(dir, src)
			}
		}
		in.Path = path
		in.Source = src
		switch {
		case shown != "":
			in.Source = shown
		case modDir != "" && src != "" && !filepath.IsAbs(src):
			if want := len(modSlash) + len(src); joined && modSlash != "" && len(path) > want && path[len(path)-want-1] == '/' &&
				path[len(path)-want:len(path)-len(src)] == modSlash {
				in.Source = path[len(path)-want:] // modDir/src, in path
			} else {
				in.Source = filepath.ToSlash(filepath.Join(modDir, src))
			}
		}
		in.Filename = filepath.Base(src)
	}
	start := func(i int, key string, a *byteArena) *Instance {
		in := &backing[i]
		*in = Instance{Resource: r, Merchant: merchant}
		if r.ForEach != nil {
			in.Addr, in.Key = instanceAddressIn(a, addr, key)
			in.HasKey = true
		} else {
			in.Addr = addr
		}
		return in
	}
	// size is about what fast takes from its arena for key.
	size := func(key string) int {
		n := len(addr) + len(key) + 4 + srcT.size(key) + fnT.size(key)
		switch {
		case srcPrefix != "" && srcShown == "":
			return n + len(srcJoined) + 1 - len(srcPrefix) + srcT.size(key)
		case srcPrefix != "":
			return n + len(srcJoined) + 1 - len(srcPrefix)
		case srcT != nil && srcT.wrap:
			return n + len(pathPrefix) + len(key)
		}
		return n + len(pathPrefix)
	}
	// fast builds instance i from the compiled templates alone, its
	// strings in a (scratch is for those it does not keep); false when
	// the general evaluator must build it.
	fast := func(i int, it forEachItem, a, scratch *byteArena) bool {
		if !it.str || srcT == nil || r.Filename != nil && fnT == nil || r.MerchantKey != nil && !r.merchantEachKey {
			return false
		}
		m := merchant
		if r.MerchantKey != nil {
			if ks, ok := s.ev.merchantKeys[r.Merchant]; !ok || !ks[it.key] {
				return false // the general evaluator reports it
			}
			m = s.ev.merchantInstance(r.Merchant, it.key, true)
		}
		fn := ""
		if r.Filename != nil {
			var ok bool
			if fn, ok = fnT.fillStr(a, it.key, it.key, true); !ok {
				return false
			}
		}
		var src, path, shown string
		switch {
		case srcPrefix != "":
			// The source made first, in scratch, its path from the joined
			// prefix.
			scratch.reset()
			tmp, ok := srcT.fillStr(scratch, it.key, it.key, true)
			if !ok {
				return false
			}
			if rest, ok := strings.CutPrefix(tmp, srcPrefix); ok && cleanRel(rest) {
				path = a.concat(srcJoined, "/", rest)
				rest = path[len(path)-len(rest):]
				src = rest // only its base name is kept: that of path
				// Inside a module, the source as shown: the same joining
				// from the module's directory, usually the end of path.
				switch {
				case srcShown == "":
				case srcShown == ".":
					shown = rest
				case strings.HasSuffix(srcJoined, "/"+srcShown):
					shown = path[len(srcJoined)-len(srcShown):]
				default:
					shown = a.concat(srcShown, "/", rest)
				}
				if shown == "" {
					// The source as evaluated, which the path does not
					// hold.
					src = a.concat(tmp)
				}
			} else {
				src = a.concat(tmp)
			}
		case dirClean && dir != "/":
			// The source made inside its absolute path: one string.
			if p, ok := srcT.fillStrIn(a, dirSlash, it.key, it.key, true); ok && cleanRel(p[len(dirSlash):]) {
				src, path = p[len(dirSlash):], p
			}
		}
		if src == "" {
			var ok bool
			if src, ok = srcT.fillStr(a, it.key, it.key, true); !ok {
				return false
			}
		}
		in := start(i, it.key, a)
		in.Merchant = m
		setSource(in, src, path, shown, a)
		if r.Filename != nil {
			in.Filename = fn
			if fn == in.Key {
				in.Filename = in.Key // each.key as it is: the address's bytes
			}
		}
		return true
	}
	// general builds instance i, evaluating what the templates cannot
	// give; false when a diagnostic leaves it out.
	general := func(i int, a *byteArena) bool {
		it := item(i)
		in := start(i, it.key, a)
		ictx := ctx
		if r.ForEach != nil {
			ictx = nil // built on first use
		}
		instCtx := func() *hcl.EvalContext {
			if ictx == nil {
				if it.str {
					it.val = cty.StringVal(it.key)
				}
				ictx = ctx.NewChild()
				ictx.Variables = map[string]cty.Value{"each": cty.ObjectVal(map[string]cty.Value{
					"key":   cty.StringVal(it.key),
					"value": it.val,
				})}
			}
			return ictx
		}
		fill := func(t *template) (string, bool) {
			if it.str {
				return t.fillStr(a, it.key, it.key, true)
			}
			return t.fill(a, it.key, it.val)
		}
		if r.MerchantKey != nil {
			m, d := s.resourceMerchant(r, it.key, r.ForEach != nil, instCtx, in.Addr)
			diags = append(diags, d...)
			if d.HasErrors() {
				return false
			}
			in.Merchant = m
		}
		src, ok := fill(srcT)
		if !ok {
			var d hcl.Diagnostics
			src, d = evalString(r.Source, instCtx(), "source", in.Addr)
			diags = append(diags, d...)
			if d.HasErrors() {
				return false
			}
		}
		setSource(in, src, "", "", a)
		if r.Filename != nil {
			fn, ok := fill(fnT)
			if !ok {
				var d hcl.Diagnostics
				fn, d = evalString(r.Filename, instCtx(), "filename", in.Addr)
				diags = append(diags, d...)
				if d.HasErrors() {
					return false
				}
			}
			in.Filename = fn
			if fn == in.Key {
				in.Filename = in.Key
			}
		}
		return true
	}
	// The template fast path first, on every core for many instances,
	// each range of instances with an arena of its own, of about the size
	// its strings take; then, in order, the general evaluator for the
	// rest, so that diagnostics come in instance order.
	done := make([]bool, n)
	parallelChunks(n, func(lo, hi int) {
		var a, scratch byteArena
		need := 0
		itemsIn(lo, hi, func(_ int, it forEachItem) { need += size(it.key) })
		a.reserve(need)
		itemsIn(lo, hi, func(i int, it forEachItem) { done[i] = fast(i, it, &a, &scratch) })
	})
	var a byteArena
	out := make([]*Instance, 0, n)
	for i := range n {
		if done[i] || general(i, &a) {
			out = append(out, &backing[i])
		}
	}
	return out, diags
}

// plainKey reports whether k is printable ASCII without '"' or '\\', so
// that it can stand between double quotes as it is (but for ${ and %{).
func plainKey(k string) bool {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// cleanRel reports whether src is a non-empty relative slash path that
// filepath.Clean leaves unchanged, so that joining it to a clean directory
// needs no cleaning: no empty, "." or ".." element and no trailing slash.
func cleanRel(src string) bool {
	if src == "" || src[0] == '/' || src[len(src)-1] == '/' {
		return false
	}
	start := 0
	for i := 0; i <= len(src); i++ {
		if i == len(src) || src[i] == '/' {
			switch src[start:i] {
			case "", ".", "..":
				return false
			}
			start = i + 1
		}
	}
	return true
}

func evalString(expr hcl.Expression, ctx *hcl.EvalContext, attr, addr string) (string, hcl.Diagnostics) {
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return "", diags
	}
	fail := func(detail string) (string, hcl.Diagnostics) {
		return "", append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Invalid %s argument", attr),
			Detail:   fmt.Sprintf("In %s: %s", addr, detail),
			Subject:  expr.Range().Ptr(),
		})
	}
	if v.IsMarked() {
		if isCredential(v) {
			return fail("the value derives from a credential (" + credentialNote + "): it would be shown in plans and kept in state.")
		}
		return fail("a sensitive value cannot be used here: it would be shown in plans and kept in state.")
	}
	if !v.IsKnown() {
		return fail("the value depends on values that are not known until apply.")
	}
	if v.IsNull() {
		return fail("the value must not be null.")
	}
	sv, err := convert.Convert(v, cty.String)
	if err != nil {
		return fail(fmt.Sprintf("a string is required, not %s.", v.Type().FriendlyName()))
	}
	str := sv.AsString()
	if str == "" {
		return fail("the value must not be empty.")
	}
	return str, diags
}

// forEachItem is one key of a for_each and its value.
type forEachItem struct {
	key string
	val cty.Value
	// str: val is cty.StringVal(key), key already NFC normalised, and val
	// is built only when needed.
	str bool
}

// forEachItems evaluates a for_each argument, a map or a set of strings,
// into its items sorted by key. A value derived from a credential or a
// sensitive value is refused unless marked is set (a merchant's for_each,
// whose values feed merchant arguments only).
func (s *scope) forEachItems(expr hcl.Expression, ctx *hcl.EvalContext, marked bool) ([]forEachItem, hcl.Diagnostics) {
	if keys, ok := s.fastFileset(expr, ctx); ok {
		items := make([]forEachItem, keys.len())
		keys.each(0, len(items), func(i int, k string) { items[i] = forEachItem{key: k, str: true} })
		return items, nil
	}
	return s.forEachValue(expr, ctx, marked)
}

// forEachValue is forEachItems without the fileset fast path.
func (s *scope) forEachValue(expr hcl.Expression, ctx *hcl.EvalContext, marked bool) ([]forEachItem, hcl.Diagnostics) {
	var items []forEachItem
	fe, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return nil, diags
	}
	fail := func(detail string) ([]forEachItem, hcl.Diagnostics) {
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid for_each argument",
			Detail:   detail,
			Subject:  expr.Range().Ptr(),
		})
	}
	if fe.IsMarked() && !marked {
		if isCredential(fe) {
			return fail("The for_each value derives from a credential (" + credentialNote + "): instance keys are shown in plans and kept in state.")
		}
		return fail("Sensitive values cannot be used as for_each arguments: instance keys are shown in plans and kept in state.")
	}
	fe, _ = fe.Unmark()
	if fe.IsNull() {
		return fail("The for_each value is null; it must be a map or a set of strings.")
	}
	if !fe.IsKnown() {
		return fail("The for_each value depends on values that are not known until apply.")
	}
	ty := fe.Type()
	switch {
	case ty.IsSetType():
		if !ty.ElementType().Equals(cty.String) && ty.ElementType() != cty.DynamicPseudoType {
			conv, err := convert.Convert(fe, cty.Set(cty.String))
			if err != nil {
				return fail(fmt.Sprintf("The for_each set must contain strings, not %s.", ty.ElementType().FriendlyName()))
			}
			fe = conv
		}
		// One pass over the elements: a cty set sorts them on every walk.
		for _, v := range fe.AsValueSlice() {
			if !v.IsKnown() {
				return fail("The for_each value depends on values that are not known until apply.")
			}
			if v.IsNull() {
				return fail("The for_each set contains a null value.")
			}
			items = append(items, forEachItem{key: v.AsString(), val: v})
		}
	case ty.IsMapType() || ty.IsObjectType():
		if !fe.IsWhollyKnown() {
			return fail("The for_each value depends on values that are not known until apply.")
		}
		for it := fe.ElementIterator(); it.Next(); {
			k, v := it.Element()
			items = append(items, forEachItem{key: k.AsString(), val: v})
		}
	case ty.IsListType() || ty.IsTupleType():
		return fail(fmt.Sprintf("The for_each argument must be a map or a set of strings, and you have provided %s; convert it with toset(…) to use its elements as keys.", words.Article(ty.FriendlyName())))
	default:
		return fail(fmt.Sprintf("The for_each argument must be a map or a set of strings, not %s.", ty.FriendlyName()))
	}
	sort.Slice(items, func(i, j int) bool { return items[i].key < items[j].key })
	return items, diags
}
