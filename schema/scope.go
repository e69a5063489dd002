package schema

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/wxmedia/wxmedia/uploader/apis"
)

// scope evaluates expressions: variables, lazily computed locals, and
// resource values (unknown identifiers when values is nil).
type scope struct {
	ev         *Evaluation
	values     map[string]InstanceValue
	allowRes   bool
	locals     map[string]cty.Value
	inProgress map[string]bool
	funcs      map[string]function.Function
	resVals    map[string]cty.Value
	byAddr     map[string]*Resource
	instances  map[string][]*Instance
	// fastOK caches fastPathsAllowed for the configuration (see fast).
	fastOK    bool
	fastKnown bool
	// modVals holds the values of module.NAME evaluated so far.
	modVals map[string]cty.Value
}

// fast reports whether the specialised paths of fastpath.go may serve
// this evaluation (see fastPathsAllowed).
func (s *scope) fast() bool {
	if !s.fastKnown {
		s.fastOK, s.fastKnown = fastPathsAllowed(s.ev.Config), true
	}
	return s.fastOK
}

func newScope(ev *Evaluation, values map[string]InstanceValue) *scope {
	// The maps a scope writes are made on first use: a module instance
	// makes a few scopes, most of which write none.
	s := &scope{
		ev:       ev,
		values:   values,
		allowRes: values != nil,
		funcs:    ev.functions(),
		byAddr:   ev.resourcesByAddr(),
	}
	for _, in := range ev.Instances {
		if in.Module() != ev.Module {
			continue // the root evaluation's list holds every module's
		}
		if s.instances == nil {
			s.instances = map[string][]*Instance{}
		}
		a := in.Resource.Addr()
		s.instances[a] = append(s.instances[a], in)
	}
	return s
}

// what describes where an expression is, for diagnostics ("a resource argument").
func (s *scope) evalContext(exprs []hcl.Expression, where string) (*hcl.EvalContext, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	vars := map[string]cty.Value{}
	var locals map[string]cty.Value
	var resTypes map[string]map[string]cty.Value
	var mods map[string]cty.Value
	// Only what the expressions refer to is in the context: var holds
	// the variables they name, and path, module and data are there when
	// they use them (each module instance evaluates its blocks in
	// contexts of their own, so this is per instance).
	var varNames []string
	usePath, useModule, useData := false, false, false
	for _, expr := range exprs {
		if expr == nil {
			continue
		}
		for _, trav := range s.ev.variablesOf(expr) {
			root := trav.RootName()
			rng := trav.SourceRange()
			attr := ""
			if len(trav) > 1 {
				if a, ok := trav[1].(hcl.TraverseAttr); ok {
					attr = a.Name
				}
			}
			switch {
			case root == "var":
				if attr == "" {
					diags = append(diags, badRef("var", "input variable", rng))
					continue
				}
				if _, ok := s.ev.Config.Variables[attr]; !ok {
					diags = append(diags, undeclaredRef("input variable", fmt.Sprintf("An input variable named %q has not been declared.%s", attr, didYouMean(attr, keys(s.ev.Config.Variables))), rng))
					continue
				}
				varNames = append(varNames, attr)
			case root == "local":
				if attr == "" {
					diags = append(diags, badRef("local", "local value", rng))
					continue
				}
				v, d := s.local(attr, rng)
				diags = append(diags, d...)
				if !d.HasErrors() {
					if locals == nil {
						locals = map[string]cty.Value{}
					}
					locals[attr] = v
				}
			case root == "each":
				// Provided per instance by the caller; checked in expand.
			case root == "count":
				// Provided per module instance by a module call with count.
			case root == "path":
				// path.module, path.root and path.cwd.
				usePath = true
			case root == "module":
				useModule = true
				if attr == "" {
					diags = append(diags, badRef("module", "module", rng))
					continue
				}
				if _, ok := s.ev.Config.ModuleCalls[attr]; !ok {
					diags = append(diags, undeclaredRef("module", fmt.Sprintf("No module call named %q is declared in this module.%s", attr, didYouMean(attr, keys(s.ev.Config.ModuleCalls))), rng))
					continue
				}
				v, d := s.moduleValue(attr)
				diags = append(diags, d...)
				if mods == nil {
					mods = map[string]cty.Value{}
				}
				mods[attr] = v
			case root == "merchant":
				diags = append(diags, merchantValueDiag(s.ev.Config, attr, rng))
			case isResourceType(root):
				if attr == "" {
					diags = append(diags, badRef(root, "resource", rng))
					continue
				}
				addr := root + "." + attr
				if _, ok := s.byAddr[addr]; !ok {
					diags = append(diags, undeclaredRef("resource", fmt.Sprintf("A resource %q has not been declared.%s", addr, didYouMean(addr, keys(s.byAddr))), rng))
					continue
				}
				if !s.allowRes {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Invalid reference to a resource",
						Detail:   fmt.Sprintf("%s cannot refer to resource %s: its identifiers are only known after apply. Only outputs and the locals they use may refer to resources.", where, addr),
						Subject:  rng.Ptr(),
					})
					continue
				}
				if resTypes == nil {
					resTypes = map[string]map[string]cty.Value{}
				}
				if resTypes[root] == nil {
					resTypes[root] = map[string]cty.Value{}
				}
				resTypes[root][attr] = s.resourceValue(addr)
			case root == "data":
				useData = true
				if d := s.readOnDemand(trav); d.HasErrors() {
					diags = append(diags, d...)
					continue
				}
				diags = append(diags, s.checkDataRef(trav)...)
			default:
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Unknown reference",
					Detail:   fmt.Sprintf("%q is not a known name. References start with var., local., each., path., module. or a resource type such as wechatpay_image.%s", root, didYouMean(root, []string{"var", "local", "each", "path", "module"})),
					Subject:  rng.Ptr(),
				})
			}
		}
	}
	if len(varNames) > 0 {
		vars["var"] = s.ev.varObject()
	}
	if len(locals) > 0 {
		vars["local"] = cty.ObjectVal(locals)
	}
	if usePath {
		vars["path"] = s.ev.pathObject()
	}
	if useModule {
		vars["module"] = cty.ObjectVal(mods)
	}
	for t, m := range resTypes {
		vars[t] = cty.ObjectVal(m)
	}
	if useData {
		vars["data"] = s.ev.dataObject()
	}
	return &hcl.EvalContext{Variables: vars, Functions: s.funcs}, diags
}

// varObject is the value of var in ev: its variables, made once (they
// are set before anything refers to them).
func (ev *Evaluation) varObject() cty.Value {
	if ev.varObj == cty.NilVal || ev.varObjLen != len(ev.Vars) {
		ev.varObj, ev.varObjLen = cty.ObjectVal(ev.Vars), len(ev.Vars)
	}
	return ev.varObj
}

// pathObject is the value of path in ev's module: relative paths are
// relative to the module's directory, so path.module is ".", path.root
// the root module's directory from there, path.cwd the root module's
// directory. Made once for every instance of a module.
func (ev *Evaluation) pathObject() cty.Value {
	c := ev.evalCache()
	if v, ok := c.paths[ev.Config]; ok {
		return v
	}
	v := cty.ObjectVal(map[string]cty.Value{
		"module": cty.StringVal("."),
		"root":   cty.StringVal(relName(ev.Config.Dir, ev.Config.root.Dir)),
		"cwd":    cty.StringVal(filepath.ToSlash(ev.Config.root.Dir)),
	})
	if c.paths == nil {
		c.paths = map[*Config]cty.Value{}
	}
	c.paths[ev.Config] = v
	return v
}

func badRef(root, kind string, rng hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid reference",
		Detail:   fmt.Sprintf("A reference to a %s must be followed by its name, such as %s.NAME.", kind, root),
		Subject:  rng.Ptr(),
	}
}

// undeclaredRef is the diagnostic of a reference to a kind of thing
// (input variable, local value, module, resource, data source, merchant)
// that has no declaration of that name; detail says which and suggests a
// close one.
func undeclaredRef(kind, detail string, rng hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Reference to undeclared " + kind,
		Detail:   detail,
		Subject:  rng.Ptr(),
	}
}

func isResourceType(name string) bool {
	_, ok := apis.SpecFor(name)
	return ok
}

func (s *scope) local(name string, rng hcl.Range) (cty.Value, hcl.Diagnostics) {
	if v, ok := s.locals[name]; ok {
		return v, nil
	}
	l, ok := s.ev.Config.Locals[name]
	if !ok {
		return cty.DynamicVal, hcl.Diagnostics{undeclaredRef("local value", fmt.Sprintf("A local value named %q has not been declared.%s", name, didYouMean(name, keys(s.ev.Config.Locals))), rng)}
	}
	if s.inProgress[name] {
		return cty.DynamicVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cycle in local values",
			Detail:   fmt.Sprintf("The local value %q refers to itself, directly or through other local values (%s).", name, strings.Join(keys(s.inProgress), ", ")),
			Subject:  l.Expr.Range().Ptr(),
		}}
	}
	if s.inProgress == nil {
		s.inProgress = map[string]bool{}
	}
	s.inProgress[name] = true
	defer delete(s.inProgress, name)
	ctx, diags := s.evalContext([]hcl.Expression{l.Expr}, "A local value used by a resource argument")
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	v, d := l.Expr.Value(ctx)
	diags = append(diags, d...)
	if d.HasErrors() {
		return cty.DynamicVal, diags
	}
	if s.ev.taint.in.locals[name] {
		v = v.Mark(CredentialMark)
		s.ev.taint.remember(v)
	}
	if s.locals == nil {
		s.locals = map[string]cty.Value{}
	}
	s.locals[name] = v
	return v, diags
}

// unmarkedContext evaluates what the arguments of body refer to, for
// decoding them unmarked: merchant and backend arguments may use
// sensitive variables and credentials, whose values never show in a
// diagnostic. It returns the arguments, and false when what they refer to
// has errors.
func (s *scope) unmarkedContext(body hcl.Body, where string) (hcl.Attributes, *hcl.EvalContext, hcl.Diagnostics, bool) {
	attrs, diags := body.JustAttributes()
	return s.unmarkedContextOf(attrs, diags, where)
}

// unmarkedContextOf is unmarkedContext of a body's arguments, as
// JustAttributes gave them.
func (s *scope) unmarkedContextOf(attrs hcl.Attributes, diags hcl.Diagnostics, where string) (hcl.Attributes, *hcl.EvalContext, hcl.Diagnostics, bool) {
	diags = append(diags[:len(diags):len(diags)], nil...)
	var exprs []hcl.Expression
	for _, a := range attrs {
		exprs = append(exprs, a.Expr)
	}
	ctx, d := s.evalContext(exprs, where)
	diags = append(diags, d...)
	if d.HasErrors() {
		return attrs, nil, diags, false
	}
	unmarkContext(ctx, s.ev)
	return attrs, ctx, diags, true
}

func (s *scope) decodeMerchant(mb *MerchantBlock, name string, each *cty.Value) (*Merchant, hcl.Diagnostics) {
	body := s.ev.merchantBody(mb)
	attrs, ctx, diags, ok := s.unmarkedContextOf(body.attrs, body.attrsDiags, "A merchant argument")
	if !ok {
		return nil, diags
	}
	if each != nil {
		ctx = ctx.NewChild()
		ctx.Variables = map[string]cty.Value{"each": *each}
	} else {
		for _, a := range attrs {
			for _, t := range a.Expr.Variables() {
				if t.RootName() == "each" {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  `Reference to "each" in context without for_each`,
						Detail:   `The "each" object can be used only in merchant and resource blocks that have for_each set.`,
						Subject:  t.SourceRange().Ptr(),
					})
				}
			}
		}
		if diags.HasErrors() {
			return nil, diags
		}
	}
	m := &Merchant{Name: name, Block: mb.Name, Module: s.ev.Module, DeclRange: mb.DeclRange, AttrRanges: map[string]hcl.Range{}}
	for n, a := range attrs {
		m.AttrRanges[n] = a.Expr.Range()
	}
	// An unsupported argument is reported and the others are decoded, so
	// that their own problems are reported in the same run; a value that
	// does not decode leaves the merchant out.
	content := body.content
	diags = append(diags, body.contentDiags...)
	rv := reflect.ValueOf(m).Elem()
	valid := true
	for i := 0; i < rv.NumField(); i++ {
		name := merchantTags()[i]
		a, ok := content.Attributes[name]
		if name == "" || !ok {
			continue
		}
		d := hideValues(gohcl.DecodeExpression(a.Expr, ctx, rv.Field(i).Addr().Interface()))
		diags = append(diags, d...)
		valid = valid && !d.HasErrors()
	}
	if !valid {
		return nil, diags
	}
	if rel := s.ev.Config.RelDir; rel != "." {
		// Files are named from the module's directory; wxmedia opens
		// them from the root module's.
		for _, p := range []*string{&m.PrivateKeyFile, &m.PlatformPublicKeyFile, &m.PlatformCertificateFile, &m.ClientCertificateFile, &m.CACertificateFile} {
			if *p != "" && !filepath.IsAbs(*p) {
				*p = filepath.Join(filepath.FromSlash(rel), *p)
			}
		}
	}
	return m, diags
}

// merchantSchema is the schema of a merchant block's arguments, as
// gohcl reads it from Merchant's tags: read once, for every merchant
// instance.
var merchantSchema = sync.OnceValue(func() *hcl.BodySchema {
	s, _ := gohcl.ImpliedBodySchema(&Merchant{})
	return s
})

// merchantValueDiag refuses an expression reading merchant.NAME and says
// what to write instead: a resource iterating a merchant's instances
// iterates what the merchant block iterates.
func merchantValueDiag(cfg *Config, name string, rng hcl.Range) *hcl.Diagnostic {
	detail := "A merchant can only be named by a resource's merchant argument; its attributes (keys and secrets among them) cannot be read by expressions."
	if mb, ok := cfg.Merchants[name]; ok && mb.ForEach != nil {
		iter := "local.shops"
		how := fmt.Sprintf(" (e.g. put it in a local, locals { shops = ... }, and write for_each = %s in both blocks)", iter)
		if t, d := hcl.AbsTraversalForExpr(mb.ForEach); !d.HasErrors() {
			if text := traversalText(t); text != "" {
				iter, how = text, ""
			}
		}
		detail += fmt.Sprintf(" To have one resource instance per instance of merchant %q, iterate the map or set that the merchant block iterates%s: for_each = %s and merchant = merchant.%s[each.key] in the resource.", name, how, iter, name)
	} else if ok {
		detail += fmt.Sprintf(" A resource names it with merchant = merchant.%s.", name)
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Merchant attributes are not values",
		Detail:   detail,
		Subject:  rng.Ptr(),
	}
}

// traversalText writes a traversal of attributes (local.shops) back as
// source; "" for one with an index or a splat.
func traversalText(t hcl.Traversal) string {
	var b strings.Builder
	for _, step := range t {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			b.WriteString(s.Name)
		case hcl.TraverseAttr:
			b.WriteString("." + s.Name)
		default:
			return ""
		}
	}
	return b.String()
}
