package schema

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Merchant instances: a merchant block without for_each is one merchant
// instance, a block with for_each one per key. A resource names its
// merchant statically, merchant.NAME or merchant.NAME[KEY], like
// Terraform's provider argument (OpenTofu's provider for_each): the key is
// the only part evaluated, per resource instance.

// MerchantInstanceName names a merchant instance: merchant.NAME or
// merchant.NAME["key"], after the module instance path and a dot inside a
// module. A merchant of the root module without for_each is named by its
// block name alone, which is what states written before merchant for_each
// and modules record for it.
func MerchantInstanceName(module, name, key string, hasKey bool) string {
	if module == "" && !hasKey {
		return name
	}
	n := "merchant." + name
	if hasKey {
		n = InstanceAddress(n, key)
	}
	if module != "" {
		n = module + "." + n
	}
	return n
}

// MerchantLabel names a merchant instance in messages: merchant "acme"
// for a root merchant without for_each, else its instance name as it is,
// such as merchant.shop["sh-001"] or module.store["a"].merchant.m.
func MerchantLabel(name string) string {
	if strings.ContainsAny(name, `."[`) {
		return name
	}
	return fmt.Sprintf("merchant %q", name)
}

// merchantForEach is the one argument of a merchant block that is not the
// merchant's: the rest stays in the block's body for decoding late.
var merchantForEach = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "for_each"}}}

func decodeMerchantBlock(b *hcl.Block) *MerchantBlock {
	mb := &MerchantBlock{Name: b.Labels[0], Body: b.Body, DeclRange: b.DefRange}
	content, rest, d := b.Body.PartialContent(merchantForEach)
	if !d.HasErrors() {
		mb.Body = rest
		if a, ok := content.Attributes["for_each"]; ok {
			mb.ForEach = a.Expr
		}
	}
	return mb
}

// merchantRef reads a resource's merchant argument: merchant.NAME, or
// merchant.NAME[KEY] with KEY any expression (each.key, a literal, a
// variable). In the JSON syntax the reference is a string holding the same.
func merchantRef(expr hcl.Expression) (string, hcl.Expression, hcl.Diagnostics) {
	bad := func() (string, hcl.Expression, hcl.Diagnostics) {
		return "", nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid merchant reference",
			Detail:   `The merchant argument must be a static reference to a merchant block, such as merchant.acme, or to an instance of a merchant block with for_each, such as merchant.shop[each.key].`,
			Subject:  expr.Range().Ptr(),
		}}
	}
	se, ok := expr.(hclsyntax.Expression)
	if !ok {
		v, d := expr.Value(nil)
		if d.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
			return bad()
		}
		rng := expr.Range()
		start := hcl.Pos{Line: rng.Start.Line, Column: rng.Start.Column + 1, Byte: rng.Start.Byte + 1}
		parsed, d := hclsyntax.ParseExpression([]byte(v.AsString()), rng.Filename, start)
		if d.HasErrors() {
			return bad()
		}
		se = parsed
	}
	name := func(t hcl.Traversal) (string, bool) {
		if t.RootName() != "merchant" || len(t) < 2 {
			return "", false
		}
		a, ok := t[1].(hcl.TraverseAttr)
		return a.Name, ok
	}
	switch e := se.(type) {
	case *hclsyntax.ScopeTraversalExpr:
		n, ok := name(e.Traversal)
		switch {
		case !ok || len(e.Traversal) > 3:
			return bad()
		case len(e.Traversal) == 3:
			idx, ok := e.Traversal[2].(hcl.TraverseIndex)
			if !ok {
				return bad()
			}
			return n, hcl.StaticExpr(idx.Key, idx.SrcRange), nil
		}
		return n, nil, nil
	case *hclsyntax.IndexExpr:
		c, ok := e.Collection.(*hclsyntax.ScopeTraversalExpr)
		if !ok || len(c.Traversal) != 2 {
			return bad()
		}
		n, ok := name(c.Traversal)
		if !ok {
			return bad()
		}
		return n, e.Key, nil
	}
	return bad()
}

// isEachKey reports whether e is exactly each.key.
func isEachKey(e hcl.Expression) bool {
	st, ok := e.(*hclsyntax.ScopeTraversalExpr)
	if !ok || len(st.Traversal) != 2 || st.Traversal.RootName() != "each" {
		return false
	}
	a, ok := st.Traversal[1].(hcl.TraverseAttr)
	return ok && a.Name == "key"
}

// merchantInstance names the instance of this module's merchant block name.
func (ev *Evaluation) merchantInstance(name, key string, hasKey bool) string {
	return MerchantInstanceName(ev.Module, name, key, hasKey)
}

// addMerchant records a decoded merchant instance here and in the root
// evaluation.
func (ev *Evaluation) addMerchant(m *Merchant) {
	ev.Merchants[m.Name] = m
	ev.taint.addKeyFiles(m)
	if ev.root != nil && ev.root != ev {
		ev.root.Merchants[m.Name] = m
	}
}

// evalMerchants decodes every merchant block of the module: one merchant
// per block without for_each, one per key with it.
func (s *scope) evalMerchants() hcl.Diagnostics {
	ev := s.ev
	var diags hcl.Diagnostics
	for _, name := range keys(ev.Config.Merchants) {
		mb := ev.Config.Merchants[name]
		if mb.ForEach == nil {
			m, d := s.decodeMerchant(mb, ev.merchantInstance(name, "", false), nil)
			diags = append(diags, d...)
			if m != nil {
				ev.addMerchant(m)
			}
			continue
		}
		ctx, d := s.evalContext([]hcl.Expression{mb.ForEach}, "A merchant's for_each")
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		items, d := s.forEachItems(mb.ForEach, ctx, true)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		ks := make(map[string]bool, len(items))
		for _, it := range items {
			if ev.taint.isSecret(it.key) {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid for_each argument",
					Detail:   "A key of this for_each is a credential or a sensitive value: merchant instance keys are shown in plans and kept in state.",
					Subject:  mb.ForEach.Range().Ptr(),
				})
				ks = nil
				break
			}
			ks[it.key] = true
		}
		if ks == nil {
			continue
		}
		if ev.root != ev {
			// Module instances multiply merchant instances as they do
			// resource instances.
			if ev.root.moduleMerchantInstances += len(items); ev.root.moduleMerchantInstances > MaxModuleMerchantInstances {
				ev.root.Partial = true
				// Nothing more is evaluated in modules.
				ev.root.moduleResourceInstances = MaxModuleResourceInstances + 1
				return append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Too many merchant instances",
					Detail: fmt.Sprintf("The module instances of this configuration make more than %d merchant instances (merchant %q of %s among them); wxmedia evaluates at most that many in modules. Iterate fewer keys, or fewer module instances.",
						MaxModuleMerchantInstances, name, ev.Module),
					Subject: mb.ForEach.Range().Ptr(),
				})
			}
		}
		ev.merchantKeys[name] = ks
		for _, it := range items {
			val := it.val
			if it.str {
				val = cty.StringVal(it.key)
			}
			val, _ = val.UnmarkDeep()
			each := cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(it.key), "value": val})
			m, d := s.decodeMerchant(mb, ev.merchantInstance(name, it.key, true), &each)
			diags = append(diags, d...)
			if m != nil {
				m.Key, m.HasKey = it.key, true
				ev.addMerchant(m)
			}
		}
	}
	return diags
}

// resourceMerchant is the merchant instance of the resource instance at
// addr whose for_each key is key (with ctx its evaluation context, each
// included): the key expression is evaluated unless it is each.key.
func (s *scope) resourceMerchant(r *Resource, key string, hasKey bool, ctx func() *hcl.EvalContext, addr string) (string, hcl.Diagnostics) {
	if r.MerchantKey == nil {
		return s.ev.merchantInstance(r.Merchant, "", false), nil
	}
	ks, evaluated := s.ev.merchantKeys[r.Merchant]
	if !evaluated {
		return "", nil // the merchant's for_each had errors, reported
	}
	k := key
	if !r.merchantEachKey || !hasKey {
		v, diags := r.MerchantKey.Value(ctx())
		if diags.HasErrors() {
			return "", diags
		}
		fail := func(detail string) (string, hcl.Diagnostics) {
			return "", append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid merchant instance key",
				Detail:   fmt.Sprintf("In %s: %s", addr, detail),
				Subject:  r.MerchantKey.Range().Ptr(),
			})
		}
		switch {
		case v.IsMarked():
			return fail("a credential or a sensitive value cannot name a merchant instance: merchant instance names are shown in plans and kept in state.")
		case !v.IsKnown():
			return fail("the key depends on values that are not known until apply.")
		case v.IsNull():
			return fail("the key must not be null.")
		}
		sv, err := convert.Convert(v, cty.String)
		if err != nil {
			return fail(fmt.Sprintf("a merchant instance key is a string, not %s.", v.Type().FriendlyName()))
		}
		k = sv.AsString()
	}
	if !ks[k] {
		return "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid merchant instance key",
			Detail: fmt.Sprintf("In %s: the merchant %q has no instance with the key %s.%s",
				addr, r.Merchant, QuoteKey(k), didYouMean(k, keys(ks))),
			Subject: r.MerchantKey.Range().Ptr(),
		}}
	}
	return s.ev.merchantInstance(r.Merchant, k, true), nil
}
