package main

import (
	"github.com/wxmedia/wxmedia/internal/arguments"
	"github.com/wxmedia/wxmedia/internal/words"
	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/state"
)

func runValidate(u *ui, a *arguments.Validate) error {
	// Every phase's problems are shown together: the source files are
	// checked even when the configuration has errors elsewhere.
	w, diags, err := loadWorkspaceDiags(u, a.Vars, nil)
	if err != nil {
		return err
	}
	empty := &state.Snapshot{Resources: map[string]state.Resource{}, Outputs: map[string]state.Output{}}
	// A variable or data source in error leaves the rest unevaluated.
	if !w.ev.Partial {
		_, d := plan.Make(plan.Input{Eval: w.ev, State: empty, Merchants: w.idents})
		diags = append(diags, d...)
	}
	u.diagnostics(w.cfg.Files(), diags)
	if diags.HasErrors() {
		return errReported
	}
	u.printf("Success! The configuration is valid: %s, %s.\n", words.Count(len(w.ev.Instances), "resource instance"), words.Count(len(w.ev.Merchants), "merchant"))
	return nil
}
