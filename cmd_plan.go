package main

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wxmedia/wxmedia/internal/arguments"
	"github.com/wxmedia/wxmedia/internal/memtune"
	"github.com/wxmedia/wxmedia/internal/words"
	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/schema"
	"github.com/wxmedia/wxmedia/state"
)

// planOptions are what is planned: the flags plan and apply share.
type planOptions struct {
	arguments.Operation
	// statCache, when set, gives the stat cache a command started loading
	// early; makePlanReading loads it itself otherwise.
	statCache func() *plan.StatCache
}

// loadStatCacheEarly starts reading the stat cache, which is independent of
// the configuration, so that it overlaps loading the workspace.
func loadStatCacheEarly() func() *plan.StatCache {
	ch := make(chan *plan.StatCache, 1)
	go func() { ch <- plan.LoadStatCache(statCachePath) }()
	return sync.OnceValue(func() *plan.StatCache { return <-ch })
}

// lookupFunc looks up content-addressed cache entries in the state.
type lookupFunc = func([]state.CacheKey) (map[state.CacheKey]state.CacheEntry, error)

// makePlan computes the plan of a loaded workspace.
func makePlan(u *ui, o *planOptions, w *workspace, snap *state.Snapshot, lookup lookupFunc) (*plan.Plan, error) {
	return makePlanReading(u, o, w, func() (*planState, error) { return &planState{snap: snap, lookup: lookup}, nil })
}

// makePlanReading computes the plan of a loaded workspace with the state
// that read gives. Without -target, every configured file is hashed
// before read is called, so that a state read already under way overlaps
// the hashing; with -target, the state comes first (the targets are
// checked against it) and only the targeted files are hashed. When read
// gives the state's head with a no-op index, the plan takes its fast path
// (plan.FastState); after a plan of every instance, the no-op index is
// saved for the state read.
func makePlanReading(u *ui, o *planOptions, w *workspace, read func() (*planState, error)) (*plan.Plan, error) {
	// The stat cache skips reading files whose metadata is unchanged; it
	// lives beside the state, local to this machine.
	var sc *plan.StatCache
	if o.statCache != nil {
		sc = o.statCache()
	} else {
		sc = plan.LoadStatCache(statCachePath)
	}
	if o.RefreshHashes {
		sc = plan.NewStatCache()
	}
	hash := hashWithProgress(u, sc)
	var files []plan.FileResult
	if len(o.Targets) == 0 {
		// Every instance's file, in the instances' order (plan.Input.Files).
		paths := make([]string, len(w.ev.Instances))
		for i, inst := range w.ev.Instances {
			paths[i] = inst.Path
		}
		files = hash(paths)
	}
	ps, err := read()
	if err != nil {
		return nil, err
	}
	p, diags := plan.Make(plan.Input{Eval: w.ev, State: ps.snap, Fast: ps.fast, Cache: ps.lookup, Merchants: w.idents, Targets: o.Targets, Replace: o.Replace, Hash: hash, Files: files, Version: version})
	if ps.fast != nil {
		if ps.fast.Err != nil {
			return nil, ps.fast.Err
		}
		if ps.fast.Took {
			w.log.Info("plan read the state by address", "indexed_noops", ps.fast.Indexed, "read_by_address", ps.fast.ReadByAddress)
		} else {
			ps.note = ps.fast.Skipped
		}
	}
	if ps.note != "" {
		w.log.Info("plan reads the whole state", "reason", ps.note)
	}
	u.diagnostics(w.cfg.Files(), diags)
	if diags.HasErrors() {
		return nil, errReported
	}
	if err := sc.Save(statCachePath); err != nil {
		u.warnf("%v", err)
	}
	if ps.backend != "" && p.Lineage != "" && p.StateWriteID() != "" {
		// Derived data: a failure costs the next plan time, nothing else.
		if err := plan.SaveNoopIndex(noopIndexPath, plan.NoopState{Backend: ps.backend, Lineage: p.Lineage, WriteID: p.StateWriteID(), Serial: p.Serial}, p, ps.index); err != nil {
			w.log.Info("the no-op index was not saved", "error", err)
		}
	}
	return p, nil
}

// earlySnapshot is a read of the default local state started before the
// configuration is evaluated, for a configuration without a backend block:
// the state is then known to be the local one, and reading it overlaps
// evaluation and hashing.
type earlySnapshot struct {
	ready chan struct{}
	ps    *planState
	done  func()
	err   error
}

// startEarlySnapshot starts reading the local state when the configuration
// in the current directory parses and has no backend block; nil otherwise.
// It reads the head only when the no-op index serves (readForPlan).
func startEarlySnapshot(u *ui, o *planOptions) *earlySnapshot {
	cfg, diags := schema.Load(".")
	if cfg == nil || diags.HasErrors() || cfg.Backend != nil {
		return nil
	}
	e := &earlySnapshot{ready: make(chan struct{})}
	go func() {
		defer close(e.ready)
		b := localBackend(u)
		e.ps, e.done, e.err = b.readForPlan(o)
	}()
	return e
}

// wait returns the state read; done closes it.
func (e *earlySnapshot) wait() (*planState, func(), error) {
	<-e.ready
	return e.ps, e.done, e.err
}

// discard waits for the read and closes the state.
func (e *earlySnapshot) discard() {
	if _, done, err := e.wait(); err == nil {
		done()
	}
}

// hashWithProgress hashes through the stat cache, showing progress for
// long runs.
func hashWithProgress(u *ui, sc *plan.StatCache) func([]string) []plan.FileResult {
	return func(paths []string) []plan.FileResult {
		prog := u.startProgress("hashing", len(paths), 0)
		defer prog.Finish()
		sc.OnFile = prog.Hashed
		defer func() { sc.OnFile = nil }()
		return sc.Hash(paths)
	}
}

// renderPlan shows p as the view asks: human, -json or -markdown.
func renderPlan(u *ui, view arguments.ViewType, p *plan.Plan) error {
	switch view {
	case arguments.ViewJSON:
		return plan.RenderJSON(u.stdout, p)
	case arguments.ViewMarkdown:
		return plan.RenderMarkdown(u.stdout, p)
	}
	plan.Render(u.stdout, p, u.styles())
	return nil
}

func runPlan(u *ui, a *arguments.Plan) error {
	o := planOptions{Operation: a.Operation}
	tune := memtune.ForPlan()
	defer tune.Restore()
	// The files the last plan hashed foretell this one's size.
	tune.Expect(plan.StatCacheCount(statCachePath))
	if !o.RefreshHashes {
		o.statCache = loadStatCacheEarly()
	}
	early := startEarlySnapshot(u, &o)
	w, err := loadWorkspace(u, o.Vars)
	if err != nil {
		if early != nil {
			early.discard()
		}
		return err
	}
	tune.Fit(len(w.ev.Instances))
	if early != nil {
		// The evaluated backend decides; it is the local state unless a
		// backend block appeared since.
		if b, err := w.backend(); err != nil || b.Type != schema.BackendLocal || b.Path != "" && b.Path != statePath {
			early.discard()
			early = nil
		}
	}
	closeState := func() {}
	defer func() { closeState() }()
	read := func() (*planState, error) {
		defer func() { early = nil }() // read once
		var ps *planState
		var done func()
		var err error
		if early != nil {
			ps, done, err = early.wait()
		} else {
			ps, done, err = w.readForPlan(&o)
		}
		if err != nil {
			return nil, err
		}
		closeState = done
		return ps, nil
	}
	p, err := makePlanReading(u, &o, w, read)
	if err != nil {
		if early != nil { // not read
			early.discard()
		}
		return err
	}
	// The plan holds what it read: the reader's lock goes before the
	// output, which a pager may block.
	closeState()
	closeState = func() {}
	if a.Out != "" {
		if p.Lineage == "" {
			signAgainstNewState(u, w, o.LockTimeout, p)
		}
		if err := plan.Save(a.Out, p); err != nil {
			return err
		}
	}
	if err := renderPlan(u, a.View, p); err != nil {
		return err
	}
	if a.Out != "" && a.View == arguments.ViewHuman {
		cmd, again := applyCommand(&o, p, a.Out)
		u.printf("\nSaved the plan to: %s\n\nTo perform exactly these actions, run:\n  %s\n", plan.Visible(a.Out), plan.Visible(withChdir(cmd, u.chdir)))
		if len(again) > 0 {
			u.printf("Give the sensitive %s %s again (-var or WXMEDIA_VAR_name): a saved plan never holds sensitive values.\n",
				words.Noun(len(again), "variable"), strings.Join(again, ", "))
		}
	}
	if a.DetailedExitcode && p.HasChanges() {
		return exitError{2}
	}
	return nil
}

// signAgainstNewState creates the state that p, planned before any state
// existed, will be applied to, and signs p with its plan key
// (plan.SignAgainstNew). If another wxmedia wrote it meanwhile, or it
// cannot be created (a postgres role that may not create tables), p stays
// unsigned, with a warning.
func signAgainstNewState(u *ui, w *workspace, lockTimeout time.Duration, p *plan.Plan) {
	warn := func(err error) {
		u.warnf("the saved plan is not signed, as no state exists yet to keep its key (%v); apply it only as it was written", err)
	}
	st, err := w.openState(false, lockTimeout, "plan")
	if err != nil {
		warn(err)
		return
	}
	defer st.Close()
	snap, err := st.Snapshot()
	if err != nil {
		warn(err)
		return
	}
	if err := p.SignAgainstNew(snap); err != nil {
		warn(err)
	}
}

// applyCommand is the command that applies the saved plan out. A plan
// records its sensitive variables by name only, so when it has any, the
// -var-file flags given at planning come along, and again names the
// sensitive variables given with -var, whose values must be given again.
func applyCommand(o *planOptions, p *plan.Plan, out string) (cmd string, again []string) {
	sensitive := map[string]bool{}
	for _, v := range p.Variables {
		if v.Sensitive {
			sensitive[v.Name] = true
		}
	}
	cmd = "wxmedia apply "
	if len(sensitive) > 0 {
		for _, a := range o.Vars {
			name, _ := a.NameValue()
			switch {
			case a.File:
				cmd += "-var-file=" + shellQuote(a.Text) + " "
			case sensitive[name] && !slices.Contains(again, name):
				again = append(again, name)
			}
		}
	}
	return cmd + shellQuote(out), again
}
