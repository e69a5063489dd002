package schema

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// Credentials are a taint, not a name: whatever a credential argument is
// computed from (variables, locals, env() and file() calls) carries
// CredentialMark wherever its value flows, so that outputs, resource
// arguments, saved plans and messages can tell.

// CredentialMark marks values that derive from an input of a credential
// argument. Such values are never shown, recorded or published, even in
// a sensitive output.
const CredentialMark = "credential"

// credentialAttributes are the arguments (of merchant, backend and a remote
// state's config blocks) whose values are credentials. Adding a credential
// argument is adding its name here.
var credentialAttributes = []string{"api_v2_key", "api_v3_key", "conn_str"}

// credentialNote says what a credential is, for diagnostics.
var credentialNote = "whatever feeds " + strings.Join(credentialAttributes, ", ") + " or is read from a private key file"

// credentialFileAttributes are the arguments naming a file whose content is
// a credential: file() of that file is a credential.
var credentialFileAttributes = []string{"private_key_file"}

// credentialInputs are the inputs of the credential arguments.
type credentialInputs struct {
	vars, locals map[string]bool
	// envs names the environment variables read by env() calls that feed a
	// credential; anyEnv is set when a name is not a constant.
	envs   map[string]bool
	anyEnv bool
	// files holds the cleaned paths (relative to the configuration
	// directory, or absolute) read by file() calls that feed a credential,
	// and the credential files; anyFile as anyEnv.
	files   map[string]bool
	anyFile bool
}

// credentialExprs are the expressions of every credential argument.
func (cfg *Config) credentialExprs() []hcl.Expression {
	var exprs []hcl.Expression
	collect := func(body hcl.Body) {
		if body == nil {
			return
		}
		attrs, _ := body.JustAttributes()
		for _, name := range credentialAttributes {
			if a, ok := attrs[name]; ok {
				exprs = append(exprs, a.Expr)
			}
		}
	}
	for _, m := range cfg.Merchants {
		n := len(exprs)
		collect(m.Body)
		// A credential argument of a merchant with for_each that reads
		// each.value reads the for_each value.
		for _, e := range exprs[n:] {
			if m.ForEach != nil && readsInstanceValue(e, "each") {
				exprs = append(exprs, m.ForEach)
				break
			}
		}
	}
	if cfg.Backend != nil {
		collect(cfg.Backend.Body)
	}
	// The arguments of a module call for the module's variables that feed
	// its credential arguments (the module's for_each too, when they read
	// each.value).
	for _, name := range keys(cfg.ModuleCalls) {
		mc := cfg.ModuleCalls[name]
		if mc.Module == nil {
			continue
		}
		in := mc.Module.credentialInputs()
		for _, v := range keys(in.vars) {
			a, ok := mc.Inputs[v]
			if !ok {
				continue
			}
			exprs = append(exprs, a.Expr)
			if readsInstanceValue(a.Expr, "each") && mc.ForEach != nil {
				exprs = append(exprs, mc.ForEach)
			}
			if readsInstanceValue(a.Expr, "count") && mc.Count != nil {
				exprs = append(exprs, mc.Count)
			}
		}
	}
	for _, d := range cfg.DataSources {
		exprs = append(exprs, d.secretExprs()...)
	}
	return exprs
}

// readsInstanceValue reports whether e reads its instance's for_each
// value or count through root ("each" or "count") other than as the key of
// an index: var.v2_keys[each.key] picks a credential by the instance key
// (the key is not the credential), while each.value, each.key alone or in
// a template, or each.value[each.key] read it. Expressions that are not
// native syntax (JSON) are judged by refersTo.
func readsInstanceValue(e hcl.Expression, root string) bool {
	if _, ok := e.(hclsyntax.Expression); !ok {
		return refersTo(e, root)
	}
	// The traversals used as keys of an index expression whose collection
	// does not itself read root.
	asKey := map[hclsyntax.Expression]bool{}
	hclsyntax.VisitAll(e.(hclsyntax.Node), func(n hclsyntax.Node) hcl.Diagnostics {
		if ix, ok := n.(*hclsyntax.IndexExpr); ok {
			if k, ok := ix.Key.(*hclsyntax.ScopeTraversalExpr); ok && isInstanceKey(k.Traversal, root) {
				asKey[k] = true
			}
		}
		return nil
	})
	reads := false
	hclsyntax.VisitAll(e.(hclsyntax.Node), func(n hclsyntax.Node) hcl.Diagnostics {
		if t, ok := n.(*hclsyntax.ScopeTraversalExpr); ok && t.Traversal.RootName() == root && !asKey[t] {
			reads = true
		}
		return nil
	})
	return reads
}

// isInstanceKey reports whether t is each.key or count.index.
func isInstanceKey(t hcl.Traversal, root string) bool {
	if len(t) != 2 || t.RootName() != root {
		return false
	}
	a, ok := t[1].(hcl.TraverseAttr)
	return ok && (root == "each" && a.Name == "key" || root == "count" && a.Name == "index")
}

// refersTo reports whether e refers to root (var, local, each…).
func refersTo(e hcl.Expression, root string) bool {
	for _, t := range e.Variables() {
		if t.RootName() == root {
			return true
		}
	}
	return false
}

// credentialInputs walks the credential arguments' expressions, and the
// locals they use, for their inputs.
func (cfg *Config) credentialInputs() *credentialInputs {
	if cfg.credIn != nil {
		return cfg.credIn
	}
	ci := &credentialInputs{vars: map[string]bool{}, locals: map[string]bool{}, envs: map[string]bool{}, files: map[string]bool{}}
	exprs := cfg.credentialExprs()
	files := cfg.Files()
	for len(exprs) > 0 {
		e := exprs[len(exprs)-1]
		exprs = exprs[:len(exprs)-1]
		ci.calls(e, files)
		for _, tr := range e.Variables() {
			if len(tr) < 2 {
				continue
			}
			at, ok := tr[1].(hcl.TraverseAttr)
			if !ok {
				continue
			}
			switch tr.RootName() {
			case "var":
				ci.vars[at.Name] = true
			case "local":
				if l, ok := cfg.Locals[at.Name]; ok && !ci.locals[at.Name] {
					ci.locals[at.Name] = true
					exprs = append(exprs, l.Expr)
				}
			}
		}
	}
	cfg.credIn = ci
	return ci
}

// calls records the env() and file() calls of e. An expression of the
// JSON syntax keeps its calls inside a string template that HCL does not
// expose: the string is read from the file and parsed as the template it
// is; any other JSON value holds no call.
func (ci *credentialInputs) calls(e hcl.Expression, files map[string]*hcl.File) {
	se, ok := e.(hclsyntax.Expression)
	if !ok {
		se = jsonTemplate(e, files)
		if se == nil {
			return
		}
	}
	hclsyntax.VisitAll(se, func(n hclsyntax.Node) hcl.Diagnostics {
		call, ok := n.(*hclsyntax.FunctionCallExpr)
		if !ok || (call.Name != "env" && call.Name != "file") {
			return nil
		}
		name, known := "", false
		if len(call.Args) == 1 {
			if v, d := call.Args[0].Value(nil); !d.HasErrors() && v.IsKnown() && !v.IsNull() && v.Type() == cty.String {
				name, known = v.AsString(), true
			}
		}
		switch {
		case call.Name == "env" && known:
			ci.envs[name] = true
		case call.Name == "env":
			ci.anyEnv = true
		case known:
			ci.files[filepath.Clean(name)] = true
		default:
			ci.anyFile = true
		}
		return nil
	})
}

// jsonTemplate parses the JSON string e is written as into the template
// HCL evaluates; nil when e is not a JSON string of files.
func jsonTemplate(e hcl.Expression, files map[string]*hcl.File) hclsyntax.Expression {
	rng := e.Range()
	f := files[rng.Filename]
	if f == nil || rng.Start.Byte < 0 || rng.End.Byte > len(f.Bytes) || rng.Start.Byte >= rng.End.Byte {
		return nil
	}
	var text string
	if json.Unmarshal(f.Bytes[rng.Start.Byte:rng.End.Byte], &text) != nil {
		return nil
	}
	t, diags := hclsyntax.ParseTemplate([]byte(text), rng.Filename, rng.Start)
	if diags.HasErrors() {
		return nil
	}
	return t
}

// SecretVariables names every variable that flows, directly or through
// locals, into a credential argument (a merchant's api_v2_key, a backend's
// conn_str, a remote state's config.conn_str…). Such variables carry
// CredentialMark and are treated as sensitive wherever values are recorded
// (saved plans), even when not declared sensitive.
func (cfg *Config) SecretVariables() []string {
	ci := cfg.credentialInputs()
	out := make([]string, 0, len(ci.vars))
	for v := range ci.vars {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// taint is what an evaluation knows about credentials: their inputs, and
// every credential or sensitive string it saw, for redacting messages.
type taint struct {
	// dir is the module's directory, root the root module's: merchants'
	// files are named from the root's once decoded.
	dir, root string
	in        *credentialInputs
	// mu guards keyFiles and secrets, which the taints of an evaluation's
	// module instances share with the root's.
	mu *sync.Mutex
	// keyFiles are the credential files named by merchants (cleaned, as
	// written or absolute).
	keyFiles map[string]bool
	secrets  map[string]bool
	// base and funcs are the functions of the module's expressions, made
	// once: baseFunctions and functions.
	base, funcs map[string]function.Function
}

func newTaint(cfg *Config) *taint {
	return &taint{dir: cfg.Dir, root: cfg.Dir, in: cfg.credentialInputs(), mu: new(sync.Mutex), keyFiles: map[string]bool{}, secrets: map[string]bool{}}
}

// forConfig is the taint of a module instance of cfg: its own inputs,
// and what t saw shared.
func (t *taint) forConfig(cfg *Config) *taint {
	return &taint{dir: cfg.Dir, root: t.root, in: cfg.credentialInputs(), mu: t.mu, keyFiles: t.keyFiles, secrets: t.secrets}
}

// remember keeps every string inside v for redaction.
func (t *taint) remember(v cty.Value) {
	v, _ = v.UnmarkDeep()
	t.mu.Lock()
	defer t.mu.Unlock()
	_ = cty.Walk(v, func(_ cty.Path, v cty.Value) (bool, error) {
		if v.IsKnown() && !v.IsNull() && v.Type() == cty.String && v.AsString() != "" {
			t.secrets[v.AsString()] = true
		}
		return true, nil
	})
}

// isSecret reports whether s is a credential or sensitive string seen so far.
func (t *taint) isSecret(s string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.secrets[s]
}

// rememberString keeps s for redaction.
func (t *taint) rememberString(s string) {
	if s == "" {
		return
	}
	t.mu.Lock()
	t.secrets[s] = true
	t.mu.Unlock()
}

// addKeyFiles records m's credential files (private_key_file).
func (t *taint) addKeyFiles(m *Merchant) {
	rv := reflect.ValueOf(m).Elem()
	rt := rv.Type()
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := 0; i < rt.NumField(); i++ {
		tag := merchantTags()[i]
		isFile, isCred := false, false
		for _, a := range credentialFileAttributes {
			isFile = isFile || a == tag
		}
		for _, a := range credentialAttributes {
			isCred = isCred || a == tag
		}
		f := rv.Field(i)
		if f.Kind() != reflect.String || f.String() == "" {
			continue
		}
		switch {
		case isFile:
			p := f.String()
			if !filepath.IsAbs(p) {
				p = filepath.Join(t.root, p)
			}
			t.keyFiles[filepath.Clean(p)] = true
		case isCred:
			t.secrets[f.String()] = true
		}
	}
}

func (t *taint) abs(p string) string {
	if !filepath.IsAbs(p) {
		p = filepath.Join(t.dir, p)
	}
	return filepath.Clean(p)
}

// isCredentialFile reports whether file(p) reads a credential.
func (t *taint) isCredentialFile(p string) bool {
	if t.in.anyFile || t.in.files[filepath.Clean(p)] {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.keyFiles[t.abs(p)] {
		return true
	}
	for f := range t.in.files {
		if t.abs(f) == t.abs(p) {
			return true
		}
	}
	return false
}

// functions wraps env() and file() so that what they read for a credential
// carries CredentialMark.
func (t *taint) functions(fs map[string]function.Function) map[string]function.Function {
	out := make(map[string]function.Function, len(fs))
	for n, f := range fs {
		out[n] = f
	}
	if f, ok := fs["env"]; ok {
		out["env"] = marking(f, func(name string) bool { return t.in.anyEnv || t.in.envs[name] }, t)
	}
	if f, ok := fs["file"]; ok {
		out["file"] = marking(f, t.isCredentialFile, t)
	}
	return out
}

// marking wraps a function of one string argument: its result carries
// CredentialMark when taints says so of the argument.
func marking(f function.Function, taints func(string) bool, t *taint) function.Function {
	return function.New(&function.Spec{
		Description: f.Description(),
		Params:      f.Params(),
		VarParam:    f.VarParam(),
		Type: func(args []cty.Value) (cty.Type, error) {
			return f.ReturnTypeForValues(args)
		},
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			v, err := f.Call(args)
			if err != nil || len(args) != 1 {
				return v, err
			}
			a, _ := args[0].UnmarkDeep()
			if a.IsKnown() && !a.IsNull() && a.Type() == cty.String && taints(a.AsString()) {
				t.remember(v)
				v = v.Mark(CredentialMark)
			}
			return v, nil
		},
	})
}

// Secrets returns every credential and sensitive string the evaluation
// saw (credential arguments, the values of their inputs, sensitive
// variables), for redacting messages and logs.
func (ev *Evaluation) Secrets() []string {
	if ev.taint == nil {
		return nil
	}
	ev.taint.mu.Lock()
	defer ev.taint.mu.Unlock()
	out := make([]string, 0, len(ev.taint.secrets))
	for s := range ev.taint.secrets {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// isCredential reports whether v, or anything inside it, derives from a
// credential.
func isCredential(v cty.Value) bool {
	_, marks := v.UnmarkDeep()
	return marks.Has(CredentialMark)
}

// credentialRefs names the credential inputs expr refers to directly
// (var.X, local.Y), for diagnostics.
func (ci *credentialInputs) refs(expr hcl.Expression) []string {
	var out []string
	seen := map[string]bool{}
	for _, tr := range expr.Variables() {
		if len(tr) < 2 {
			continue
		}
		at, ok := tr[1].(hcl.TraverseAttr)
		if !ok {
			continue
		}
		name := tr.RootName() + "." + at.Name
		if seen[name] {
			continue
		}
		if (tr.RootName() == "var" && ci.vars[at.Name]) || (tr.RootName() == "local" && ci.locals[at.Name]) {
			seen[name] = true
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// hideValues drops the expression values HCL's diagnostic writer would
// print ("with local.k as …") from diagnostics of expressions evaluated
// with credentials unmarked.
func hideValues(diags hcl.Diagnostics) hcl.Diagnostics {
	for _, d := range diags {
		d.Expression, d.EvalContext = nil, nil
	}
	return diags
}

// functions are the functions of expressions, env() and file() marking
// what they read for credentials.
// Every instance of a module shares them, made once (callers never change
// the map).
func (ev *Evaluation) functions() map[string]function.Function {
	if ev.taint == nil {
		ev.taint = newTaint(ev.Config)
	}
	if ev.taint.funcs == nil {
		ev.taint.funcs = ev.taint.functions(ev.baseFunctions())
	}
	return ev.taint.funcs
}

// baseFunctions are the functions of expressions relative to the module's
// directory, file() counting against the whole evaluation's budget; made
// once for every instance of the module, as functions.
func (ev *Evaluation) baseFunctions() map[string]function.Function {
	if ev.fileRead == nil {
		ev.fileRead = new(atomic.Int64)
	}
	if ev.taint == nil {
		ev.taint = newTaint(ev.Config)
	}
	if ev.taint.base == nil {
		ev.taint.base = functionsIn(ev.Config.Dir, ev.fileRead, !ev.Config.generalOnly())
	}
	return ev.taint.base
}

// unmarkContext prepares ctx for decoding credential arguments: values
// unmarked, and env() and file() as they are.
func unmarkContext(ctx *hcl.EvalContext, ev *Evaluation) {
	for _, k := range []string{"var", "local"} {
		if v, ok := ctx.Variables[k]; ok {
			ctx.Variables[k], _ = v.UnmarkDeep()
		}
	}
	ctx.Functions = ev.baseFunctions()
}

// credentialOutput is the diagnostic of an output whose value derives
// from a credential: refused, sensitive or not.
func (s *scope) credentialOutput(o *Output) *hcl.Diagnostic {
	from := "a credential argument's inputs"
	if refs := s.ev.taint.in.refs(o.Expr); len(refs) > 0 {
		from = strings.Join(refs, ", ") + ", which a credential argument uses"
	}
	args := strings.Join(credentialAttributes, ", ")
	d := &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Output refers to a credential",
		Subject:  o.Expr.Range().Ptr(),
	}
	if o.Sensitive {
		d.Detail = fmt.Sprintf("The output %q derives from %s (%s or a private key file). Marking it sensitive does not help: sensitive outputs are kept in state and outputs.json, and wxmedia never writes a credential there. Remove the credential from the output.", o.Name, from, args)
	} else {
		d.Detail = fmt.Sprintf("The output %q derives from %s (%s or a private key file); its value would be shown in plans and kept in state and outputs.json. Remove the credential from the output.", o.Name, from, args)
	}
	return d
}
