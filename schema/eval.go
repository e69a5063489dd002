package schema

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/wxmedia/wxmedia/internal/suggest"
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
	// Name is the merchant instance name (MerchantInstanceName): the block
	// name for a root merchant without for_each.
	Name string
	// Block is the merchant block's name; Key its for_each key (HasKey),
	// Module its module instance path ("" in the root module).
	Block                   string
	Key                     string
	HasKey                  bool
	Module                  string
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
	// Addr is the instance address: type.name or type.name["key"], after
	// the module instance path and a dot inside a module, as Terraform
	// writes it: module.store["sh-001"].wechatpay_image.logo.
	Addr     string
	Resource *Resource
	// Key is the for_each key; HasKey is false without for_each.
	Key string
	// Merchant is the merchant instance name (MerchantInstanceName): the
	// block name for a root merchant without for_each.
	Merchant string
	// Source is the source path as evaluated, relative to the root
	// module's directory unless absolute (a module's relative source is
	// joined to the module's directory and cleaned); Path is it made
	// absolute.
	Source string
	Path   string
	// Filename is the name sent to the API: the filename attribute or the
	// base name of Source.
	Filename string
	HasKey   bool
	// The module instance path is not a field but the start of Addr
	// (Module): a large for_each keeps many instances.
}

// Module is the module instance path without the trailing dot:
// module.store["sh-001"], module.a.module.b[0]; "" in the root module.
func (in *Instance) Module() string {
	if n := len(in.ResourceAddr()) - len(in.Resource.Type) - len(in.Resource.Name) - 2; n > 0 {
		return in.Addr[:n]
	}
	return ""
}

// ResourceAddr is the address of the instance's resource: type.name after
// the module instance path, as -target names every instance of it.
func (in *Instance) ResourceAddr() string {
	n := len(in.Addr)
	if in.HasKey {
		if quotesAsIs(in.Key) {
			n -= len(in.Key) + 4
		} else {
			n -= len(QuoteKey(in.Key)) + 2
		}
	}
	return in.Addr[:max(n, 0)]
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
	Data map[string]cty.Value
	// Merchants by merchant instance name, those of every module
	// instance included.
	Merchants map[string]*Merchant
	// Instances in resource declaration order, then by key; the root
	// evaluation's include every module instance's after its own.
	Instances []*Instance
	// Module is the module instance path of this evaluation ("" for the
	// root module); root is the root module's evaluation.
	Module string
	root   *Evaluation
	// inherited is the merchant instance of resources of a module that
	// declares no merchant: its caller's single merchant, as Terraform's
	// modules inherit the default provider.
	inherited string
	// modules holds the evaluated module calls by name; moduleInstances
	// counts the root's module instances (MaxModuleInstances).
	modules         map[string]*moduleExpansion
	moduleInstances int
	// moduleResourceInstances counts the resource instances of the root's
	// module instances (MaxModuleResourceInstances).
	moduleResourceInstances int
	// moduleMerchantInstances counts their merchant instances
	// (MaxModuleMerchantInstances).
	moduleMerchantInstances int
	// fileRead counts what file() read in the whole evaluation
	// (MaxFileFuncTotal).
	fileRead *atomic.Int64
	// merchantKeys holds the keys of each merchant block with for_each
	// whose for_each evaluated.
	merchantKeys map[string]map[string]bool
	// Partial is set when a variable or a data source could not be
	// evaluated: nothing that may use them was, and evaluating outputs
	// would only report consequences of those errors.
	Partial bool
	// taint follows credentials through the evaluation; taints holds the
	// root's for each module it calls.
	taint  *taint
	taints map[*Config]*taint
	// instanceParts are the instances of each resource of each module
	// instance evaluated so far, in order (the root's; joinInstances).
	instanceParts [][]*Instance
	// prefetched are the filesets listed ahead for this module instance
	// (module_prefetch.go); nil when none were.
	prefetched *instanceListings
	// cache holds what every module instance shares (the root's).
	cache *evalCache
	// varObj is the value of var, made from Vars when they had varObjLen
	// elements (varObject).
	varObj    cty.Value
	varObjLen int
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
	ev := &Evaluation{Config: cfg, Vars: map[string]cty.Value{}, Data: map[string]cty.Value{}, Merchants: map[string]*Merchant{},
		merchantKeys: map[string]map[string]bool{}, taint: newTaint(cfg), remote: remote}
	ev.root = ev
	ev.fileRead = new(atomic.Int64)
	return ev
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
	diags = append(diags, ev.evalBody()...)
	ev.joinInstances()
	diags = append(diags, ev.checkDistinctAddrs()...)
	return ev, dedupe(diags)
}

// joinInstances makes the root's Instances from the instances of each
// resource of each module instance, in the order they were evaluated: in
// one allocation (slices.Concat), or none when there is one resource.
func (ev *Evaluation) joinInstances() {
	parts := ev.instanceParts
	ev.instanceParts = nil
	switch len(parts) {
	case 0:
		return
	case 1:
		ev.Instances = parts[0]
		return
	}
	ev.Instances = slices.Concat(parts...)
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
				source = fmt.Sprintf("%s:%d", shownName(r.Filename), r.Start.Line)
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
		var subject *hcl.Range
		if gv, ok := given[name]; ok && gv.Expr != nil {
			subject = gv.Expr.Range().Ptr()
		}
		diags = append(diags, ev.setVariable(name, v, val, subject)...)
	}
	return diags
}

// setVariable marks val as sensitive if v is, and as a credential if the
// taint says var.NAME carries one, checks it against v's validation
// blocks and keeps it as var.NAME; a value that fails a check is not kept
// and the check's diagnostics are returned. Both the root module and a
// called module's inputs go through it.
func (ev *Evaluation) setVariable(name string, v *Variable, val cty.Value, subject *hcl.Range) hcl.Diagnostics {
	if v.Sensitive {
		val = val.Mark(SensitiveMark)
		ev.taint.remember(val)
	}
	if ev.taint.in.vars[name] {
		val = val.Mark(CredentialMark)
		ev.taint.remember(val)
	}
	if d := ev.validateVariable(v, val, subject); d.HasErrors() {
		return d
	}
	ev.Vars[name] = val
	return nil
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
			Detail:   fmt.Sprintf("The value given for the variable %q (%s) is not a valid %s: %s.", v.Name, shownName(gv.Source), typeexpr.TypeString(v.Type), err),
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
	if s.resVals == nil {
		s.resVals = map[string]cty.Value{}
	}
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
	out, diags := ev.evalOutputs(values)
	return out, dedupe(diags)
}

// evalOutputs evaluates the module's outputs with the given instance
// values, into unmarked values.
func (ev *Evaluation) evalOutputs(values map[string]InstanceValue) (map[string]OutputValue, hcl.Diagnostics) {
	out := map[string]OutputValue{}
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
