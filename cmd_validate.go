package main

import (
	"github.com/wxmedia/wxmedia/internal/words"
	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/state"
)

func cmdValidate(u *ui, _ globalOptions, args []string) error {
	fs := newFlags(u, "validate")
	var vars varFlags
	vars.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := noArguments("validate", pos); err != nil {
		return err
	}
	// Every phase's problems are shown together: the source files are
	// checked even when the configuration has errors elsewhere.
	w, diags, err := loadWorkspaceDiags(u, &vars, nil)
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
