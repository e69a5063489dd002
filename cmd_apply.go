package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/wxmedia/wxmedia/apply"
	"github.com/wxmedia/wxmedia/internal/arguments"
	"github.com/wxmedia/wxmedia/internal/interrupt"
	"github.com/wxmedia/wxmedia/internal/terminal"
	"github.com/wxmedia/wxmedia/internal/words"
	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/schema"
	"github.com/wxmedia/wxmedia/state"
	"github.com/wxmedia/wxmedia/uploader"
)

// runApply applies a saved plan, or plans and, once approved, applies.
func runApply(u *ui, a *arguments.Apply) error {
	o := planOptions{Operation: a.Operation}
	saved := a.PlanPath != ""
	var w *workspace
	var st state.Backend
	var p *plan.Plan
	var err error
	if saved {
		w, st, p, err = loadSavedPlan(u, &o, a.PlanPath)
		if st != nil {
			defer st.Close()
		}
		if err != nil {
			return err
		}
		if !p.HasChanges() {
			u.printf("%s\n", plan.SummaryLine(p.Summary, u.styles()))
		}
	} else {
		if !o.RefreshHashes {
			o.statCache = loadStatCacheEarly()
		}
		w, err = loadWorkspace(u, o.Vars)
		if err != nil {
			return err
		}
		st, err = w.openState(false, o.LockTimeout, "apply")
		if err != nil {
			return err
		}
		defer st.Close()
		b, err := w.backend()
		if err != nil {
			return err
		}
		// The plan takes the no-op index's fast path as plan does, the
		// state read under apply's lock.
		ps := b.loadNoopIndex(&o)
		p, err = makePlanReading(u, &o, w, func() (*planState, error) { return ps, ps.read(st) })
		if err != nil {
			return err
		}
		plan.Render(u.stdout, p, u.styles())
	}
	if !p.HasChanges() {
		// Nothing to upload: the outputs are published all the same.
		pub, err := publishOutputs(u, w, st)
		if err == nil {
			u.OutputsSection(pub, len(w.cfg.Outputs))
			saveNoopIndexApplied(w, st, p)
		}
		return err
	}
	// A saved plan was reviewed when it was made: no confirmation.
	if !a.AutoApprove && !saved {
		if !a.Input || !isTerminal(u.stdin) {
			return withHints(errors.New("apply needs confirmation, but input is disabled or not a terminal"), "review the plan and run apply -auto-approve, or save it with plan -out=FILE and run apply FILE")
		}
		u.printf("\nDo you want to perform these actions? Only 'yes' will be accepted.\n  Enter a value: ")
		line, _ := bufio.NewReader(u.stdin).ReadString('\n')
		if strings.TrimSpace(line) != "yes" {
			u.printf("\nApply cancelled.\n")
			return exitError{1}
		}
	}
	u.printf("\n")
	ctx, stopCh, cancel := interrupt.Graceful(func() {
		u.errorf([]string{"press Ctrl-C again to abort at once"}, "interrupt received: starting no new uploads, finishing those in flight")
	}, interrupt.Exit)
	defer cancel()
	ups, stop, err := w.uploaders(p, a.Parallelism, a.RetryTimeout)
	defer stop()
	if err != nil {
		return err
	}
	styles := u.styles()
	skips := &terminal.QuotaSkips{}
	prog := u.startProgress("uploading", p.Summary.Upload+p.Summary.Reupload, p.Summary.UploadBytes)
	res, err := apply.Apply(ctx, p, apply.Options{
		Store: st, Uploaders: ups, Parallelism: a.Parallelism,
		OnEvent: func(e apply.Event) {
			// Count first: the line's redraw of the bar shows this change.
			if a := e.Change.Action; (a == plan.Upload || a == plan.Reupload) && !errors.Is(e.Err, apply.ErrInterrupted) {
				prog.Uploaded(e.Change.After.Size, e.Err != nil)
			}
			if !skips.Add(e.Err) {
				u.ApplyEvent(styles, e)
			}
		},
		Stop: stopCh,
	})
	prog.Finish()
	skips.Report(u.Terminal, styles)
	if err != nil {
		return err
	}
	pub, err := publishOutputs(u, w, st)
	if err != nil {
		return err
	}
	u.ApplySummary(res)
	u.OutputsSection(pub, len(w.cfg.Outputs))
	saveNoopIndexApplied(w, st, p)
	if len(res.Failures) > 0 {
		if failed := res.Failed(); failed > 0 {
			u.errorf(nil, "%s failed:", words.Count(failed, "change"))
			var errs []error
			for _, f := range res.Failures {
				var qs *uploader.QuotaSkipError
				if !errors.Is(f.Err, apply.ErrInterrupted) && !errors.As(f.Err, &qs) {
					u.detailf("%s: %v", f.Addr, terminal.FailureOf(f.Err))
					errs = append(errs, f.Err)
				}
			}
			errs = append(errs, skips.Details(u.Terminal)...)
			u.hints(hintsForAll(errs))
		}
		if res.Interrupted() {
			u.errorf([]string{interruptedHint(p, res)}, "apply was interrupted: %s not started", words.Count(res.NotStarted, "upload"))
		}
		return exitError{1}
	}
	return nil
}

// interruptedHint says how to carry on after an interrupted apply. A
// replacement that was not made is no change to a plain plan (the state
// still holds the old identifier), so when one of the apply's -replace
// changes failed or was not started, the hint gives the -replace flags again.
func interruptedHint(p *plan.Plan, res *apply.Result) string {
	const kept = "every identifier recorded so far is kept"
	replaced := make(map[string]bool)
	for c := range p.Changes() {
		if c.Replace {
			replaced[c.Addr] = true
		}
	}
	for _, f := range res.Failures {
		if replaced[f.Addr] {
			flags := make([]string, len(p.Replace))
			for i, a := range p.Replace {
				flags[i] = plan.Visible(arguments.ShellQuote("-replace=" + a))
			}
			return fmt.Sprintf("run apply again with the same -replace flags to carry on (wxmedia apply %s): %s; without them the replacements not made are not planned", strings.Join(flags, " "), kept)
		}
	}
	return "run apply again to carry on: " + kept
}

// loadSavedPlan reads a saved plan and re-checks it (plan.RecheckSaved),
// loading the workspace and opening the state for writing on the way. It
// returns the state open (also on error, for the caller to close).
func loadSavedPlan(u *ui, o *planOptions, path string) (w *workspace, st state.Backend, p *plan.Plan, err error) {
	p, err = plan.RecheckSaved(path, plan.Recheck{
		Version: version,
		Load: func(adjust func(*schema.Config, map[string]schema.VarValue) error) (*schema.Evaluation, error) {
			if w, err = loadWorkspaceWith(u, o.Vars, adjust); err != nil {
				return nil, err
			}
			return w.ev, nil
		},
		State: func() (*state.Snapshot, error) {
			if st, err = w.openState(false, o.LockTimeout, "apply"); err != nil {
				return nil, err
			}
			return st.Snapshot()
		},
		Plan: func(in plan.Input) (*plan.Plan, error) {
			again := &planOptions{Operation: arguments.Operation{Targets: in.Targets, Replace: in.Replace}}
			return makePlan(u, again, w, in.State, st.LookupCache)
		},
	})
	return w, st, p, err
}
