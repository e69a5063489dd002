package schema

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/wxmedia/wxmedia/state"
)

// RemoteStateType is the one data source type: another configuration's
// outputs.
const RemoteStateType = "wxmedia_remote_state"

// DataSource is a data "wxmedia_remote_state" block. Its outputs are read,
// never written.
//
// With the local backend (the default), Path names the other configuration's
// directory and its published outputs file, DIR/.wxmedia/outputs.json, is
// read: apply keeps that file current, so reading it never waits for an
// apply running there. Backend and Config are decoded for backends that
// keep outputs elsewhere (backend = "postgres", config = { … }).
type DataSource struct {
	Type string
	Name string
	// Path is the other configuration's directory, relative to this one;
	// nil when not given.
	Path hcl.Expression
	// Backend names the other configuration's backend; nil means "local".
	Backend hcl.Expression
	// Config holds the backend's settings; nil when not given.
	Config    hcl.Expression
	DeclRange hcl.Range
}

var remoteStateSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "path"}, {Name: "backend"}, {Name: "config"}},
}

func (cfg *Config) decodeData(b *hcl.Block) hcl.Diagnostics {
	typ, name := b.Labels[0], b.Labels[1]
	if typ != RemoteStateType {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unsupported data source",
			Detail:   fmt.Sprintf("The data source %q is not supported; the only data source is %q.", typ, RemoteStateType),
			Subject:  b.LabelRanges[0].Ptr(),
		}}
	}
	if !hclValidName(name) {
		return hcl.Diagnostics{invalidName("data source", name, b.LabelRanges[1])}
	}
	if prev, ok := cfg.DataSources[name]; ok {
		return hcl.Diagnostics{duplicate("data source", "data."+typ+"."+name, b.DefRange, prev.DeclRange)}
	}
	content, diags := b.Body.Content(remoteStateSchema)
	if diags.HasErrors() {
		return diags
	}
	d := &DataSource{Type: typ, Name: name, DeclRange: b.DefRange}
	if a, ok := content.Attributes["path"]; ok {
		d.Path = a.Expr
	}
	if a, ok := content.Attributes["backend"]; ok {
		d.Backend = a.Expr
	}
	if a, ok := content.Attributes["config"]; ok {
		d.Config = a.Expr
	}
	cfg.DataSources[name] = d
	return diags
}

// readDataSources evaluates every data source and records its value in
// s.ev.Data.
func (s *scope) readDataSources() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range keys(s.ev.Config.DataSources) {
		d := s.ev.Config.DataSources[name]
		v, ds := s.readRemoteState(d)
		diags = append(diags, ds...)
		if !ds.HasErrors() {
			s.ev.Data[name] = v
		}
	}
	return diags
}

func (s *scope) readRemoteState(d *DataSource) (cty.Value, hcl.Diagnostics) {
	where := fmt.Sprintf("data.%s.%s", d.Type, d.Name)
	backend := "local"
	if d.Backend != nil {
		ctx, diags := s.evalContext([]hcl.Expression{d.Backend}, "A data source argument")
		if diags.HasErrors() {
			return cty.NilVal, diags
		}
		b, diags := evalString(d.Backend, ctx, "backend", where)
		if diags.HasErrors() {
			return cty.NilVal, diags
		}
		backend = b
	}
	if backend != "local" {
		return cty.NilVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unsupported remote state backend",
			Detail:   fmt.Sprintf("%s: this version of wxmedia reads remote outputs from the local backend only (path = DIR), not from %q.", where, backend),
			Subject:  d.Backend.Range().Ptr(),
		}}
	}
	if d.Config != nil {
		return cty.NilVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unexpected config argument",
			Detail:   fmt.Sprintf("%s: config is for backends other than local; the local backend takes path = DIR.", where),
			Subject:  d.Config.Range().Ptr(),
		}}
	}
	if d.Path == nil {
		return cty.NilVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Missing required argument",
			Detail:   fmt.Sprintf("%s needs path, the directory of the configuration whose outputs it reads.", where),
			Subject:  d.DeclRange.Ptr(),
		}}
	}
	ctx, diags := s.evalContext([]hcl.Expression{d.Path}, "A data source argument")
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	dir, diags := evalString(d.Path, ctx, "path", where)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(s.ev.Config.Dir, dir)
	}
	file := filepath.Join(dir, filepath.Dir(state.DefaultPath), state.OutputsFileName)
	outs, err := state.ReadOutputsFile(file)
	if err != nil {
		detail := fmt.Sprintf("%s cannot read the outputs of the configuration in %s: %v.", where, dir, err)
		if errors.Is(err, fs.ErrNotExist) {
			detail = fmt.Sprintf("%s reads the outputs that apply publishes in %s, and there is no such file: run wxmedia apply in %s first, or check path.", where, file, dir)
		}
		return cty.NilVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read remote state",
			Detail:   detail,
			Subject:  d.DeclRange.Ptr(),
		}}
	}
	vals := make(map[string]cty.Value, len(outs))
	for name, o := range outs {
		ty, err := ctyjson.UnmarshalType(o.Type)
		var v cty.Value
		if err == nil {
			v, err = ctyjson.Unmarshal(o.Value, ty)
		}
		if err != nil {
			return cty.NilVal, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Cannot read remote state",
				Detail:   fmt.Sprintf("%s: output %q in %s cannot be decoded: %v.", where, name, file, err),
				Subject:  d.DeclRange.Ptr(),
			}}
		}
		if o.Sensitive {
			v = v.Mark(SensitiveMark)
		}
		vals[name] = v
	}
	return cty.ObjectVal(map[string]cty.Value{
		"outputs": cty.ObjectVal(vals),
		"path":    cty.StringVal(filepath.ToSlash(dir)),
	}), nil
}

// checkDataRef checks a reference that starts with data.
func (s *scope) checkDataRef(trav hcl.Traversal) hcl.Diagnostics {
	rng := trav.SourceRange()
	if len(trav) < 3 {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid reference",
			Detail:   fmt.Sprintf("A reference to a data source must name its type and name, such as data.%s.NAME.outputs.X.", RemoteStateType),
			Subject:  rng.Ptr(),
		}}
	}
	typ, _ := trav[1].(hcl.TraverseAttr)
	name, _ := trav[2].(hcl.TraverseAttr)
	if typ.Name != RemoteStateType || name.Name == "" || s.ev.Config.DataSources[name.Name] == nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Reference to undeclared data source",
			Detail:   fmt.Sprintf("A data source data.%s.%s has not been declared.%s", typ.Name, name.Name, didYouMean(name.Name, keys(s.ev.Config.DataSources))),
			Subject:  rng.Ptr(),
		}}
	}
	if _, ok := s.ev.Data[name.Name]; !ok {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Data source not available",
			Detail:   fmt.Sprintf("data.%s.%s could not be read, or is used before it is read (a data source's path cannot refer to another data source).", typ.Name, name.Name),
			Subject:  rng.Ptr(),
		}}
	}
	return nil
}

// dataObject is the value of the data root: data.TYPE.NAME.
func (ev *Evaluation) dataObject() cty.Value {
	m := make(map[string]cty.Value, len(ev.Data))
	for n, v := range ev.Data {
		m[n] = v
	}
	return cty.ObjectVal(map[string]cty.Value{RemoteStateType: cty.ObjectVal(m)})
}
