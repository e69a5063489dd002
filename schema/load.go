package schema

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"

	"github.com/wxmedia/wxmedia/internal/safefile"
	"github.com/wxmedia/wxmedia/uploader/apis"
)

// File suffixes of configuration files.
const (
	ConfigSuffix     = ".wxm.hcl"
	ConfigJSONSuffix = ".wxm.json"
)

// Config is the static configuration of one directory: every block decoded,
// nothing evaluated yet.
type Config struct {
	// Dir is the absolute configuration directory; relative paths in the
	// configuration are relative to it.
	Dir string
	// Parser holds every parsed file, for rendering diagnostics with snippets.
	Parser *hclparse.Parser
	// Filenames lists the configuration files read, sorted.
	Filenames []string

	Variables map[string]*Variable
	Locals    map[string]*Local
	Merchants map[string]*MerchantBlock
	// Resources in declaration order (files sorted by name).
	Resources []*Resource
	Outputs   map[string]*Output
	// DataSources are the data "wxmedia_remote_state" blocks by name.
	DataSources map[string]*DataSource
	// Backend is nil when the configuration names none (local).
	Backend *Backend

	// ModuleCalls are the module blocks by name.
	ModuleCalls map[string]*ModuleCall
	// RelDir is the directory relative to the root module's ("." for the
	// root module), slash-separated; file names in diagnostics start
	// with it.
	RelDir string

	// partial is set when a file or a block was dropped; see Partial. A
	// module's partial is its root's.
	partial *bool
	// text counts the configuration text parsed (MaxConfigSize), for the
	// root module and every module it calls.
	text *textBudget
	// root is the root module's configuration (itself for the root).
	root *Config
	// credIn caches credentialInputs.
	credIn *credentialInputs
	// general makes evaluation take the general path throughout, none of
	// fastpath.go's: the reference the tests compare the fast paths with.
	general bool
}

// Variable is a declared input variable.
type Variable struct {
	Name        string
	Description string
	// Type is the type constraint; cty.DynamicPseudoType when none was given.
	Type cty.Type
	// Default is cty.NilVal when the variable is required.
	Default   cty.Value
	Sensitive bool
	// Validations are the variable's validation blocks, in order.
	Validations []*Validation
	DeclRange   hcl.Range
}

// Local is one named value of a locals block.
type Local struct {
	Name string
	Expr hcl.Expression
}

// MerchantBlock is a merchant as written; its attributes are evaluated late.
type MerchantBlock struct {
	Name string
	// Body holds the merchant's arguments, for_each excluded.
	Body hcl.Body
	// ForEach is nil without for_each: the block is then one merchant
	// instance, else one per key (merchant.NAME["key"]).
	ForEach   hcl.Expression
	DeclRange hcl.Range
}

// Resource is a resource block.
type Resource struct {
	Type string
	Name string
	// Merchant is the merchant block name, resolved statically; "" when the
	// block has no merchant attribute (the single merchant is used).
	Merchant      string
	MerchantRange hcl.Range
	// MerchantKey is the key expression of merchant = merchant.NAME[KEY],
	// evaluated per instance; nil for merchant = merchant.NAME.
	// merchantEachKey is set when it is exactly each.key.
	MerchantKey     hcl.Expression
	merchantEachKey bool
	ForEach         hcl.Expression // nil without for_each
	Source          hcl.Expression
	Filename        hcl.Expression // nil when not given
	Spec            apis.Spec
	DeclRange       hcl.Range
}

// Addr is "type.name".
func (r *Resource) Addr() string { return r.Type + "." + r.Name }

// Output is an output block.
type Output struct {
	Name        string
	Description string
	Sensitive   bool
	Expr        hcl.Expression
	DeclRange   hcl.Range
}

var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "merchant", LabelNames: []string{"name"}},
		{Type: "resource", LabelNames: []string{"type", "name"}},
		{Type: "output", LabelNames: []string{"name"}},
		{Type: "data", LabelNames: []string{"type", "name"}},
		{Type: "module", LabelNames: []string{"name"}},
		{Type: "wxmedia"},
		// Terraform's blocks, refused with what wxmedia does instead.
		{Type: "provider", LabelNames: []string{"name"}},
		{Type: "terraform"},
		{Type: "moved"}, {Type: "import"}, {Type: "removed"},
	},
}

// Load reads every configuration file in dir. The returned Config is
// non-nil whenever the Parser is usable for rendering diagnostics.
func Load(dir string) (*Config, hcl.Diagnostics) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid configuration directory", Detail: err.Error()}}
	}
	cfg := newConfig(abs, ".", nil)
	l := &loader{loaded: map[string]*Config{realDir(abs): cfg}, stack: []string{realDir(abs)}, shown: []string{"."}}
	diags := cfg.load(l, 0)
	sort.Strings(cfg.Filenames)
	return cfg, diags
}

// newConfig is the configuration of the directory abs, relDir from the
// root module's; root is nil for the root module.
func newConfig(abs, relDir string, root *Config) *Config {
	cfg := &Config{
		Dir:         abs,
		RelDir:      relDir,
		Variables:   map[string]*Variable{},
		Locals:      map[string]*Local{},
		Merchants:   map[string]*MerchantBlock{},
		Outputs:     map[string]*Output{},
		ModuleCalls: map[string]*ModuleCall{},
		DataSources: map[string]*DataSource{},
	}
	if root == nil {
		cfg.root = cfg
		cfg.Parser = hclparse.NewParser()
		cfg.partial = new(bool)
		cfg.text = &textBudget{}
	} else {
		cfg.root, cfg.Parser, cfg.partial, cfg.text = root, root.Parser, root.partial, root.text
	}
	return cfg
}

// load reads the configuration files of cfg's directory and the modules
// they call; depth counts the modules calling it.
func (cfg *Config) load(l *loader, depth int) hcl.Diagnostics {
	abs := cfg.Dir
	prefix := ""
	if cfg.RelDir != "." {
		prefix = cfg.RelDir + "/"
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read configuration directory", Detail: err.Error()}}
	}
	var own []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") {
			continue
		}
		if strings.HasSuffix(n, ConfigSuffix) || strings.HasSuffix(n, ConfigJSONSuffix) {
			own = append(own, n)
		}
	}
	sort.Strings(own)
	if len(own) == 0 {
		detail := fmt.Sprintf("The directory %s contains no *%s or *%s files.", abs, ConfigSuffix, ConfigJSONSuffix)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".tf") || strings.HasSuffix(e.Name(), ".tf.json") {
				detail += fmt.Sprintf(" wxmedia does not read Terraform's *.tf files (such as %s): its configuration files end in %s.", e.Name(), ConfigSuffix)
				break
			}
		}
		if cfg.root == cfg {
			detail += fmt.Sprintf(" Run wxmedia in the directory of the configuration, or name it with the global option -chdir=DIR (wxmedia -chdir=DIR plan); a first configuration is a file such as main%s with a merchant block and a resource block.", ConfigSuffix)
		}
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No configuration files",
			Detail:   detail,
		}}
	}

	var diags hcl.Diagnostics
	var merchantDecl = map[string]hcl.Range{}
	resourceDecl := map[string]*Resource{}
	localDecl := map[string]hcl.Range{}
	for _, n := range own {
		// Diagnostics name files relative to the root module's directory.
		name := prefix + n
		cfg.root.Filenames = append(cfg.root.Filenames, name)
		src, rd := cfg.readText(filepath.Join(abs, n), name, "configuration file")
		diags = append(diags, rd...)
		if rd.HasErrors() {
			// A file not read is dropped: what follows would only
			// report its absence again.
			*cfg.partial = true
			if cfg.text.used > MaxConfigSize {
				break
			}
			continue
		}
		var f *hcl.File
		var d hcl.Diagnostics
		if strings.HasSuffix(name, ConfigJSONSuffix) {
			f, d = cfg.Parser.ParseJSON(src, name)
		} else {
			f, d = cfg.Parser.ParseHCL(src, name)
		}
		diags = append(diags, d...)
		if f == nil || d.HasErrors() {
			*cfg.partial = true
			continue
		}
		content, d := f.Body.Content(rootSchema)
		diags = append(diags, d...)
		for _, b := range content.Blocks {
			switch b.Type {
			case "variable":
				diags = append(diags, cfg.decodeVariable(b)...)
				if _, ok := cfg.Variables[b.Labels[0]]; !ok {
					*cfg.partial = true
				}
			case "locals":
				attrs, d := b.Body.JustAttributes()
				diags = append(diags, d...)
				for n, a := range attrs {
					if prev, ok := localDecl[n]; ok {
						diags = append(diags, duplicate("local value", n, a.NameRange, prev))
						continue
					}
					localDecl[n] = a.NameRange
					cfg.Locals[n] = &Local{Name: n, Expr: a.Expr}
				}
			case "merchant":
				n := b.Labels[0]
				if prev, ok := merchantDecl[n]; ok {
					diags = append(diags, duplicate("merchant", n, b.DefRange, prev))
					continue
				}
				if !hclValidName(n) {
					diags = append(diags, invalidName("merchant", n, b.LabelRanges[0]))
					*cfg.partial = true
					continue
				}
				merchantDecl[n] = b.DefRange
				cfg.Merchants[n] = decodeMerchantBlock(b)
			case "resource":
				r, d := decodeResource(b)
				diags = append(diags, d...)
				if r == nil {
					*cfg.partial = true
					continue
				}
				if prev, ok := resourceDecl[r.Addr()]; ok {
					diags = append(diags, duplicate("resource", r.Addr(), b.DefRange, prev.DeclRange))
					continue
				}
				resourceDecl[r.Addr()] = r
				cfg.Resources = append(cfg.Resources, r)
			case "output":
				n := b.Labels[0]
				o, d := decodeOutput(b)
				diags = append(diags, d...)
				if prev, ok := cfg.Outputs[n]; ok {
					diags = append(diags, duplicate("output", n, b.DefRange, prev.DeclRange))
					continue
				}
				cfg.Outputs[n] = o
			case "data":
				d := cfg.decodeData(b)
				diags = append(diags, d...)
				*cfg.partial = *cfg.partial || d.HasErrors()
			case "module":
				diags = append(diags, cfg.decodeModuleCall(b)...)
			case "wxmedia":
				if cfg.root != cfg {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Settings block in a module",
						Detail:   "The wxmedia block (where the state lives) belongs in the root module, the directory wxmedia runs in; a module called with a module block cannot set it.",
						Subject:  b.DefRange.Ptr(),
					})
					continue
				}
				d := cfg.decodeSettings(b)
				diags = append(diags, d...)
				*cfg.partial = *cfg.partial || d.HasErrors()
			case "provider", "terraform", "moved", "import", "removed":
				diags = append(diags, terraformBlock(b))
			}
		}
	}
	// Merchant references are checked even after other errors: each is
	// reported on its own, so that one run shows them all.
	diags = append(diags, cfg.resolveMerchants()...)
	diags = append(diags, cfg.loadModules(l, depth)...)
	return diags
}

// Partial reports whether Load dropped a file or a block that other parts
// of the configuration may refer to: evaluating it would report errors
// that are only consequences of the ones already reported.
func (cfg *Config) Partial() bool { return cfg == nil || cfg.partial == nil || *cfg.partial }

// resolveMerchants checks every resource's merchant reference and fills in
// the single merchant where none was given.
func (cfg *Config) resolveMerchants() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, r := range cfg.Resources {
		if r.Merchant != "" {
			mb, ok := cfg.Merchants[r.Merchant]
			switch {
			case !ok:
				diags = append(diags, undeclaredRef("merchant", fmt.Sprintf("A merchant named %q has not been declared.%s", r.Merchant, didYouMean(r.Merchant, keys(cfg.Merchants))), r.MerchantRange))
			case mb.ForEach != nil && r.MerchantKey == nil:
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Missing merchant instance key",
					Detail:   fmt.Sprintf("The merchant %q has for_each set, so the resource %s must name one of its instances, such as merchant = merchant.%s[each.key].", r.Merchant, r.Addr(), r.Merchant),
					Subject:  r.MerchantRange.Ptr(),
				})
			case mb.ForEach == nil && r.MerchantKey != nil:
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Unexpected merchant instance key",
					Detail:   fmt.Sprintf("The merchant %q does not have for_each set, so it has no instance keys: write merchant = merchant.%s.", r.Merchant, r.Merchant),
					Subject:  r.MerchantRange.Ptr(),
				})
			}
			continue
		}
		switch len(cfg.Merchants) {
		case 1:
			for n, mb := range cfg.Merchants {
				if mb.ForEach != nil {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Missing merchant argument",
						Detail:   fmt.Sprintf("The merchant %q has for_each set, so the resource %s must say which of its instances it belongs to, for example merchant = merchant.%s[each.key].", n, r.Addr(), n),
						Subject:  r.DeclRange.Ptr(),
					})
					continue
				}
				r.Merchant = n
			}
		case 0:
			if cfg.root != cfg {
				continue // its caller's merchant, when it has one (inherited)
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "No merchant declared",
				Detail:   fmt.Sprintf("The resource %s needs a merchant, but the configuration declares no merchant block.", r.Addr()),
				Subject:  r.DeclRange.Ptr(),
			})
		default:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Missing merchant argument",
				Detail:   fmt.Sprintf("The configuration declares %d merchants (%s), so the resource %s must say which one it belongs to, for example merchant = merchant.%s.", len(cfg.Merchants), strings.Join(keys(cfg.Merchants), ", "), r.Addr(), keys(cfg.Merchants)[0]),
				Subject:  r.DeclRange.Ptr(),
			})
		}
	}
	return diags
}

// Files returns the parsed files, keyed by name, for a diagnostic writer.
func (cfg *Config) Files() map[string]*hcl.File {
	if cfg == nil || cfg.Parser == nil {
		return nil
	}
	return cfg.Parser.Files()
}

func duplicate(kind, name string, rng, prev hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Duplicate %s", kind),
		Detail:   fmt.Sprintf("A %s named %q was already declared at %s. Each %s must have a unique name.", kind, name, prev, kind),
		Subject:  rng.Ptr(),
	}
}

func invalidName(kind, name string, rng hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Invalid %s name", kind),
		Detail:   fmt.Sprintf("%q is not a valid name: a name must start with a letter or underscore and may contain only letters, digits, underscores, and dashes.", name),
		Subject:  rng.Ptr(),
	}
}

func hclValidName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'):
		case i > 0 && (r == '-' || (r >= '0' && r <= '9')):
		default:
			return false
		}
	}
	return true
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// readText reads a configuration or variables file, named name in
// diagnostics, within MaxConfigSize for all of them together, and checks
// its nesting (CheckText). The file is opened without blocking and must be
// a regular file (see safefile).
func (cfg *Config) readText(path, name, kind string) ([]byte, hcl.Diagnostics) {
	src, err := safefile.ReadFile(path, MaxConfigSize-cfg.text.used)
	if errors.Is(err, safefile.ErrTooLarge) {
		err = cfg.text.take(-1, name)
	} else if err == nil {
		err = cfg.text.take(int64(len(src)), name)
	}
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  map[bool]string{true: "Failed to read variables file", false: "Cannot read configuration file"}[kind == "variables file"],
			Detail:   fmt.Sprintf("Cannot read the %s %s: %s.", kind, shownName(name), shownName(unwrapPathError(err).Error())),
		}}
	}
	if d := CheckText(src, name); d.HasErrors() {
		return nil, d
	}
	return src, nil
}
