package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/state"
)

// published is what an apply recorded as outputs: the values, and the
// outputs it could not evaluate because an instance they refer to has no
// identifier (its upload failed or was not started).
type published struct {
	outputs map[string]state.Output
	// unevaluated are the names of those outputs, sorted; each keeps the
	// value recorded before, if any.
	unevaluated []string
	// before holds which of them had a value before.
	before map[string]bool
}

// publishOutputs evaluates the outputs against the state and records them
// in the state and in outputs.json for other configurations.
func publishOutputs(u *ui, w *workspace, st state.Backend) (*published, error) {
	snap, err := st.Snapshot()
	if err != nil {
		return nil, err
	}
	outs, unknown, diags := w.outputsFromState(snap)
	u.diagnostics(w.cfg.Files(), diags)
	if diags.HasErrors() {
		return nil, errReported
	}
	if !sameOutputs(outs, snap.Outputs) {
		if err := st.SetOutputs(outs); err != nil {
			return nil, fmt.Errorf("recording outputs: %w", err)
		}
	}
	b, err := w.backend()
	if err != nil {
		return nil, err
	}
	if err := b.publishOutputsFile(outs); err != nil {
		return nil, fmt.Errorf("publishing outputs: %w", err)
	}
	pub := &published{outputs: outs, unevaluated: unknown, before: map[string]bool{}}
	for _, n := range unknown {
		_, pub.before[n] = snap.Outputs[n]
	}
	return pub, nil
}

// outputsSection ends an apply as Terraform's does: "Outputs:" and each
// recorded output as name = value, sensitive ones hidden; then a warning
// for each output that could not be evaluated, saying what it holds now.
func (u *ui) outputsSection(w *workspace, pub *published) {
	if pub == nil || len(w.cfg.Outputs) == 0 {
		return
	}
	names := make([]string, 0, len(pub.outputs))
	for n := range pub.outputs {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) > 0 {
		var b strings.Builder
		b.WriteString("\nOutputs:\n\n")
		for _, n := range names {
			o := pub.outputs[n]
			v, err := decodeOutput(o)
			text := "(cannot be shown: " + fmt.Sprint(err) + ")"
			if err == nil {
				text = plan.FormatValue(v, o.Sensitive)
			}
			fmt.Fprintf(&b, "%s = %s\n", plan.Visible(n), text)
		}
		u.printf("%s", b.String())
	}
	for _, n := range pub.unevaluated {
		what := "it is not recorded"
		if pub.before[n] {
			what = "it keeps the value recorded before"
		}
		u.warnf("output %q could not be evaluated: it refers to a resource instance without an identifier (an upload that failed or was not started); %s until the next apply completes", plan.Visible(n), what)
	}
}
