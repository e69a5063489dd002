package schema

import (
	"fmt"
	"math/big"
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// moduleExpansion is what evaluating a module call gave: one evaluation
// per module instance, in key order.
type moduleExpansion struct {
	// forEach, count: how the instances are keyed (neither: one instance).
	forEach, count bool
	keys           []string // for_each keys
	evs            []*Evaluation
	// busy is set while the call is evaluated (cycles); failed when its
	// arguments had errors (reported once).
	busy, failed bool
}

// newChild is the evaluation of the module instance at path, which calls
// cfg, evaluated within ev.
func (ev *Evaluation) newChild(cfg *Config, path string) *Evaluation {
	c := &Evaluation{
		Config: cfg, Vars: map[string]cty.Value{}, Data: map[string]cty.Value{}, Merchants: map[string]*Merchant{},
		merchantKeys: map[string]map[string]bool{}, Module: path, root: ev.root,
		remote: ev.remote, fileRead: ev.root.fileRead,
	}
	// One taint per module: its instances share its inputs and functions.
	if c.taint = ev.root.taints[cfg]; c.taint == nil {
		c.taint = ev.taint.forConfig(cfg)
		if ev.root.taints == nil {
			ev.root.taints = map[*Config]*taint{}
		}
		ev.root.taints[cfg] = c.taint
	}
	switch ms := ev.Config.Merchants; {
	case len(ms) == 0:
		c.inherited = ev.inherited
	case len(ms) == 1:
		for name, mb := range ms {
			if mb.ForEach == nil {
				c.inherited = ev.merchantInstance(name, "", false)
			}
		}
	}
	return c
}

// evalBody evaluates, once its variables are set, a module's data
// sources, merchants, resource instances and the modules it calls, and
// checks its outputs (module instances only: the root module's are
// evaluated against the state by Outputs).
func (ev *Evaluation) evalBody() hcl.Diagnostics {
	var diags hcl.Diagnostics
	if len(ev.Config.DataSources) > 0 {
		diags = newScope(ev, nil).readDataSources()
		if diags.HasErrors() {
			ev.Partial = true
			return diags
		}
	}
	if ev.root != ev && ev.root.moduleResourceInstances > MaxModuleResourceInstances {
		// Reported once, where the limit was passed.
		return diags
	}
	s := newScope(ev, nil)
	diags = append(diags, s.evalMerchants()...)
	for _, r := range ev.Config.Resources {
		if ev.root != ev && ev.root.moduleResourceInstances > MaxModuleResourceInstances {
			// Reported once, where the limit was passed.
			return diags
		}
		insts, d := s.expand(r)
		diags = append(diags, d...)
		// The root's list is made once all are evaluated (joinInstances).
		if len(insts) > 0 {
			ev.root.instanceParts = append(ev.root.instanceParts, insts)
		}
		if ev.root != ev {
			if ev.Instances == nil {
				ev.Instances = insts // not a copy of the first resource's
			} else {
				ev.Instances = append(ev.Instances, insts...)
			}
			if ev.root.moduleResourceInstances += len(insts); ev.root.moduleResourceInstances > MaxModuleResourceInstances {
				ev.root.Partial = true
				return append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Too many resource instances",
					Detail: fmt.Sprintf("The module instances of this configuration make more than %d resource instances (%s of %s among them); wxmedia evaluates at most that many in modules. Iterate fewer keys, or fewer module instances.",
						MaxModuleResourceInstances, r.Addr(), ev.Module),
					Subject: r.DeclRange.Ptr(),
				})
			}
		}
	}
	for _, name := range keys(ev.Config.ModuleCalls) {
		_, d := ev.expandModule(name)
		diags = append(diags, d...)
	}
	if ev.root != ev && !diags.HasErrors() {
		_, d := ev.outputObject(nil)
		diags = append(diags, d...)
	}
	return diags
}

// expandModule evaluates the module call name once: its for_each or
// count, and each instance's inputs and body.
func (ev *Evaluation) expandModule(name string) (*moduleExpansion, hcl.Diagnostics) {
	call := ev.Config.ModuleCalls[name]
	if me := ev.modules[name]; me != nil {
		if me.busy {
			me.failed = true
			return me, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Cycle in module references",
				Detail:   fmt.Sprintf("The arguments of module %q refer to its own outputs, directly or through locals or other modules.", name),
				Subject:  call.DeclRange.Ptr(),
			}}
		}
		return me, nil
	}
	if ev.modules == nil {
		ev.modules = map[string]*moduleExpansion{}
	}
	me := &moduleExpansion{busy: true, forEach: call.ForEach != nil, count: call.Count != nil}
	ev.modules[name] = me
	defer func() { me.busy = false }()
	if call.Module == nil {
		me.failed = true
		return me, nil // not loaded: reported by Load
	}
	exprs := []hcl.Expression{call.ForEach, call.Count}
	for _, a := range call.Inputs {
		exprs = append(exprs, a.Expr)
		if call.ForEach == nil {
			for _, t := range a.Expr.Variables() {
				if t.RootName() == "each" {
					me.failed = true
					return me, hcl.Diagnostics{{
						Severity: hcl.DiagError,
						Summary:  `Reference to "each" in context without for_each`,
						Detail:   `The "each" object can be used only in module, merchant and resource blocks that have for_each set.`,
						Subject:  t.SourceRange().Ptr(),
					}}
				}
			}
		}
	}
	s := newScope(ev, nil)
	ctx, diags := s.evalContext(exprs, "A module argument")
	if diags.HasErrors() {
		me.failed = true
		return me, diags
	}
	var items []forEachItem
	switch {
	case call.ForEach != nil:
		var d hcl.Diagnostics
		items, d = s.forEachItems(call.ForEach, ctx, false)
		diags = append(diags, d...)
	case call.Count != nil:
		n, d := evalCount(call.Count, ctx)
		diags = append(diags, d...)
		items = make([]forEachItem, n)
	default:
		items = []forEachItem{{}}
	}
	if diags.HasErrors() {
		me.failed = true
		return me, diags
	}
	if ev.root.moduleInstances += len(items); ev.root.moduleInstances > MaxModuleInstances {
		me.failed = true
		return me, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Too many module instances",
			Detail:   fmt.Sprintf("This configuration makes more than %d module instances; wxmedia evaluates at most that many.", MaxModuleInstances),
			Subject:  call.DeclRange.Ptr(),
		})
	}
	prefix := "module." + name
	if ev.Module != "" {
		prefix = ev.Module + "." + prefix
	}
	ahead, stop := ev.prefetchFilesets(call, items)
	defer stop()
	for i, it := range items {
		path := prefix
		ictx := ctx
		switch {
		case me.forEach:
			path = InstanceAddress(prefix, it.key)
			val := it.val
			if it.str {
				val = cty.StringVal(it.key)
			}
			ictx = ctx.NewChild()
			ictx.Variables = map[string]cty.Value{"each": cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(it.key), "value": val})}
			me.keys = append(me.keys, it.key)
		case me.count:
			path = prefix + "[" + strconv.Itoa(i) + "]"
			ictx = ctx.NewChild()
			ictx.Variables = map[string]cty.Value{"count": cty.ObjectVal(map[string]cty.Value{"index": cty.NumberIntVal(int64(i))})}
		}
		child := ev.newChild(call.Module, path)
		if ahead != nil {
			// Dropped once used: the listings are garbage then.
			child.prefetched, ahead[i] = ahead[i], nil
		}
		me.evs = append(me.evs, child)
		d := child.evalInputs(call, ictx)
		diags = append(diags, d...)
		if d.HasErrors() || child.Partial {
			child.Partial = true
			child.dropPrefetched()
			continue
		}
		diags = append(diags, child.evalBody()...)
		child.dropPrefetched()
	}
	return me, diags
}

// evalCount evaluates a module's count: a whole number, zero or more.
func evalCount(expr hcl.Expression, ctx *hcl.EvalContext) (int, hcl.Diagnostics) {
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return 0, diags
	}
	fail := func(detail string) (int, hcl.Diagnostics) {
		return 0, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid count argument", Detail: detail, Subject: expr.Range().Ptr()})
	}
	if v.IsMarked() {
		return fail("Sensitive values and credentials cannot be used as count: instance indexes are shown in plans and kept in state.")
	}
	if !v.IsKnown() {
		return fail("The count value depends on values that are not known until apply.")
	}
	if v.IsNull() {
		return fail("The count value is null; it must be a whole number.")
	}
	nv, err := convert.Convert(v, cty.Number)
	if err != nil {
		return fail(fmt.Sprintf("The count must be a whole number, not %s.", v.Type().FriendlyName()))
	}
	n, acc := nv.AsBigFloat().Int64()
	if acc != big.Exact || n < 0 || n > MaxModuleInstances {
		return fail(fmt.Sprintf("The count must be a whole number from 0 to %d.", MaxModuleInstances))
	}
	return int(n), diags
}

// evalInputs sets a module instance's variables from its call's
// arguments (evaluated in ctx, the caller's) or their defaults, checked
// against their types and validation rules: a mistake is reported at the
// argument, naming where the variable is declared.
func (ev *Evaluation) evalInputs(call *ModuleCall, ctx *hcl.EvalContext) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range keys(ev.Config.Variables) {
		v := ev.Config.Variables[name]
		var val cty.Value
		var subject *hcl.Range
		if _, ok := call.Inputs[name]; !ok && v.Default == cty.NilVal {
			ev.Partial = true // reported by Load: Missing required argument
			continue
		}
		if a, ok := call.Inputs[name]; ok {
			got, d := a.Expr.Value(ctx)
			diags = append(diags, d...)
			if d.HasErrors() {
				continue
			}
			subject = a.Expr.Range().Ptr()
			if got.IsNull() && v.Default != cty.NilVal {
				got = v.Default
			}
			conv, err := convertTo(got, v.Type)
			if err != nil {
				r := v.DeclRange
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid value for input variable",
					Detail: fmt.Sprintf("The given value is not suitable for %s.var.%s declared at %s:%d,%d: %s.",
						ev.Module, name, r.Filename, r.Start.Line, r.Start.Column, err),
					Subject: subject,
				})
				continue
			}
			val = conv
		} else {
			val = v.Default
		}
		diags = append(diags, ev.setVariable(name, v, val, subject)...)
	}
	return diags
}

// moduleValue is the value of module.NAME in s: an object of the
// instance's outputs, or, with for_each, an object of those by key, with
// count a tuple of them. Outputs of resources are unknown unless s has
// instance values.
func (s *scope) moduleValue(name string) (cty.Value, hcl.Diagnostics) {
	if s.modVals == nil {
		s.modVals = map[string]cty.Value{}
	}
	if v, ok := s.modVals[name]; ok {
		return v, nil
	}
	me, diags := s.ev.expandModule(name)
	if diags.HasErrors() || me.failed {
		s.modVals[name] = cty.DynamicVal
		return cty.DynamicVal, diags
	}
	objs := make([]cty.Value, len(me.evs))
	for i, child := range me.evs {
		if child.Partial {
			objs[i] = cty.DynamicVal
			continue
		}
		o, d := child.outputObject(s.values)
		diags = append(diags, d...)
		objs[i] = o
	}
	var v cty.Value
	switch {
	case me.forEach:
		m := make(map[string]cty.Value, len(objs))
		for i, k := range me.keys {
			m[k] = objs[i]
		}
		v = cty.ObjectVal(m)
	case me.count:
		v = cty.EmptyTupleVal
		if len(objs) > 0 {
			v = cty.TupleVal(objs)
		}
	default:
		v = objs[0]
	}
	s.modVals[name] = v
	return v, diags
}

// outputObject evaluates a module instance's outputs with the given
// instance values (nil: every identifier unknown) into an object; a
// sensitive output stays marked.
func (ev *Evaluation) outputObject(values map[string]InstanceValue) (cty.Value, hcl.Diagnostics) {
	if len(ev.Config.Outputs) == 0 {
		return cty.EmptyObjectVal, nil
	}
	if values == nil {
		values = map[string]InstanceValue{}
	}
	outs, diags := ev.evalOutputs(values)
	m := make(map[string]cty.Value, len(ev.Config.Outputs))
	for name := range ev.Config.Outputs {
		o, ok := outs[name]
		switch {
		case !ok:
			m[name] = cty.DynamicVal
		case o.Sensitive:
			m[name] = o.Value.Mark(SensitiveMark)
		default:
			m[name] = o.Value
		}
	}
	return cty.ObjectVal(m), diags
}

// dedupe drops repeated diagnostics: the instances of a module report the
// same mistake in its files once.
func dedupe(diags hcl.Diagnostics) hcl.Diagnostics {
	if len(diags) < 2 {
		return diags
	}
	type key struct {
		sev             hcl.DiagnosticSeverity
		summary, detail string
		rng             hcl.Range
	}
	seen := map[key]bool{}
	out := diags[:0:0]
	for _, d := range diags {
		k := key{sev: d.Severity, summary: d.Summary, detail: d.Detail}
		if d.Subject != nil {
			k.rng = *d.Subject
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, d)
	}
	return out
}
