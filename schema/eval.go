package schema

import (
	"fmt"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/wxmedia/wxmedia/internal/suggest"
	"github.com/wxmedia/wxmedia/internal/words"
	"github.com/wxmedia/wxmedia/uploader/apis"
)

// SensitiveMark marks values that derive from a sensitive variable.
const SensitiveMark = "sensitive"

// VarValue is a value given for a variable from outside the configuration.
type VarValue struct {
	// Raw is the text as given; it is parsed as an HCL expression unless the
	// variable's type is a primitive (then it is taken literally).
	Raw string
	// Source names where it came from, e.g. "-var" or "WXMEDIA_VAR_name".
	Source string
	// FromEnv values for undeclared variables are ignored instead of refused.
	FromEnv bool
	// Expr, when set, is the value as written in a variables file; it is
	// evaluated without variables or functions, and Raw is ignored.
	Expr hcl.Expression
	// FromFile values for undeclared variables are warned about instead of
	// refused, as a variables file may serve several configurations.
	FromFile bool
	// Value, when not cty.NilVal, is a value already typed (a saved plan's
	// record); Raw and Expr are ignored.
	Value cty.Value
}

// Merchant holds a merchant block's evaluated attributes. Secrets here
// (api_v2_key, api_v3_key) are never copied into state, plans or outputs.
type Merchant struct {
	Name                    string
	MchID                   string  `hcl:"mchid,optional"`
	SerialNo                string  `hcl:"serial_no,optional"`
	PrivateKeyFile          string  `hcl:"private_key_file,optional"`
	PlatformPublicKeyID     string  `hcl:"platform_public_key_id,optional"`
	PlatformPublicKeyFile   string  `hcl:"platform_public_key_file,optional"`
	PlatformCertificateFile string  `hcl:"platform_certificate_file,optional"`
	Endpoint                string  `hcl:"endpoint,optional"`
	FallbackEndpoint        string  `hcl:"fallback_endpoint,optional"`
	V2Endpoint              string  `hcl:"v2_endpoint,optional"`
	APIV2Key                string  `hcl:"api_v2_key,optional"`
	APIV3Key                string  `hcl:"api_v3_key,optional"`
	V2SignType              string  `hcl:"v2_sign_type,optional"`
	ClientCertificateFile   string  `hcl:"client_certificate_file,optional"`
	CACertificateFile       string  `hcl:"ca_certificate_file,optional"`
	MaxRequestsPerSecond    float64 `hcl:"max_requests_per_second,optional"`
	Sandbox                 bool    `hcl:"sandbox,optional"`
	// DeclRange is the merchant block's header, for diagnostics.
	DeclRange hcl.Range
	// AttrRanges are the value ranges of the attributes written, by name.
	AttrRanges map[string]hcl.Range
}

// AttrRange is where the attribute name is written: its value, or the
// block's header when it is not written.
func (m *Merchant) AttrRange(name string) *hcl.Range {
	if r, ok := m.AttrRanges[name]; ok {
		return &r
	}
	return m.DeclRange.Ptr()
}

// Instance is one resource instance after for_each expansion.
type Instance struct {
	// Addr is the instance address: type.name or type.name["key"].
	Addr     string
	Resource *Resource
	// Key is the for_each key; HasKey is false without for_each.
	Key    string
	HasKey bool
	// Merchant is the merchant block name.
	Merchant string
	// Source is the source path as evaluated (relative to the configuration
	// directory unless absolute); Path is it made absolute.
	Source string
	Path   string
	// Filename is the name sent to the API: the filename attribute or the
	// base name of Source.
	Filename string
}

// SourceRange is where the instance's source argument is written.
func (in *Instance) SourceRange() hcl.Range { return in.Resource.Source.Range() }

// Evaluation is a configuration with its variables, merchants and resource
// instances evaluated.
type Evaluation struct {
	Config *Config
	// Vars are the variables' final values, sensitive ones marked.
	Vars map[string]cty.Value
	// Data holds the value of each data source by name, its outputs
	// marked where sensitive.
	Data      map[string]cty.Value
	Merchants map[string]*Merchant
	// Instances in resource declaration order, then by key.
	Instances []*Instance
	// Partial is set when a variable or a data source could not be
	// evaluated: nothing that may use them was, and evaluating outputs
	// would only report consequences of those errors.
	Partial bool
	// taint follows credentials through the evaluation.
	taint *taint
	// remote reads data sources; nil when none may be read.
	remote RemoteStateReader
	// lazyData: data sources are read when first referred to, not all
	// at once (DecodeBackend); dataTried names those read so far.
	lazyData  bool
	dataTried map[string]bool
}

// InstanceValue carries what is known about an instance for evaluating
// references to it. An empty ID means "known after apply".
type InstanceValue struct {
	ID         string
	SHA256     string
	Size       int64
	Filename   string
	Source     string
	UploadedAt time.Time
}

// OutputValue is an evaluated output. Value is unmarked and may be unknown
// (known after apply).
type OutputValue struct {
	Value     cty.Value
	Sensitive bool
}

// newEvaluation is an evaluation of cfg with nothing evaluated yet,
// reading data sources through remote.
func newEvaluation(cfg *Config, remote RemoteStateReader) *Evaluation {
	return &Evaluation{Config: cfg, Vars: map[string]cty.Value{}, Data: map[string]cty.Value{}, Merchants: map[string]*Merchant{}, taint: newTaint(cfg), remote: remote}
}

// Evaluate evaluates a configuration that reads no remote state: see
// EvaluateWith.
func (cfg *Config) Evaluate(given map[string]VarValue) (*Evaluation, hcl.Diagnostics) {
	return cfg.EvaluateWith(given, nil)
}

// EvaluateWith evaluates variables, data sources (read through remote;
// without one, a data source cannot be read), merchants and resource
// arguments.
func (cfg *Config) EvaluateWith(given map[string]VarValue, remote RemoteStateReader) (*Evaluation, hcl.Diagnostics) {
	ev := newEvaluation(cfg, remote)
	diags := ev.evalVariables(given)
	if diags.HasErrors() {
		ev.Partial = true
		return ev, diags
	}
	s := newScope(ev, nil)
	diags = append(diags, s.readDataSources()...)
	if diags.HasErrors() {
		ev.Partial = true
		return ev, diags
	}
	s = newScope(ev, nil)
	for _, name := range keys(cfg.Merchants) {
		m, d := s.decodeMerchant(cfg.Merchants[name])
		diags = append(diags, d...)
		if m != nil {
			ev.Merchants[name] = m
			ev.taint.addKeyFiles(m)
		}
	}
	for _, r := range cfg.Resources {
		insts, d := s.expand(r)
		diags = append(diags, d...)
		ev.Instances = append(ev.Instances, insts...)
	}
	return ev, diags
}

func (ev *Evaluation) evalVariables(given map[string]VarValue) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range keys(given) {
		gv := given[name]
		if _, ok := ev.Config.Variables[name]; !ok && !gv.FromEnv {
			// The value may be another configuration's credential (a
			// variables file shared by several): the diagnostic names
			// where it was given but quotes no source line, which would
			// show it.
			source := gv.Source
			if gv.Expr != nil {
				r := gv.Expr.Range()
				source = fmt.Sprintf("%s:%d", r.Filename, r.Start.Line)
			}
			d := &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Value for undeclared variable",
				Detail:   fmt.Sprintf("A value was given for the variable %q (%s), but no variable of that name is declared.%s", name, source, didYouMean(name, keys(ev.Config.Variables))),
			}
			if gv.FromFile {
				d.Severity = hcl.DiagWarning
				d.Detail += " The value is ignored."
			}
			diags = append(diags, d)
		}
	}
	for _, name := range keys(ev.Config.Variables) {
		v := ev.Config.Variables[name]
		var val cty.Value
		if gv, ok := given[name]; ok {
			var d hcl.Diagnostics
			val, d = parseVarValue(v, gv)
			diags = append(diags, d...)
			if d.HasErrors() {
				continue
			}
		} else if v.Default != cty.NilVal {
			val = v.Default
		} else {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "No value for required variable",
				Detail:   fmt.Sprintf("The variable %q is required but has no default and no value was given; set it with -var %s=…, a *.auto.wxmvars.hcl file or WXMEDIA_VAR_%s.", name, name, name),
				Subject:  v.DeclRange.Ptr(),
			})
			continue
		}
		if v.Sensitive {
			val = val.Mark(SensitiveMark)
			ev.taint.remember(val)
		}
		if ev.taint.in.vars[name] {
			val = val.Mark(CredentialMark)
			ev.taint.remember(val)
		}
		var subject *hcl.Range
		if gv, ok := given[name]; ok && gv.Expr != nil {
			subject = gv.Expr.Range().Ptr()
		}
		if d := ev.validateVariable(v, val, subject); d.HasErrors() {
			diags = append(diags, d...)
			continue
		}
		ev.Vars[name] = val
	}
	return diags
}

func parseVarValue(v *Variable, gv VarValue) (cty.Value, hcl.Diagnostics) {
	var val cty.Value
	subject := v.DeclRange.Ptr()
	if gv.Value != cty.NilVal {
		val = gv.Value
	} else if gv.Expr != nil {
		var d hcl.Diagnostics
		val, d = gv.Expr.Value(nil)
		if d.HasErrors() {
			return cty.NilVal, d
		}
		subject = gv.Expr.Range().Ptr()
	} else if v.Type == cty.DynamicPseudoType || v.Type.IsPrimitiveType() {
		val = cty.StringVal(gv.Raw)
	} else {
		if d := CheckText([]byte(gv.Raw), gv.Source); d.HasErrors() {
			return cty.NilVal, d
		}
		expr, diags := hclsyntax.ParseExpression([]byte(gv.Raw), gv.Source, hcl.InitialPos)
		if !diags.HasErrors() {
			val, diags = expr.Value(nil)
		}
		if diags.HasErrors() {
			return cty.NilVal, hcl.Diagnostics{commandLineValue(v, gv)}
		}
	}
	conv, err := convertTo(linearConvert(val, v.Type), v.Type)
	if err != nil {
		return cty.NilVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail:   fmt.Sprintf("The value given for the variable %q (%s) is not a valid %s: %s.", v.Name, gv.Source, typeexpr.TypeString(v.Type), err),
			Subject:  subject,
		}}
	}
	return conv, nil
}

// commandLineValue is the error for a value of a collection or structural
// type, given on the command line or in the environment, that is not an
// HCL expression: it shows how to write one for the shell.
func commandLineValue(v *Variable, gv VarValue) *hcl.Diagnostic {
	ty := typeexpr.TypeString(v.Type)
	var example cty.Value
	switch {
	case (v.Type.IsSetType() || v.Type.IsListType()) && v.Type.ElementType() == cty.String:
		var elems []cty.Value
		for _, e := range strings.Split(gv.Raw, ",") {
			elems = append(elems, cty.StringVal(strings.TrimSpace(e)))
		}
		example = cty.TupleVal(elems)
	case v.Type.IsMapType() && v.Type.ElementType() == cty.String:
		example = cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal("value")})
	}
	how := "an HCL expression, as in a variables file"
	if example != cty.NilVal {
		lit := strings.TrimSpace(string(hclwrite.TokensForValue(example).Bytes()))
		if gv.FromEnv {
			how = fmt.Sprintf("an HCL expression, quoted for the shell: %s='%s'", gv.Source, lit)
		} else {
			how = fmt.Sprintf("an HCL expression, quoted for the shell: -var '%s=%s'", v.Name, lit)
		}
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid value for variable",
		Detail: fmt.Sprintf("The value given for the variable %q (%s) is not a valid %s. Values of collection and object types are written on the command line and in the environment as %s.",
			v.Name, gv.Source, ty, how),
		Subject: v.DeclRange.Ptr(),
	}
}

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
}

func newScope(ev *Evaluation, values map[string]InstanceValue) *scope {
	s := &scope{
		ev:         ev,
		values:     values,
		allowRes:   values != nil,
		locals:     map[string]cty.Value{},
		inProgress: map[string]bool{},
		funcs:      ev.functions(),
		resVals:    map[string]cty.Value{},
		byAddr:     map[string]*Resource{},
		instances:  map[string][]*Instance{},
	}
	for _, r := range ev.Config.Resources {
		s.byAddr[r.Addr()] = r
	}
	for _, in := range ev.Instances {
		a := in.Resource.Addr()
		s.instances[a] = append(s.instances[a], in)
	}
	return s
}

// what describes where an expression is, for diagnostics ("a resource argument").
func (s *scope) evalContext(exprs []hcl.Expression, where string) (*hcl.EvalContext, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	vars := map[string]cty.Value{}
	locals := map[string]cty.Value{}
	resTypes := map[string]map[string]cty.Value{}
	for _, expr := range exprs {
		if expr == nil {
			continue
		}
		for _, trav := range expr.Variables() {
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
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Reference to undeclared input variable",
						Detail:   fmt.Sprintf("An input variable named %q has not been declared.%s", attr, didYouMean(attr, keys(s.ev.Config.Variables))),
						Subject:  rng.Ptr(),
					})
				}
			case root == "local":
				if attr == "" {
					diags = append(diags, badRef("local", "local value", rng))
					continue
				}
				v, d := s.local(attr, rng)
				diags = append(diags, d...)
				if !d.HasErrors() {
					locals[attr] = v
				}
			case root == "each":
				// Provided per instance by the caller; checked in expand.
			case root == "path":
				// path.module and path.cwd.
			case root == "merchant":
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Merchant attributes are not values",
					Detail:   "A merchant can only be named by a resource's merchant argument; its attributes (keys and secrets among them) cannot be read by expressions.",
					Subject:  rng.Ptr(),
				})
			case isResourceType(root):
				if attr == "" {
					diags = append(diags, badRef(root, "resource", rng))
					continue
				}
				addr := root + "." + attr
				if _, ok := s.byAddr[addr]; !ok {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Reference to undeclared resource",
						Detail:   fmt.Sprintf("A resource %q has not been declared.%s", addr, didYouMean(addr, keys(s.byAddr))),
						Subject:  rng.Ptr(),
					})
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
				if resTypes[root] == nil {
					resTypes[root] = map[string]cty.Value{}
				}
				resTypes[root][attr] = s.resourceValue(addr)
			case root == "data":
				if d := s.readOnDemand(trav); d.HasErrors() {
					diags = append(diags, d...)
					continue
				}
				diags = append(diags, s.checkDataRef(trav)...)
			default:
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Unknown reference",
					Detail:   fmt.Sprintf("%q is not a known name. References start with var., local., each., path. or a resource type such as wechatpay_image.%s", root, didYouMean(root, []string{"var", "local", "each", "path"})),
					Subject:  rng.Ptr(),
				})
			}
		}
	}
	varVals := map[string]cty.Value{}
	for n, v := range s.ev.Vars {
		varVals[n] = v
	}
	vars["var"] = cty.ObjectVal(varVals)
	vars["local"] = cty.ObjectVal(locals)
	vars["path"] = cty.ObjectVal(map[string]cty.Value{
		"module": cty.StringVal("."),
		"cwd":    cty.StringVal(filepath.ToSlash(s.ev.Config.Dir)),
	})
	for t, m := range resTypes {
		vars[t] = cty.ObjectVal(m)
	}
	vars["data"] = s.ev.dataObject()
	return &hcl.EvalContext{Variables: vars, Functions: s.funcs}, diags
}

func badRef(root, kind string, rng hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid reference",
		Detail:   fmt.Sprintf("A reference to a %s must be followed by its name, such as %s.NAME.", kind, root),
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
		return cty.DynamicVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Reference to undeclared local value",
			Detail:   fmt.Sprintf("A local value named %q has not been declared.%s", name, didYouMean(name, keys(s.ev.Config.Locals))),
			Subject:  rng.Ptr(),
		}}
	}
	if s.inProgress[name] {
		return cty.DynamicVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cycle in local values",
			Detail:   fmt.Sprintf("The local value %q refers to itself, directly or through other local values (%s).", name, strings.Join(keys(s.inProgress), ", ")),
			Subject:  l.Expr.Range().Ptr(),
		}}
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
	s.locals[name] = v
	return v, diags
}

func (s *scope) decodeMerchant(mb *MerchantBlock) (*Merchant, hcl.Diagnostics) {
	attrs, diags := mb.Body.JustAttributes()
	var exprs []hcl.Expression
	for _, a := range attrs {
		exprs = append(exprs, a.Expr)
	}
	// Merchant attributes may use sensitive variables and credentials:
	// decode unmarked, and never show the values in a diagnostic.
	ctx, d := s.evalContext(exprs, "A merchant argument")
	diags = append(diags, d...)
	if d.HasErrors() {
		return nil, diags
	}
	unmarkContext(ctx, s.ev.Config.Dir)
	m := &Merchant{Name: mb.Name, DeclRange: mb.DeclRange, AttrRanges: map[string]hcl.Range{}}
	for n, a := range attrs {
		m.AttrRanges[n] = a.Expr.Range()
	}
	// An unsupported argument is reported and the others are decoded, so
	// that their own problems are reported in the same run; a value that
	// does not decode leaves the merchant out.
	bodySchema, _ := gohcl.ImpliedBodySchema(m)
	content, d := mb.Body.Content(bodySchema)
	diags = append(diags, d...)
	rv := reflect.ValueOf(m).Elem()
	valid := true
	for i := 0; i < rv.NumField(); i++ {
		name, _, _ := strings.Cut(rv.Type().Field(i).Tag.Get("hcl"), ",")
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
	return m, diags
}

// expand evaluates a resource's for_each and its per-instance arguments.
func (s *scope) expand(r *Resource) ([]*Instance, hcl.Diagnostics) {
	if r.Source == nil {
		return nil, nil // reported by Load: Missing required argument
	}
	ctx, diags := s.evalContext([]hcl.Expression{r.ForEach, r.Source, r.Filename}, "A resource argument")
	if diags.HasErrors() {
		return nil, diags
	}
	type each struct {
		key string
		val cty.Value
		// str: val is cty.StringVal(key), key already NFC normalised,
		// and val is built only when needed.
		str bool
	}
	var items []each
	if r.ForEach == nil {
		for _, e := range []hcl.Expression{r.Source, r.Filename} {
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
		items = []each{{}}
	} else if keys, ok := s.fastFileset(r.ForEach, ctx); ok {
		items = make([]each, len(keys))
		for i, k := range keys {
			items[i] = each{key: k, str: true}
		}
	} else {
		fe, d := r.ForEach.Value(ctx)
		diags = append(diags, d...)
		if d.HasErrors() {
			return nil, diags
		}
		fail := func(detail string) ([]*Instance, hcl.Diagnostics) {
			return nil, append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid for_each argument",
				Detail:   detail,
				Subject:  r.ForEach.Range().Ptr(),
			})
		}
		if fe.IsMarked() {
			if isCredential(fe) {
				return fail("The for_each value derives from a credential (" + credentialNote + "): instance keys are shown in plans and kept in state.")
			}
			return fail("Sensitive values cannot be used as for_each arguments: instance keys are shown in plans and kept in state.")
		}
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
				items = append(items, each{key: v.AsString(), val: v})
			}
		case ty.IsMapType() || ty.IsObjectType():
			if !fe.IsWhollyKnown() {
				return fail("The for_each value depends on values that are not known until apply.")
			}
			for it := fe.ElementIterator(); it.Next(); {
				k, v := it.Element()
				items = append(items, each{key: k.AsString(), val: v})
			}
		case ty.IsListType() || ty.IsTupleType():
			return fail(fmt.Sprintf("The for_each argument must be a map or a set of strings, and you have provided %s; convert it with toset(…) to use its elements as keys.", words.Article(ty.FriendlyName())))
		default:
			return fail(fmt.Sprintf("The for_each argument must be a map or a set of strings, not %s.", ty.FriendlyName()))
		}
		sort.Slice(items, func(i, j int) bool { return items[i].key < items[j].key })
	}

	var srcT, fnT *template
	if r.ForEach != nil {
		srcT, fnT = compileTemplate(r.Source), compileTemplate(r.Filename)
	}
	// One allocation for all the instances. The address prefix and the
	// directory are computed once.
	backing := make([]Instance, len(items))
	addr := r.Addr()
	dir := s.ev.Config.Dir
	dirClean := filepath.Separator == '/' && dir != "" && dir != "." && filepath.Clean(dir) == dir
	dirSlash := dir + "/"
	// setSource sets the source, and the path made from it unless path
	// gives it already.
	setSource := func(in *Instance, src, path string) {
		in.Source = src
		in.Path = src
		switch {
		case path != "":
			in.Path = path
		case filepath.IsAbs(src):
		case dirClean && cleanRel(src):
			if dir == "/" {
				in.Path = "/" + src
			} else {
				in.Path = dirSlash + src
			}
		default:
			in.Path = filepath.Join(dir, src)
		}
		in.Filename = filepath.Base(src)
	}
	start := func(i int) *Instance {
		it := items[i]
		in := &backing[i]
		*in = Instance{Resource: r, Merchant: r.Merchant}
		if r.ForEach != nil {
			in.Key, in.HasKey = it.key, true
			in.Addr = InstanceAddress(addr, it.key)
		} else {
			in.Addr = addr
		}
		return in
	}
	// fast builds instance i from the compiled templates alone; false
	// when the general evaluator must build it.
	fast := func(i int) bool {
		it := items[i]
		if !it.str || srcT == nil || r.Filename != nil && fnT == nil {
			return false
		}
		fn := ""
		if r.Filename != nil {
			var ok bool
			if fn, ok = fnT.fillStr(it.key, it.key, true); !ok {
				return false
			}
		}
		var src, path string
		if dirClean && dir != "/" {
			// The source made inside its absolute path: one allocation.
			if p, ok := srcT.fillStrIn(dirSlash, it.key, it.key, true); ok && cleanRel(p[len(dirSlash):]) {
				src, path = p[len(dirSlash):], p
			}
		}
		if path == "" {
			var ok bool
			if src, ok = srcT.fillStr(it.key, it.key, true); !ok {
				return false
			}
		}
		in := start(i)
		setSource(in, src, path)
		if r.Filename != nil {
			in.Filename = fn
		}
		return true
	}
	// general builds instance i, evaluating what the templates cannot
	// give; false when a diagnostic leaves it out.
	general := func(i int) bool {
		it := items[i]
		in := start(i)
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
				return t.fillStr(it.key, it.key, true)
			}
			return t.fill(it.key, it.val)
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
		setSource(in, src, "")
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
		}
		return true
	}
	// The template fast path first, on every core for many instances;
	// then, in order, the general evaluator for the rest, so that
	// diagnostics come in instance order.
	done := make([]bool, len(items))
	parallelChunks(len(items), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			done[i] = fast(i)
		}
	})
	out := make([]*Instance, 0, len(items))
	for i := range items {
		if done[i] || general(i) {
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

// InstanceType is the object type of one resource instance's value.
func InstanceType(spec apis.Spec) cty.Type {
	return cty.Object(map[string]cty.Type{
		"id":          cty.String,
		spec.IDField:  cty.String,
		"sha256":      cty.String,
		"size":        cty.Number,
		"filename":    cty.String,
		"source":      cty.String,
		"uploaded_at": cty.String,
	})
}

func (s *scope) resourceValue(addr string) cty.Value {
	if v, ok := s.resVals[addr]; ok {
		return v
	}
	r := s.byAddr[addr]
	if r.Source == nil {
		// Its missing source was reported: unknown, so that references
		// to it report nothing more.
		s.resVals[addr] = cty.DynamicVal
		return cty.DynamicVal
	}
	ty := InstanceType(r.Spec)
	inst := func(in *Instance) cty.Value {
		iv, ok := s.values[in.Addr]
		attrs := map[string]cty.Value{
			"filename": cty.StringVal(in.Filename),
			"source":   cty.StringVal(in.Source),
		}
		if ok && iv.SHA256 != "" {
			attrs["sha256"] = cty.StringVal(iv.SHA256)
			attrs["size"] = cty.NumberIntVal(iv.Size)
		} else {
			attrs["sha256"] = cty.UnknownVal(cty.String)
			attrs["size"] = cty.UnknownVal(cty.Number)
		}
		if ok && iv.ID != "" {
			attrs["id"] = cty.StringVal(iv.ID)
			attrs[r.Spec.IDField] = cty.StringVal(iv.ID)
			attrs["uploaded_at"] = cty.StringVal(iv.UploadedAt.UTC().Format(time.RFC3339))
		} else {
			attrs["id"] = cty.UnknownVal(cty.String)
			attrs[r.Spec.IDField] = cty.UnknownVal(cty.String)
			attrs["uploaded_at"] = cty.UnknownVal(cty.String)
		}
		return cty.ObjectVal(attrs)
	}
	var v cty.Value
	if r.ForEach == nil {
		insts := s.instances[addr]
		if len(insts) == 1 {
			v = inst(insts[0])
		} else {
			v = cty.UnknownVal(ty)
		}
	} else {
		m := map[string]cty.Value{}
		for _, in := range s.instances[addr] {
			m[in.Key] = inst(in)
		}
		if len(m) == 0 {
			v = cty.MapValEmpty(ty)
		} else {
			v = cty.MapVal(m)
		}
	}
	s.resVals[addr] = v
	return v
}

// Outputs evaluates every output with the given instance values (by
// instance address); instances without an ID are "known after apply".
func (ev *Evaluation) Outputs(values map[string]InstanceValue) (map[string]OutputValue, hcl.Diagnostics) {
	out := map[string]OutputValue{}
	if len(ev.Config.Outputs) == 0 {
		return out, nil
	}
	if values == nil {
		values = map[string]InstanceValue{}
	}
	s := newScope(ev, values)
	var diags hcl.Diagnostics
	for _, name := range keys(ev.Config.Outputs) {
		o := ev.Config.Outputs[name]
		ctx, d := s.evalContext([]hcl.Expression{o.Expr}, "An output")
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		v, d := o.Expr.Value(ctx)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		if isCredential(v) {
			diags = append(diags, s.credentialOutput(o))
			continue
		}
		if v.ContainsMarked() && !o.Sensitive {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Output refers to sensitive values",
				Detail:   fmt.Sprintf("The output %q uses a sensitive variable; mark it sensitive = true to confirm that it may be kept in state and read by other configurations.", name),
				Subject:  o.DeclRange.Ptr(),
			})
			continue
		}
		v, _ = v.UnmarkDeep()
		out[name] = OutputValue{Value: v, Sensitive: o.Sensitive}
	}
	return out, diags
}

func typeConstraint(expr hcl.Expression) (cty.Type, hcl.Diagnostics) {
	return typeexpr.TypeConstraint(expr)
}

func convertTo(v cty.Value, ty cty.Type) (cty.Value, error) {
	out, err := convert.Convert(v, ty)
	if err != nil {
		if pe, ok := err.(cty.PathError); ok && len(pe.Path) > 0 {
			return cty.NilVal, fmt.Errorf("%s: %s", formatPath(pe.Path), pe.Error())
		}
		return cty.NilVal, err
	}
	return out, nil
}

func formatPath(p cty.Path) string {
	var b strings.Builder
	for _, step := range p {
		switch s := step.(type) {
		case cty.GetAttrStep:
			b.WriteString("." + s.Name)
		case cty.IndexStep:
			if s.Key.Type() == cty.String {
				b.WriteString("[" + strconv.Quote(s.Key.AsString()) + "]")
			} else {
				b.WriteString("[" + s.Key.AsBigFloat().String() + "]")
			}
		}
	}
	return strings.TrimPrefix(b.String(), ".")
}

func didYouMean(given string, options []string) string {
	best := suggest.Nearest(given, options)
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}
