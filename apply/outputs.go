package apply

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"

	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/schema"
	"github.com/wxmedia/wxmedia/state"
)

// Published is what an apply recorded as outputs.
type Published struct {
	// Outputs are the records, as the state keeps them.
	Outputs map[string]state.Output
	// Unevaluated names, sorted, the outputs that could not be evaluated
	// because an instance they refer to has no identifier (its upload
	// failed or was not started); each keeps the value recorded before,
	// if any.
	Unevaluated []string
	// Before holds which of them had a value before.
	Before map[string]bool
}

// PublishOutputs evaluates the configuration's outputs against the state
// st (whose settings s are), records them there when they changed, and
// publishes them beside a local state for other configurations to read
// (state.PublishOutputs). Diagnostics with errors mean nothing was
// recorded.
func PublishOutputs(ev *schema.Evaluation, st state.ReadWriter, s state.Settings) (*Published, hcl.Diagnostics, error) {
	snap, err := st.Snapshot()
	if err != nil {
		return nil, nil, err
	}
	outs, unknown, diags := OutputsFromState(ev, snap)
	if diags.HasErrors() {
		return nil, diags, nil
	}
	if !sameOutputs(outs, snap.Outputs) {
		if err := st.SetOutputs(outs); err != nil {
			return nil, diags, fmt.Errorf("recording outputs: %w", err)
		}
	}
	if err := state.PublishOutputs(s, outs); err != nil {
		return nil, diags, fmt.Errorf("publishing outputs: %w", err)
	}
	pub := &Published{Outputs: outs, Unevaluated: unknown, Before: map[string]bool{}}
	for _, n := range unknown {
		_, pub.Before[n] = snap.Outputs[n]
	}
	return pub, diags, nil
}

// OutputsFromState evaluates the outputs against what the state records;
// it returns the records of the wholly known ones and names, sorted, the
// outputs that could not be evaluated (kept at their previous value, or
// not recorded).
func OutputsFromState(ev *schema.Evaluation, snap *state.Snapshot) (map[string]state.Output, []string, hcl.Diagnostics) {
	values := map[string]schema.InstanceValue{}
	for _, in := range ev.Instances {
		if r, ok := snap.Resources[in.Addr]; ok {
			values[in.Addr] = schema.InstanceValue{ID: r.ID, SHA256: r.SHA256, Size: r.Size, Filename: r.Filename, Source: r.Source, UploadedAt: r.UploadedAt}
		}
	}
	outs, diags := ev.Outputs(values)
	rec := map[string]state.Output{}
	var unknown []string
	for name, o := range outs {
		if !o.Value.IsWhollyKnown() {
			// An upload it depends on failed: keep what was published
			// before, so that consumers lose nothing they had.
			if old, ok := snap.Outputs[name]; ok {
				rec[name] = old
			}
			unknown = append(unknown, name)
			continue
		}
		enc, err := plan.EncodeOutput(o)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot encode output", Detail: fmt.Sprintf("output %q: %v", name, err)})
			continue
		}
		rec[name] = enc
	}
	sort.Strings(unknown)
	return rec, unknown, diags
}

func sameOutputs(a, b map[string]state.Output) bool {
	if len(a) != len(b) {
		return false
	}
	for k, x := range a {
		y, ok := b[k]
		if !ok || x.Sensitive != y.Sensitive || string(x.Value) != string(y.Value) || string(x.Type) != string(y.Type) {
			return false
		}
	}
	return true
}
