package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/wxmedia/wxmedia/apply"
	"github.com/wxmedia/wxmedia/internal/arguments"
	"github.com/wxmedia/wxmedia/internal/datadir"
	"github.com/wxmedia/wxmedia/schema"
	"github.com/wxmedia/wxmedia/state"
)

const (
	dataDir     = datadir.Name
	statePath   = dataDir + "/state.db"
	outputsPath = dataDir + "/outputs.json"
	sandboxDir  = dataDir + "/sandbox"
	// defaultSandboxMchID is the merchant a sandbox merchant block gets
	// when it names none.
	defaultSandboxMchID = arguments.DefaultSandboxMchID
)

// stateBackend is where the configuration keeps its state: the evaluated
// `wxmedia { backend … }` settings.
type stateBackend struct {
	schema.BackendSettings
	// notes is where opening the state says that it waits for the lock,
	// or reads the copy a writer published; nil for silence.
	notes *ui
}

// configuredBackend reads the backend settings of the configuration in the
// current directory, for commands that do not evaluate the whole
// configuration: only the backend block and what it refers to are
// evaluated, variables coming from WXMEDIA_VAR_* and their defaults.
// Without a configuration, or without a backend block, the state is local.
func configuredBackend(u *ui) (stateBackend, error) {
	cfg, _ := schema.Load(".")
	if cfg == nil || cfg.Backend == nil {
		return localBackend(u), nil
	}
	given, diags := varValues(cfg, u.env.vars, nil)
	if diags.HasErrors() {
		return stateBackend{}, fmt.Errorf("invalid variables: %s", diagSummary(diags))
	}
	s, diags := cfg.DecodeBackend(given, apply.RemoteState{})
	b, err := checkedBackend(s, diags)
	b.notes = u
	return b, err
}

// localBackend is the default state, .wxmedia/state.db.
func localBackend(u *ui) stateBackend {
	return stateBackend{BackendSettings: schema.BackendSettings{Type: schema.BackendLocal}, notes: u}
}

// backend returns the workspace's backend settings, evaluated with its
// variables (-var included).
func (w *workspace) backend() (stateBackend, error) {
	b, err := evaluatedBackend(w.ev)
	b.notes = w.notes
	return b, err
}

func evaluatedBackend(ev *schema.Evaluation) (stateBackend, error) {
	return checkedBackend(ev.BackendSettings())
}

func checkedBackend(s schema.BackendSettings, diags hcl.Diagnostics) (stateBackend, error) {
	if diags.HasErrors() {
		return stateBackend{}, fmt.Errorf("invalid backend settings: %s", diagSummary(diags))
	}
	if s.Type == schema.BackendPostgres && s.ConnStr == "" {
		return stateBackend{}, withHints(errors.New("the postgres backend needs conn_str"), `conn_str = env("WXMEDIA_PG") keeps it out of the configuration`)
	}
	return stateBackend{BackendSettings: s}, nil
}

// diagSummary renders error diagnostics on one line. Diagnostics never
// carry values, so conn_str cannot show through.
func diagSummary(diags hcl.Diagnostics) string {
	msg := ""
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		if msg != "" {
			msg += "; "
		}
		if d.Subject != nil {
			msg += d.Subject.String() + ": "
		}
		msg += d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
	}
	return msg
}

// settings are the backend settings as the state package takes them.
func (b stateBackend) settings() state.Settings { return state.Settings(b.BackendSettings) }

// where names the state for messages; never the connection string.
func (b stateBackend) where() string { return b.settings().Where() }

func (b stateBackend) isPostgres() bool { return b.Type == schema.BackendPostgres }

// options are the state options of a command: the lock timeout, and the
// notes that it waits for the lock or reads a writer's published copy.
func (b stateBackend) options(lockTimeout time.Duration, command string) state.Options {
	b.warnLoosePermissions()
	return state.Options{LockTimeout: lockTimeout, Command: command, OnWait: b.noteWaiting, OnWaitReaders: b.noteWaitingReaders, OnReadingSnapshot: b.noteSnapshot}
}

// open opens the state (state.Open). A writer takes the lock, waiting up
// to lockTimeout; a reader of a postgres state never waits for a writer.
// Read-only opens of a missing state give an empty store.
func (b stateBackend) open(readOnly bool, lockTimeout time.Duration, command string) (state.Backend, error) {
	o := b.options(lockTimeout, command)
	o.ReadOnly = readOnly
	return state.Open(b.settings(), o)
}

// noteSnapshot says that a reader reads the copy a writer published.
func (b stateBackend) noteSnapshot(info *state.SnapshotInfo) {
	if b.notes != nil {
		b.notes.infof("%s; run again once it has finished for the latest", info)
	}
}

// noteWaiting says that a command waits for the state lock and for whom,
// before it waits.
func (b stateBackend) noteWaiting(holder *state.LockInfo, timeout time.Duration) {
	if b.notes == nil {
		return
	}
	who := "another wxmedia"
	if holder != nil {
		who = fmt.Sprintf("pid %d", holder.PID)
		if holder.Command != "" {
			who = fmt.Sprintf("%q (pid %d)", holder.Command, holder.PID)
		}
	}
	if timeout < 0 {
		b.notes.infof("waiting for the state lock held by %s", who)
		return
	}
	b.notes.infof("waiting up to %s for the state lock held by %s", timeout, who)
}

// noteWaitingReaders says that a writer waits for readers to release the
// state's lock.
func (b stateBackend) noteWaitingReaders(timeout time.Duration) {
	if b.notes == nil {
		return
	}
	const readers = "readers (plan, output, show or a state command that reads)"
	if timeout < 0 {
		b.notes.infof("waiting for the state lock held by %s", readers)
		return
	}
	b.notes.infof("waiting up to %s for the state lock held by %s", timeout, readers)
}

// snapshot reads the state without taking the writer's lock; see
// state.ReadSnapshot.
func (b stateBackend) snapshot(lockTimeout time.Duration, command string) (*state.Snapshot, lookupFunc, func(), error) {
	return state.ReadSnapshot(b.settings(), b.options(lockTimeout, command))
}

// publishOutputsFile writes outputs.json beside a local state; see
// state.PublishOutputs.
func (b stateBackend) publishOutputsFile(outs map[string]state.Output) error {
	return state.PublishOutputs(b.settings(), outs)
}

// forceUnlock releases the state's lock; see state.ForceUnlock.
func (b stateBackend) forceUnlock(lockID int) (*state.LockInfo, error) {
	return state.ForceUnlock(b.settings(), lockID)
}

// openState opens the state configured in the current directory. See
// stateBackend.open.
func openState(u *ui, readOnly bool, lockTimeout time.Duration, command string) (state.Backend, error) {
	b, err := configuredBackend(u)
	if err != nil {
		return nil, err
	}
	return b.open(readOnly, lockTimeout, command)
}

// readSnapshotClosed reads the state configured in the current directory
// and closes it before returning, so that the reader's shared lock is not
// held while the caller writes its output (a pager or a pipe nobody reads
// yet would otherwise keep every writer out).
func readSnapshotClosed(u *ui, lockTimeout time.Duration) (*state.Snapshot, error) {
	snap, _, done, err := readSnapshot(u, lockTimeout)
	if err != nil {
		return nil, err
	}
	done()
	return snap, nil
}

// readSnapshot reads the state configured in the current directory without
// taking the writer's lock. See stateBackend.snapshot.
func readSnapshot(u *ui, lockTimeout time.Duration) (*state.Snapshot, lookupFunc, func(), error) {
	b, err := configuredBackend(u)
	if err != nil {
		return nil, nil, nil, err
	}
	return b.snapshot(lockTimeout, "plan")
}

// openState opens the workspace's state. See stateBackend.open.
func (w *workspace) openState(readOnly bool, lockTimeout time.Duration, command string) (state.Backend, error) {
	b, err := w.backend()
	if err != nil {
		return nil, err
	}
	return b.open(readOnly, lockTimeout, command)
}

// readForPlan reads the workspace's state for a plan without taking the
// writer's lock. See stateBackend.readForPlan.
func (w *workspace) readForPlan(o *planOptions) (*planState, func(), error) {
	b, err := w.backend()
	if err != nil {
		return nil, nil, err
	}
	return b.readForPlan(o)
}
