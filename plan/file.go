package plan

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/wxmedia/wxmedia/schema"
	"github.com/wxmedia/wxmedia/state"
)

// FileFormatVersion is the version of the saved plan format this wxmedia
// writes and reads.
const FileFormatVersion = 1

// Errors of saved plans; each is returned wrapped, with the details.
var (
	// ErrNotPlanFile: the file is not a wxmedia plan file.
	ErrNotPlanFile = errors.New("not a wxmedia plan file")
	// ErrFileFormat: the plan file's format version is not one this
	// wxmedia reads.
	ErrFileFormat = errors.New("unsupported plan file format")
	// ErrVersion: the plan was made by another wxmedia version.
	ErrVersion = errors.New("saved plan was made by another wxmedia version")
	// ErrOtherState: the plan was made against another state (lineage).
	ErrOtherState = errors.New("saved plan is for another state")
	// ErrStale: the state changed since planning (serial).
	ErrStale = errors.New("saved plan is stale")
	// ErrConfigChanged: the configuration or a variable changed since planning.
	ErrConfigChanged = errors.New("configuration changed since planning")
	// ErrFileChanged: a source file's bytes changed since planning, found
	// when a saved plan is applied or (by apply, wrapped per resource) just
	// before a file is sent.
	ErrFileChanged = errors.New("source file changed since planning")
	// ErrPlanChanged: planning again gives another result, for a reason
	// not covered above.
	ErrPlanChanged = errors.New("saved plan no longer matches")
)

// Variable is one variable of the configuration as a plan records it.
type Variable struct {
	Name      string `json:"name"`
	Sensitive bool   `json:"sensitive,omitempty"`
	// Value and Type are cty's JSON encodings; both are absent for a
	// sensitive variable, whose value is never written.
	Value json.RawMessage `json:"value,omitempty"`
	Type  json.RawMessage `json:"type,omitempty"`
	// MAC signs the recorded value with the state's plan key (see Sign).
	MAC string `json:"mac,omitempty"`
}

// ConfigDigest identifies the configuration files a plan was made from.
type ConfigDigest struct {
	// SHA256 covers every file's name and bytes.
	SHA256 string `json:"sha256"`
	// Files maps each file name to the SHA-256 of its bytes.
	Files map[string]string `json:"files"`
}

// DigestConfig computes the digest of a loaded configuration's files.
func DigestConfig(cfg *schema.Config) (ConfigDigest, error) {
	d := ConfigDigest{Files: map[string]string{}}
	files := cfg.Parser.Files()
	all := sha256.New()
	for _, name := range cfg.Filenames {
		f, ok := files[name]
		if !ok {
			return d, fmt.Errorf("configuration file %s was not read", name)
		}
		s := sha256.Sum256(f.Bytes)
		d.Files[name] = hex.EncodeToString(s[:])
		fmt.Fprintf(all, "%s\x00%s\x00", name, d.Files[name])
	}
	d.SHA256 = hex.EncodeToString(all.Sum(nil))
	return d, nil
}

// Diff describes how other differs from d: files changed, added, removed.
func (d ConfigDigest) Diff(other ConfigDigest) []string {
	var out []string
	for name, sum := range d.Files {
		switch o, ok := other.Files[name]; {
		case !ok:
			out = append(out, name+" removed")
		case o != sum:
			out = append(out, name+" changed")
		}
	}
	for name := range other.Files {
		if _, ok := d.Files[name]; !ok {
			out = append(out, name+" added")
		}
	}
	sort.Strings(out)
	return out
}

// RecordVariables records the evaluated variables: the values of the
// non-sensitive ones, only the names of the sensitive ones.
func RecordVariables(ev *schema.Evaluation) ([]Variable, error) {
	var out []Variable
	// Variables that feed credentials are never recorded, sensitive or not.
	secret := map[string]bool{}
	for _, n := range ev.Config.SecretVariables() {
		secret[n] = true
	}
	for name, decl := range ev.Config.Variables {
		v := Variable{Name: name, Sensitive: decl.Sensitive || secret[name]}
		val, ok := ev.Vars[name]
		if !v.Sensitive && ok && !val.ContainsMarked() {
			ty := val.Type()
			b, err := ctyjson.Marshal(val, ty)
			if err != nil {
				return nil, fmt.Errorf("variable %q: %w", name, err)
			}
			t, err := ctyjson.MarshalType(ty)
			if err != nil {
				return nil, fmt.Errorf("variable %q: %w", name, err)
			}
			v.Value, v.Type = b, t
		} else {
			v.Sensitive = true
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// value decodes a recorded value.
func (v Variable) value() (cty.Value, error) {
	ty, err := ctyjson.UnmarshalType(v.Type)
	if err != nil {
		return cty.NilVal, err
	}
	return ctyjson.Unmarshal(v.Value, ty)
}

// VariableValues gives the recorded non-sensitive values back, typed as
// they were recorded, for evaluating the configuration again at apply.
func (p *Plan) VariableValues(cfg *schema.Config) (map[string]schema.VarValue, error) {
	out := map[string]schema.VarValue{}
	for _, v := range p.Variables {
		decl := cfg.Variables[v.Name]
		if v.Sensitive || decl == nil {
			continue
		}
		val, err := v.value()
		if err != nil {
			return nil, fmt.Errorf("%w: variable %q: %w", ErrNotPlanFile, v.Name, err)
		}
		out[v.Name] = schema.VarValue{Value: val, Source: "the saved plan"}
	}
	return out, nil
}

// CheckGivenVariables reports an error naming every non-sensitive
// variable whose value given at apply differs from the one the plan
// recorded. Each given value is parsed and converted as evaluation does (a
// variables file's number stays a number), then compared with the record
// exactly: same type, same value. Values from the environment are not
// checked: the environment is not an explicit choice made for this apply.
func (p *Plan) CheckGivenVariables(cfg *schema.Config, given map[string]schema.VarValue) error {
	var diffs []string
	for _, v := range p.Variables {
		gv, ok := given[v.Name]
		decl := cfg.Variables[v.Name]
		if !ok || gv.FromEnv || v.Sensitive || decl == nil {
			continue
		}
		rec, err := v.value()
		if err != nil {
			return fmt.Errorf("%w: variable %q: %w", ErrNotPlanFile, v.Name, err)
		}
		val, diags := decl.ValueOf(gv)
		if diags.HasErrors() {
			return fmt.Errorf("variable %q (%s): %s", v.Name, gv.Source, diags.Error())
		}
		if !sameValue(val, rec) {
			diffs = append(diffs, fmt.Sprintf("variable %q (%s)", v.Name, gv.Source))
		}
	}
	switch len(diffs) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("%w: %s differs from the value it had when planned; a saved plan keeps the values of non-sensitive variables", ErrConfigChanged, diffs[0])
	}
	return fmt.Errorf("%w: %s differ from the values they had when planned; a saved plan keeps the values of non-sensitive variables", ErrConfigChanged, strings.Join(diffs, ", "))
}

// CheckVariables compares the non-sensitive variables of an evaluation
// with those the plan recorded.
func (p *Plan) CheckVariables(ev *schema.Evaluation) error {
	now, err := RecordVariables(ev)
	if err != nil {
		return err
	}
	byName := map[string]Variable{}
	for _, v := range now {
		byName[v.Name] = v
	}
	var diffs []string
	for _, v := range p.Variables {
		n, ok := byName[v.Name]
		delete(byName, v.Name)
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("variable %q removed", v.Name))
		case v.Sensitive != n.Sensitive:
			diffs = append(diffs, fmt.Sprintf("variable %q sensitivity changed", v.Name))
		case !v.Sensitive && !sameRecord(v, n):
			diffs = append(diffs, fmt.Sprintf("variable %q has another value", v.Name))
		}
	}
	for name := range byName {
		diffs = append(diffs, fmt.Sprintf("variable %q added", name))
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		return fmt.Errorf("%w: %s", ErrConfigChanged, strings.Join(diffs, ", "))
	}
	return nil
}

func sameValue(a, b cty.Value) bool {
	if !a.Type().Equals(b.Type()) {
		return false
	}
	eq := a.Equals(b)
	return eq.IsKnown() && eq.True()
}

// sameRecord reports whether two recorded values are the same value of the
// same type.
func sameRecord(a, b Variable) bool {
	x, errX := a.value()
	y, errY := b.value()
	if errX != nil || errY != nil {
		return false
	}
	return sameValue(x, y)
}

// planFile is the saved plan format, version 1. Its parts before and
// after the resource changes are structs of their own, embedded, so that
// writeStreamed can write the changes one at a time between them.
type planFile struct {
	planHead
	Changes []*ResourceChange `json:"resource_changes"`
	planTail
}

type planHead struct {
	FormatVersion  int          `json:"format_version"`
	WxmediaVersion string       `json:"wxmedia_version"`
	Lineage        string       `json:"lineage"`
	Serial         uint64       `json:"serial"`
	Config         ConfigDigest `json:"config"`
	Variables      []Variable   `json:"variables"`
	Targets        []string     `json:"targets,omitempty"`
	Replace        []string     `json:"replace,omitempty"`
	InputsMAC      string       `json:"inputs_mac,omitempty"`
}

type planTail struct {
	Outputs []OutputChange `json:"output_changes"`
	Summary Summary        `json:"summary"`
}

// WriteFile writes p in the saved plan format. The plan holds no sensitive
// value and no credential: sensitive variables are recorded by name only
// and sensitive outputs without their values.
func WriteFile(w io.Writer, p *Plan) error {
	f := planFile{
		planHead: planHead{
			FormatVersion: FileFormatVersion, WxmediaVersion: p.Version,
			Lineage: p.Lineage, Serial: p.Serial, Config: p.Config, Variables: p.Variables,
			Targets: p.Targets, Replace: p.Replace, InputsMAC: p.InputsMAC,
		},
		planTail: planTail{Outputs: p.Outputs, Summary: p.Summary},
	}
	if f.Variables == nil {
		f.Variables = []Variable{}
	}
	if f.Outputs == nil {
		f.Outputs = []OutputChange{}
	}
	f.Outputs = append([]OutputChange(nil), f.Outputs...)
	for i := range f.Outputs {
		if f.Outputs[i].Sensitive {
			f.Outputs[i].After, f.Outputs[i].AfterUnknown = nil, nil
		}
	}
	if err := writeStreamed(w, f, p); err != nil {
		return fmt.Errorf("writing plan: %w", err)
	}
	return nil
}

// writeStreamed writes f, with p's changes, as json.Encoder (without HTML
// escaping) would, the resource changes one at a time, so that a plan of
// many changes is never held in memory as JSON as a whole.
func writeStreamed(w io.Writer, f planFile, p *Plan) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	encode := func(v any) ([]byte, error) {
		buf.Reset()
		if err := enc.Encode(v); err != nil {
			return nil, err
		}
		return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
	}
	// The members before resource_changes, as an object without its "}".
	head, err := encode(f.planHead)
	if err != nil {
		return err
	}
	bw.Write(head[:len(head)-1])
	bw.WriteString(`,"resource_changes":[`)
	i := 0
	p.each(true, func(c *ResourceChange) bool {
		var b []byte
		if b, err = encode(c); err != nil {
			return false
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.Write(b)
		i++
		return true
	})
	if err != nil {
		return err
	}
	bw.WriteString("],")
	// The members after it, as an object without its "{".
	tail, err := encode(f.planTail)
	if err != nil {
		return err
	}
	bw.Write(tail[1:])
	bw.WriteByte('\n')
	return bw.Flush()
}

// ReadFile reads a saved plan. It refuses a file that is not a plan and a
// format version it does not read; the wxmedia version is checked by
// CheckVersion.
func ReadFile(r io.Reader) (*Plan, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading plan: %w", err)
	}
	var head struct {
		FormatVersion *int    `json:"format_version"`
		Wxmedia       *string `json:"wxmedia_version"`
	}
	if err := json.Unmarshal(b, &head); err != nil || head.FormatVersion == nil || head.Wxmedia == nil {
		return nil, ErrNotPlanFile
	}
	if *head.FormatVersion != FileFormatVersion {
		return nil, fmt.Errorf("%w: format version %d (made by wxmedia %s); this wxmedia reads version %d", ErrFileFormat, *head.FormatVersion, *head.Wxmedia, FileFormatVersion)
	}
	var f planFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotPlanFile, err)
	}
	p := &Plan{
		Version: f.WxmediaVersion, Lineage: f.Lineage, Serial: f.Serial, Config: f.Config,
		Variables: f.Variables, Targets: f.Targets, Replace: f.Replace, Outputs: f.Outputs, Summary: f.Summary,
		InputsMAC: f.InputsMAC,
	}
	for _, c := range f.Changes {
		if c == nil || c.Addr == "" || (c.Action != Forget && c.After == nil) || (c.Action == Forget && c.Before == nil) {
			return nil, fmt.Errorf("%w: an incomplete resource change", ErrNotPlanFile)
		}
		p.full = append(p.full, c)
	}
	return p, nil
}

// CheckVersion refuses a plan made by another wxmedia version: the meaning
// of a plan may change from one version to the next.
func (p *Plan) CheckVersion(version string) error {
	if p.Version != version {
		return fmt.Errorf("%w: it was made by wxmedia %s and this is wxmedia %s; plan again with this version", ErrVersion, p.Version, version)
	}
	return nil
}

// CheckState refuses a plan made against another state, or against this
// state before it changed.
func (p *Plan) CheckState(snap *state.Snapshot) error {
	if p.Lineage == "" {
		// Planned before any state existed.
		if snap.Serial != 0 || len(snap.Resources) > 0 {
			return fmt.Errorf("%w: it was made before the state existed, and the state has been written since (serial %d); plan again", ErrStale, snap.Serial)
		}
		return nil
	}
	if snap.Lineage != p.Lineage {
		return fmt.Errorf("%w: it was made for the state with lineage %s, and this state's lineage is %s", ErrOtherState, p.Lineage, orNone(snap.Lineage))
	}
	if snap.Serial != p.Serial {
		return fmt.Errorf("%w: it was made at state serial %d and the state is now at serial %d; plan again", ErrStale, p.Serial, snap.Serial)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none: no state exists)"
	}
	return s
}

// CheckConfig refuses a plan whose configuration files changed.
func (p *Plan) CheckConfig(now ConfigDigest) error {
	if now.SHA256 == p.Config.SHA256 {
		return nil
	}
	diffs := p.Config.Diff(now)
	if len(diffs) == 0 {
		diffs = []string{"file set changed"}
	}
	return fmt.Errorf("%w: %s; plan again", ErrConfigChanged, strings.Join(diffs, ", "))
}

func listSome(items []string) string {
	sort.Strings(items)
	const max = 5
	if len(items) <= max {
		return strings.Join(items, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(items[:max], "; "), len(items)-max)
}
