package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/wxmedia/wxmedia/apply"
	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/state"
)

type planOptions struct {
	vars             varFlags
	replace          stringList
	lockTimeout      time.Duration
	detailedExitcode bool
}

func (o *planOptions) register(fs *flag.FlagSet) {
	fs.Var(&o.vars, "var", "set a variable: -var name=value (repeatable)")
	fs.Var(&o.replace, "replace", "force an upload of this resource address even if unchanged (repeatable)")
	fs.DurationVar(&o.lockTimeout, "lock-timeout", 0, "how long to wait for the state lock")
}

// makePlan computes the plan of a loaded workspace.
func makePlan(u *ui, o *planOptions, w *workspace, snap *state.Snapshot, lookup func([]state.CacheKey) (map[state.CacheKey]state.CacheEntry, error)) (*plan.Plan, error) {
	replace := map[string]bool{}
	for _, r := range o.replace {
		replace[r] = true
	}
	p, diags := plan.Make(plan.Input{Eval: w.ev, State: snap, Cache: lookup, Merchants: w.idents, Replace: replace})
	u.diagnostics(w.cfg.Files(), diags)
	if diags.HasErrors() {
		return nil, errReported
	}
	return p, nil
}

func cmdPlan(u *ui, _ globalOptions, args []string) error {
	fs := newFlags(u, "plan", "plan [options]", "Hash the source files, compare them with the state, and show what apply would upload, reuse and forget.\nNothing is uploaded and the state is not written.")
	var o planOptions
	o.register(fs)
	fs.BoolVar(&o.detailedExitcode, "detailed-exitcode", false, "exit 0 with no changes, 2 with changes, 1 on error")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	w, err := loadWorkspace(u, &o.vars)
	if err != nil {
		return err
	}
	snap, lookup, done, err := readSnapshot(o.lockTimeout)
	if err != nil {
		return err
	}
	defer done()
	p, err := makePlan(u, &o, w, snap, lookup)
	if err != nil {
		return err
	}
	plan.Render(u.stdout, p, u.styles())
	if o.detailedExitcode && p.HasChanges() {
		return exitError{2}
	}
	return nil
}

func cmdApply(u *ui, _ globalOptions, args []string) error {
	fs := newFlags(u, "apply", "apply [options]", "Plan, ask for confirmation, then upload what changed and record every identifier in the state as soon as its reply verifies.")
	var o planOptions
	o.register(fs)
	autoApprove := fs.Bool("auto-approve", false, "skip the confirmation")
	input := fs.Bool("input", true, "ask for confirmation on the terminal; -input=false fails instead")
	parallelism := fs.Int("parallelism", 4, "concurrent uploads")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("apply takes no positional arguments (saved plans are not supported by this version): %s", strings.Join(pos, " "))
	}
	if *parallelism < 1 {
		return fmt.Errorf("-parallelism must be at least 1, not %d", *parallelism)
	}
	w, err := loadWorkspace(u, &o.vars)
	if err != nil {
		return err
	}
	st, err := openState(false, o.lockTimeout, "apply")
	if err != nil {
		return err
	}
	defer st.Close()
	snap, err := st.Snapshot()
	if err != nil {
		return err
	}
	p, err := makePlan(u, &o, w, snap, st.LookupCache)
	if err != nil {
		return err
	}
	plan.Render(u.stdout, p, u.styles())
	if !p.HasChanges() {
		return publishOutputs(u, w, st)
	}
	if !*autoApprove {
		if !*input || !isTerminal(u.stdin) {
			return errors.New("apply needs confirmation, but input is disabled or not a terminal\nwxmedia: hint: review the plan and run apply -auto-approve")
		}
		u.printf("\nDo you want to perform these actions? Only 'yes' will be accepted.\n  Enter a value: ")
		line, _ := bufio.NewReader(u.stdin).ReadString('\n')
		if strings.TrimSpace(line) != "yes" {
			u.printf("\nApply cancelled.\n")
			return exitError{1}
		}
	}
	u.printf("\n")
	ctx, cancel := contextWithInterrupt()
	defer cancel()
	ups, stop, err := w.uploaders(p)
	defer stop()
	if err != nil {
		return err
	}
	styles := u.styles()
	res, err := apply.Apply(ctx, p, apply.Options{
		Store: st, Uploaders: ups, Parallelism: *parallelism,
		OnEvent: func(e apply.Event) { reportEvent(u, styles, e) },
	})
	if err != nil {
		return err
	}
	if err := publishOutputs(u, w, st); err != nil {
		return err
	}
	u.printf("\n%s %d uploaded (%s), %d reused, %d forgotten, %d failed.\n",
		styles.Bold.Sprint("Apply complete!"), res.Uploaded, plan.FormatBytes(res.UploadedBytes), res.Reused, res.Forgotten, len(res.Failures))
	if len(res.Failures) > 0 {
		u.errorf(nil, "%d of the planned changes failed:", len(res.Failures))
		for _, f := range res.Failures {
			fmt.Fprintf(u.stderr, "  %s: %v\n", f.Addr, f.Err)
		}
		if ctx.Err() != nil {
			u.errorf([]string{"run apply again to carry on: every identifier recorded so far is kept"}, "apply was interrupted")
		}
		return exitError{1}
	}
	return nil
}

func reportEvent(u *ui, st plan.Styles, e apply.Event) {
	c := e.Change
	if e.Err != nil {
		fmt.Fprintf(u.stdout, "%s: %s %v\n", c.Addr, st.Forget.Sprint("failed:"), e.Err)
		return
	}
	switch c.Action {
	case plan.Upload, plan.Reupload:
		fmt.Fprintf(u.stdout, "%s: %s\n", c.Addr, st.Upload.Sprint("uploaded"))
	case plan.Reuse:
		fmt.Fprintf(u.stdout, "%s: %s\n", c.Addr, st.Reuse.Sprint("reused"))
	case plan.Forget:
		fmt.Fprintf(u.stdout, "%s: %s\n", c.Addr, st.Forget.Sprint("forgotten"))
	}
}

// publishOutputs evaluates the outputs against the state and records them
// in the state and in outputs.json for other configurations.
func publishOutputs(u *ui, w *workspace, st *state.Local) error {
	snap, err := st.Snapshot()
	if err != nil {
		return err
	}
	outs, diags := w.outputsFromState(snap)
	u.diagnostics(w.cfg.Files(), diags)
	if diags.HasErrors() {
		return errReported
	}
	if !sameOutputs(outs, snap.Outputs) {
		if err := st.SetOutputs(outs); err != nil {
			return fmt.Errorf("recording outputs: %w", err)
		}
	}
	if err := state.WriteOutputsFile(outputsPath, outs); err != nil {
		return fmt.Errorf("publishing outputs: %w", err)
	}
	return nil
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
