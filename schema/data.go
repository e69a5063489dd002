package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// RemoteStateType is the one data source type: another configuration's
// outputs.
const RemoteStateType = "wxmedia_remote_state"

// DataSource is a data "wxmedia_remote_state" block. Its outputs are read,
// never written.
//
// With the local backend (the default), Path names the other configuration's
// directory and its published outputs file is read: outputs.json beside
// the state that configuration's backend block names, by default
// DIR/.wxmedia/outputs.json. Apply keeps that file current, so reading it never waits for an
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

// RemoteOutput is one output of another configuration's state: its value
// and type in cty's JSON encoding.
type RemoteOutput struct {
	Value     json.RawMessage
	Type      json.RawMessage
	Sensitive bool
}

// RemoteStateReader reads another configuration's outputs for data
// "wxmedia_remote_state" sources. The schema package never opens a state
// itself: its caller passes a reader in (EvaluateWith, DecodeBackend).
type RemoteStateReader interface {
	// ReadOutputs reads, without waiting for any writer, the outputs of the
	// state that s names. For the local backend, s.Path is the other
	// configuration's state file, and its outputs are read from the file
	// OutputsFileName beside it, which apply publishes; for postgres,
	// s.SchemaName is never "". A state that was never written gives an
	// error satisfying errors.Is(err, fs.ErrNotExist). Errors never contain
	// s.ConnStr.
	ReadOutputs(s BackendSettings) (map[string]RemoteOutput, error)
}

// readOutputs reads through the evaluation's remote state reader.
func (ev *Evaluation) readOutputs(s BackendSettings) (map[string]RemoteOutput, error) {
	if ev.remote == nil {
		return nil, errors.New("remote state cannot be read here: no reader was given")
	}
	return ev.remote.ReadOutputs(s)
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

// readOnDemand reads the data source a reference names, when the
// evaluation reads data sources as they are referred to and this one was
// not read yet. The data source's own arguments are evaluated as in
// readDataSources: they cannot read other data sources on demand.
func (s *scope) readOnDemand(trav hcl.Traversal) hcl.Diagnostics {
	if !s.ev.lazyData || len(trav) < 3 {
		return nil
	}
	typ, _ := trav[1].(hcl.TraverseAttr)
	name, _ := trav[2].(hcl.TraverseAttr)
	d := s.ev.Config.DataSources[name.Name]
	if typ.Name != RemoteStateType || d == nil || s.ev.dataTried[name.Name] {
		return nil
	}
	if s.ev.dataTried == nil {
		s.ev.dataTried = map[string]bool{}
	}
	s.ev.dataTried[name.Name] = true
	s.ev.lazyData = false
	defer func() { s.ev.lazyData = true }()
	v, diags := newScope(s.ev, nil).readRemoteState(d)
	if !diags.HasErrors() {
		s.ev.Data[name.Name] = v
	}
	return diags
}

func (s *scope) readRemoteState(d *DataSource) (cty.Value, hcl.Diagnostics) {
	where := fmt.Sprintf("data.%s.%s", d.Type, d.Name)
	backend := BackendLocal
	if d.Backend != nil {
		b, diags := s.evalDataString(d.Backend, "backend", where)
		if diags.HasErrors() {
			return cty.NilVal, diags
		}
		backend = b
	}
	switch backend {
	case BackendLocal:
		return s.readLocalRemoteState(d, where)
	case BackendPostgres:
		return s.readPostgresRemoteState(d, where)
	}
	return cty.NilVal, hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Unsupported remote state backend",
		Detail:   fmt.Sprintf("%s: remote outputs are read from the local backend (path = DIR) or the postgres backend (backend = \"postgres\", config = { conn_str = …, schema_name = … }), not from %q.", where, backend),
		Subject:  d.Backend.Range().Ptr(),
	}}
}

// evalDataString evaluates a string argument of a data source.
func (s *scope) evalDataString(expr hcl.Expression, attr, where string) (string, hcl.Diagnostics) {
	ctx, diags := s.evalContext([]hcl.Expression{expr}, "A data source argument")
	if diags.HasErrors() {
		return "", diags
	}
	return evalString(expr, ctx, attr, where)
}

// readLocalRemoteState reads the outputs file that apply publishes beside
// the local state of the configuration in path.
func (s *scope) readLocalRemoteState(d *DataSource, where string) (cty.Value, hcl.Diagnostics) {
	if d.Config != nil {
		return cty.NilVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unexpected config argument",
			Detail:   fmt.Sprintf("%s: config is for backends other than local; the local backend takes path = DIR.", where),
			Subject:  d.DeclRange.Ptr(),
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
	dir, diags := s.evalDataString(d.Path, "path", where)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	written := dir
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(s.ev.Config.Dir, dir)
	}
	statePath, err := producerStatePath(dir, written)
	if err != nil {
		return cty.NilVal, cannotRead(d, fmt.Sprintf("%s: %v.", where, err))
	}
	file := filepath.Join(filepath.Dir(statePath), OutputsFileName)
	outs, err := s.ev.readOutputs(BackendSettings{Type: BackendLocal, Path: statePath})
	if err != nil {
		detail := fmt.Sprintf("%s cannot read the outputs of the configuration in %s: %v.", where, dir, err)
		if errors.Is(err, fs.ErrNotExist) {
			detail = fmt.Sprintf("%s reads the outputs that apply publishes in %s, and there is no such file: run wxmedia apply in %s first, or check path.", where, file, dir)
		}
		return cty.NilVal, cannotRead(d, detail)
	}
	vals, diags := outputValues(d, where, file, outs)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	return cty.ObjectVal(map[string]cty.Value{
		"outputs": vals,
		"path":    cty.StringVal(filepath.ToSlash(dir)),
	}), nil
}

// readPostgresRemoteState reads the outputs of a postgres state, read-only:
// readers take no lock, so this never waits for an apply running there.
// conn_str is a secret: no diagnostic shows it, nor the source lines of
// config, which may hold it.
func (s *scope) readPostgresRemoteState(d *DataSource, where string) (cty.Value, hcl.Diagnostics) {
	if d.Path != nil {
		return cty.NilVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unexpected path argument",
			Detail:   fmt.Sprintf("%s: path is for the local backend; the postgres backend takes config = { conn_str = …, schema_name = … }.", where),
			Subject:  d.Path.Range().Ptr(),
		}}
	}
	if d.Config == nil {
		return cty.NilVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Missing required argument",
			Detail:   fmt.Sprintf("%s reads a postgres state and needs config = { conn_str = …, schema_name = … }.", where),
			Subject:  d.DeclRange.Ptr(),
		}}
	}
	connStr, schemaName, diags := s.evalPostgresConfig(d, where)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	name := schemaName.AsString()
	if name == "" {
		name = DefaultPostgresSchema
	}
	loc := fmt.Sprintf("postgres schema %q", name)
	if schemaName.IsMarked() {
		loc = "the postgres schema given in config"
	}
	outs, err := s.ev.readOutputs(BackendSettings{Type: BackendPostgres, ConnStr: connStr, SchemaName: name})
	if err != nil {
		var detail string
		switch {
		case errors.Is(err, fs.ErrNotExist):
			detail = fmt.Sprintf("%s reads the outputs of the state in %s, and there is no such state: run wxmedia apply in the configuration that keeps its state there first, or check schema_name.", where, loc)
		case schemaName.IsMarked():
			// The state package's errors name the schema.
			detail = fmt.Sprintf("%s cannot read the outputs of the state in %s; a sensitive schema_name is not shown.", where, loc)
		default:
			// They never contain the connection string.
			detail = fmt.Sprintf("%s cannot read the outputs of the remote state: %v.", where, err)
		}
		return cty.NilVal, cannotRead(d, detail)
	}
	vals, diags := outputValues(d, where, loc, outs)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	return cty.ObjectVal(map[string]cty.Value{
		"outputs":     vals,
		"backend":     cty.StringVal(BackendPostgres),
		"schema_name": cty.StringVal(name).WithMarks(schemaName.Marks()),
	}), nil
}

// remotePostgresAttrs are the arguments of a postgres remote state's config.
var remotePostgresAttrs = []string{"conn_str", "schema_name"}

// evalPostgresConfig evaluates config = { conn_str = …, schema_name = … }.
// conn_str comes back unmarked (it may come from a sensitive variable, and
// is only ever used to connect); schema_name keeps its marks and is ""
// when not given. Every diagnostic is placed at the block's header: the
// lines of config may hold the connection string.
func (s *scope) evalPostgresConfig(d *DataSource, where string) (string, cty.Value, hcl.Diagnostics) {
	fail := func(detail string) (string, cty.Value, hcl.Diagnostics) {
		return "", cty.NilVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid config argument",
			Detail:   fmt.Sprintf("In %s: %s", where, detail),
			Subject:  d.DeclRange.Ptr(),
		}}
	}
	ctx, diags := s.evalContext([]hcl.Expression{d.Config}, "A data source argument")
	if !diags.HasErrors() {
		var v cty.Value
		v, diags = d.Config.Value(ctx)
		if !diags.HasErrors() {
			connStr, schemaName, d := postgresConfigValue(v, fail)
			s.ev.taint.rememberString(connStr)
			return connStr, schemaName, d
		}
	}
	out := make(hcl.Diagnostics, len(diags))
	for i, diag := range diags {
		c := *diag
		c.Detail = strings.TrimSpace(fmt.Sprintf("In %s, config: %s", where, c.Detail))
		c.Subject, c.Context, c.Expression, c.EvalContext = d.DeclRange.Ptr(), nil, nil, nil
		out[i] = &c
	}
	return "", cty.NilVal, out
}

func postgresConfigValue(v cty.Value, fail func(string) (string, cty.Value, hcl.Diagnostics)) (string, cty.Value, hcl.Diagnostics) {
	v, marks := v.Unmark()
	if !v.IsKnown() || v.IsNull() || !(v.Type().IsObjectType() || v.Type().IsMapType()) {
		return fail("config must be an object: { conn_str = …, schema_name = … }.")
	}
	attrs := map[string]cty.Value{}
	for it := v.ElementIterator(); it.Next(); {
		k, ev := it.Element()
		name := k.AsString()
		if !slices.Contains(remotePostgresAttrs, name) {
			return fail(fmt.Sprintf("config has no argument %q; the postgres backend takes conn_str and schema_name.", name))
		}
		attrs[name] = ev.WithMarks(marks)
	}
	connStr, ok := attrs["conn_str"]
	if !ok {
		return fail("config needs conn_str, the database's libpq connection string or postgres:// URL.")
	}
	connStr, _ = connStr.UnmarkDeep()
	if !connStr.IsKnown() || connStr.IsNull() {
		return fail("conn_str must be a known string.")
	}
	connStr, err := convert.Convert(connStr, cty.String)
	if err != nil || connStr.AsString() == "" {
		return fail("conn_str must be a non-empty string.")
	}
	schemaName, ok := attrs["schema_name"]
	if !ok {
		schemaName = cty.StringVal("")
	}
	unmarked, schemaMarks := schemaName.Unmark()
	if !unmarked.IsKnown() || unmarked.IsNull() {
		return fail("schema_name must be a known string.")
	}
	unmarked, err = convert.Convert(unmarked, cty.String)
	if err != nil {
		return fail("schema_name must be a string.")
	}
	return connStr.AsString(), unmarked.WithMarks(schemaMarks), nil
}

// cannotRead is the diagnostic of a remote state that could not be read.
func cannotRead(d *DataSource, detail string) hcl.Diagnostics {
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Cannot read remote state",
		Detail:   detail,
		Subject:  d.DeclRange.Ptr(),
	}}
}

// outputValues decodes another configuration's outputs, read from, and
// marks the sensitive ones.
func outputValues(d *DataSource, where, from string, outs map[string]RemoteOutput) (cty.Value, hcl.Diagnostics) {
	vals := make(map[string]cty.Value, len(outs))
	for name, o := range outs {
		ty, err := ctyjson.UnmarshalType(o.Type)
		var v cty.Value
		if err == nil {
			v, err = ctyjson.Unmarshal(o.Value, ty)
		}
		if err != nil {
			return cty.NilVal, cannotRead(d, fmt.Sprintf("%s: output %q in %s cannot be decoded: %v.", where, name, from, err))
		}
		if o.Sensitive {
			v = v.Mark(SensitiveMark)
		}
		vals[name] = v
	}
	return cty.ObjectVal(vals), nil
}

// secretExprs returns the expressions of the data source that hold
// credentials: config's conn_str, or the whole config when it is not
// written as an object.
func (d *DataSource) secretExprs() []hcl.Expression {
	if d.Config == nil {
		return nil
	}
	pairs, diags := hcl.ExprMap(d.Config)
	if diags.HasErrors() {
		return []hcl.Expression{d.Config}
	}
	var out []hcl.Expression
	for _, p := range pairs {
		if k := hcl.ExprAsKeyword(p.Key); k == "conn_str" || k == "" {
			out = append(out, p.Value)
		}
	}
	return out
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
		return hcl.Diagnostics{undeclaredRef("data source", fmt.Sprintf("A data source data.%s.%s has not been declared.%s", typ.Name, name.Name, didYouMean(name.Name, keys(s.ev.Config.DataSources))), rng)}
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
