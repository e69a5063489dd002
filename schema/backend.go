package schema

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
)

// Backend types.
const (
	BackendLocal    = "local"
	BackendPostgres = "postgres"
)

// The backends' documented defaults, part of the language's contract: a
// local state is the file DefaultStatePath of its configuration's
// directory, and apply publishes its outputs in the file OutputsFileName
// beside it; a postgres state is kept in the schema DefaultPostgresSchema
// unless schema_name says otherwise. Package state, which keeps states,
// agrees (its tests check).
const (
	DefaultStatePath      = ".wxmedia/state.db"
	OutputsFileName       = "outputs.json"
	DefaultPostgresSchema = "wxmedia"
)

// Backend is the `wxmedia { backend "TYPE" { … } }` setting as written;
// its attributes are evaluated late (they may use variables and env()).
type Backend struct {
	Type      string
	Body      hcl.Body // nil for the default local backend
	DeclRange hcl.Range
}

// BackendSettings are a backend's evaluated attributes. ConnStr is a
// secret: it never reaches state, plans, output or logs.
type BackendSettings struct {
	Type       string
	Path       string `hcl:"path,optional"`        // local: the state file; default .wxmedia/state.db
	ConnStr    string `hcl:"conn_str,optional"`    // postgres: a libpq connection string or URL
	SchemaName string `hcl:"schema_name,optional"` // postgres: the schema holding this state; default "wxmedia"
}

var backendAttrs = map[string][]string{
	BackendLocal:    {"path"},
	BackendPostgres: {"conn_str", "schema_name"},
}

func (cfg *Config) decodeSettings(b *hcl.Block) hcl.Diagnostics {
	content, diags := b.Body.Content(&hcl.BodySchema{
		Blocks: []hcl.BlockHeaderSchema{{Type: "backend", LabelNames: []string{"type"}}},
	})
	for _, bb := range content.Blocks {
		typ := bb.Labels[0]
		allowed, ok := backendAttrs[typ]
		if !ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unsupported backend",
				Detail:   fmt.Sprintf("The backend %q is not supported; use \"local\" or \"postgres\".", typ),
				Subject:  bb.LabelRanges[0].Ptr(),
			})
			continue
		}
		if cfg.Backend != nil {
			diags = append(diags, duplicate("backend", typ, bb.DefRange, cfg.Backend.DeclRange))
			continue
		}
		var attrs []hcl.AttributeSchema
		for _, a := range allowed {
			attrs = append(attrs, hcl.AttributeSchema{Name: a})
		}
		_, d := bb.Body.Content(&hcl.BodySchema{Attributes: attrs})
		diags = append(diags, d...)
		cfg.Backend = &Backend{Type: typ, Body: bb.Body, DeclRange: bb.DefRange}
	}
	return diags
}

// DecodeBackend evaluates the backend block alone, for commands that use
// the state but not the rest of the configuration: the variables (from
// given and their defaults), then only what the block refers to, locals
// and, read through remote, data sources. Errors elsewhere in the
// configuration do not matter here; those of what the block uses do.
// Without a backend block it is the local backend with its default path.
func (cfg *Config) DecodeBackend(given map[string]VarValue, remote RemoteStateReader) (BackendSettings, hcl.Diagnostics) {
	if cfg.Backend == nil {
		return BackendSettings{Type: BackendLocal}, nil
	}
	ev := newEvaluation(cfg, remote)
	ev.lazyData = true
	// A variable the block uses and that has no valid value shows as an
	// error of the block's own.
	ev.evalVariables(given)
	return ev.BackendSettings()
}

// BackendSettings evaluates the backend block; without one it is the local
// backend with its default path.
func (ev *Evaluation) BackendSettings() (BackendSettings, hcl.Diagnostics) {
	b := ev.Config.Backend
	if b == nil {
		return BackendSettings{Type: BackendLocal}, nil
	}
	_, ctx, diags, ok := newScope(ev, nil).unmarkedContext(b.Body, "A backend argument")
	if !ok {
		return BackendSettings{}, diags
	}
	out := BackendSettings{Type: b.Type}
	diags = append(diags, hideValues(gohcl.DecodeBody(b.Body, ctx, &out))...)
	ev.taint.rememberString(out.ConnStr)
	return out, diags
}

// BackendSecretVariables returns the names of the variables conn_str
// refers to. conn_str is a secret, so their values must be treated as
// sensitive wherever variables are recorded (a saved plan, for one), even
// when their declarations do not say so.
func (cfg *Config) BackendSecretVariables() []string {
	if cfg.Backend == nil || cfg.Backend.Body == nil {
		return nil
	}
	attrs, _ := cfg.Backend.Body.JustAttributes()
	a, ok := attrs["conn_str"]
	if !ok {
		return nil
	}
	var names []string
	seen := map[string]bool{}
	for _, tr := range a.Expr.Variables() {
		if tr.RootName() != "var" || len(tr) < 2 {
			continue
		}
		if at, ok := tr[1].(hcl.TraverseAttr); ok && !seen[at.Name] {
			seen[at.Name] = true
			names = append(names, at.Name)
		}
	}
	return names
}
