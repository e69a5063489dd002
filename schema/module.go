package schema

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Modules, as Terraform's: a module block calls the configuration of a
// local directory (its variables are the call's arguments, its outputs are
// read as module.NAME.OUTPUT), once, or once per key of for_each or index
// of count. Load reads every module directory once, however many calls or
// instances it has; evaluation makes one module instance per key, whose
// resource instances and merchants are addressed after its path, such as
// module.store["sh-001"].wechatpay_image.logo.

// ModuleCall is a module block.
type ModuleCall struct {
	Name string
	// Source is the source as written (./modules/store); SourceRange
	// where. Dir is the module's directory, absolute.
	Source      string
	SourceRange hcl.Range
	Dir         string
	// ForEach and Count are nil when not given (one instance).
	ForEach hcl.Expression
	Count   hcl.Expression
	// Inputs are the arguments for the module's variables, by name.
	Inputs    hcl.Attributes
	DeclRange hcl.Range
	// Module is the called module's configuration; nil when it could not
	// be loaded (reported).
	Module *Config
}

// moduleMeta are the arguments of a module block that are not inputs:
// Terraform's meta-arguments, those wxmedia refuses included.
var moduleMeta = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "source", Required: true}, {Name: "for_each"}, {Name: "count"},
		{Name: "version"}, {Name: "providers"}, {Name: "depends_on"},
	},
}

// moduleRefused says what wxmedia does instead of the meta-arguments of
// Terraform's module blocks that it has no use for.
var moduleRefused = map[string]string{
	"version":    "wxmedia has no module registry: a module is a local directory, named by source = \"./modules/NAME\", and has no version.",
	"providers":  "wxmedia has no providers: a module declares its merchant blocks, or takes what they need as input variables.",
	"depends_on": "wxmedia has no depends_on: a module's uploads do not depend on other uploads.",
}

func (cfg *Config) decodeModuleCall(b *hcl.Block) hcl.Diagnostics {
	n := b.Labels[0]
	if prev, ok := cfg.ModuleCalls[n]; ok {
		return hcl.Diagnostics{duplicate("module call", n, b.DefRange, prev.DeclRange)}
	}
	if !hclValidName(n) {
		*cfg.partial = true
		return hcl.Diagnostics{invalidName("module", n, b.LabelRanges[0])}
	}
	content, rest, diags := b.Body.PartialContent(moduleMeta)
	mc := &ModuleCall{Name: n, DeclRange: b.DefRange}
	cfg.ModuleCalls[n] = mc
	inputs, d := rest.JustAttributes()
	diags = append(diags, d...)
	mc.Inputs = inputs
	for name, why := range moduleRefused {
		if a, ok := content.Attributes[name]; ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unsupported argument", Detail: why, Subject: a.NameRange.Ptr()})
		}
	}
	if a, ok := content.Attributes["for_each"]; ok {
		mc.ForEach = a.Expr
	}
	if a, ok := content.Attributes["count"]; ok {
		mc.Count = a.Expr
		if mc.ForEach != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid combination of \"count\" and \"for_each\"",
				Detail:   "The \"count\" and \"for_each\" meta-arguments are mutually-exclusive, only one should be used to be explicit about the number of module instances.",
				Subject:  a.NameRange.Ptr(),
			})
		}
	}
	a, ok := content.Attributes["source"]
	if !ok {
		*cfg.partial = true
		return diags // Missing required argument, reported
	}
	mc.SourceRange = a.Expr.Range()
	v, d := a.Expr.Value(nil)
	if d.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
		*cfg.partial = true
		return append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid module source",
			Detail:   "The module source must be a literal string naming a local directory, such as source = \"./modules/store\".",
			Subject:  mc.SourceRange.Ptr(),
		})
	}
	mc.Source = v.AsString()
	if !strings.HasPrefix(mc.Source, "./") && !strings.HasPrefix(mc.Source, "../") {
		*cfg.partial = true
		return append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unsupported module source",
			Detail: fmt.Sprintf("The module source %q is not a local directory. wxmedia reads modules from local directories only, named from the directory of the calling module and starting with ./ or ../, such as source = \"./modules/store\"; registry, Git, HTTP and other remote sources are not supported: copy the module into your repository.",
				mc.Source),
			Subject: mc.SourceRange.Ptr(),
		})
	}
	mc.Dir = filepath.Join(cfg.Dir, filepath.FromSlash(mc.Source))
	return diags
}

// loader reads each module directory once and refuses cycles.
type loader struct {
	// loaded holds the configurations read, by real directory (links
	// resolved, so that a link back up is a cycle).
	loaded map[string]*Config
	// stack holds the real directories being loaded, the caller's first,
	// and shown their names for messages.
	stack, shown []string
}

// realDir is dir with symbolic links resolved, or dir when they cannot be.
func realDir(dir string) string {
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		return r
	}
	return dir
}

// loadModules loads the modules cfg calls and checks the calls' arguments
// against their variables; depth counts the modules calling cfg.
func (cfg *Config) loadModules(l *loader, depth int) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range keys(cfg.ModuleCalls) {
		mc := cfg.ModuleCalls[name]
		if mc.Dir == "" {
			continue
		}
		cycle := false
		real := realDir(mc.Dir)
		for i, d := range l.stack {
			if d == real {
				cycle = true
				*cfg.partial = true
				chain := append([]string(nil), l.shown[i:]...)
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Module calls itself",
					Detail: fmt.Sprintf("The module %q at %s is already being loaded: %s call each other in a cycle, which would never end. A module cannot call itself, directly or through other modules.",
						name, relName(cfg.root.Dir, mc.Dir), strings.Join(append(chain, relName(cfg.root.Dir, mc.Dir)), " → ")),
					Subject: mc.SourceRange.Ptr(),
				})
			}
		}
		if cycle {
			continue
		}
		if depth+1 > MaxModuleDepth {
			*cfg.partial = true
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Modules nested too deeply",
				Detail:   fmt.Sprintf("This call would nest modules more than %d deep; wxmedia refuses deeper nesting.", MaxModuleDepth),
				Subject:  mc.SourceRange.Ptr(),
			})
			continue
		}
		if st, err := os.Stat(mc.Dir); err != nil || !st.IsDir() {
			*cfg.partial = true
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Module directory not found",
				Detail:   fmt.Sprintf("The module %q names the directory %s (source = %q, from the directory of the calling module), which does not exist or is not a directory.", name, relName(cfg.root.Dir, mc.Dir), mc.Source),
				Subject:  mc.SourceRange.Ptr(),
			})
			continue
		}
		child, ok := l.loaded[real]
		if !ok {
			child = newConfig(mc.Dir, relName(cfg.root.Dir, mc.Dir), cfg.root)
			l.loaded[real] = child
			l.stack, l.shown = append(l.stack, real), append(l.shown, child.RelDir)
			d := child.load(l, depth+1)
			l.stack, l.shown = l.stack[:len(l.stack)-1], l.shown[:len(l.shown)-1]
			for _, dg := range d {
				if dg.Summary == "No configuration files" || dg.Summary == "Cannot read configuration directory" {
					dg.Detail = fmt.Sprintf("The module %q (source = %q) cannot be loaded: %s", name, mc.Source, dg.Detail)
					dg.Subject = mc.SourceRange.Ptr()
					*cfg.partial = true
				}
			}
			diags = append(diags, d...)
		}
		mc.Module = child
		diags = append(diags, mc.checkInputs()...)
	}
	return diags
}

// checkInputs checks a call's arguments against the module's variables:
// every argument names a variable, every variable without a default has
// an argument.
func (mc *ModuleCall) checkInputs() hcl.Diagnostics {
	var diags hcl.Diagnostics
	m := mc.Module
	names := make([]string, 0, len(mc.Inputs))
	for n := range mc.Inputs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, ok := m.Variables[n]; !ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unsupported argument",
				Detail: fmt.Sprintf("An argument named %q is not expected here: the module at %s declares no variable %q.%s",
					n, m.RelDir, n, didYouMean(n, keys(m.Variables))),
				Subject: mc.Inputs[n].NameRange.Ptr(),
			})
		}
	}
	for _, n := range keys(m.Variables) {
		v := m.Variables[n]
		if _, ok := mc.Inputs[n]; !ok && v.Default == cty.NilVal {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Missing required argument",
				Detail: fmt.Sprintf("The argument %q is required, but no definition was found: the module's variable %q, declared at %s:%d, has no default.",
					n, n, v.DeclRange.Filename, v.DeclRange.Start.Line),
				Subject: mc.DeclRange.Ptr(),
			})
		}
	}
	return diags
}

// relName is path relative to root, slash-separated; path itself when it
// is not below root.
func relName(root, path string) string {
	r, err := filepath.Rel(root, path)
	if err != nil {
		return filepath.ToSlash(path)
	}
	return filepath.ToSlash(r)
}
