package main

import (
	"fmt"
	"os"

	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/state"
)

// noopIndexPath is the plan's no-op index (plan.NoopIndex): machine-local
// and derived from the state, beside the stat cache and never part of the
// state.
const noopIndexPath = dataDir + "/noopindex"

// planState is the state as a plan reads it: whole (snap), or its head with
// a no-op index made for exactly that state (fast), which reads records by
// address and the whole state only when its fast path does not apply.
type planState struct {
	snap   *state.Snapshot
	fast   *plan.FastState
	lookup lookupFunc
	// backend names the state for the no-op index (plan.NoopState); ""
	// when no index is to be written. index is the one loaded, if any.
	backend string
	index   *plan.NoopIndex
	// note says why the index was not used, for the log.
	note string
}

// noopBackend names the state for its no-op index: its identity
// (state.Settings.Identity) and, for a local state, the size and
// modification time of its file, so that a state file replaced by another one (a
// restored copy written to since) is never taken for the one the index
// was made from, whatever its serial. The index records the state's write
// identifier (state.Head.WriteID) besides, which tells apart states of
// the same lineage and serial that these do not (a file copied with cp -p
// of the same size and time). "" when the state cannot be named
// (a local state that does not exist yet).
func (b stateBackend) noopBackend() string {
	id, err := b.settings().Identity()
	if err != nil {
		return ""
	}
	if ok, path := b.localPath(); ok {
		st, err := os.Stat(path)
		if err != nil {
			return ""
		}
		id += fmt.Sprintf("@%d:%d", st.Size(), st.ModTime().UnixNano())
	}
	return id
}

// localPath reports whether the state is local, and its file.
func (b stateBackend) localPath() (bool, string) {
	if b.isPostgres() {
		return false, ""
	}
	if b.Path == "" {
		return true, statePath
	}
	return true, b.Path
}

// useNoopIndex reports whether a plan may take the no-op index's fast
// path: not with -target (the targets are checked against the whole
// state), nor with -refresh-hashes (which trusts nothing remembered).
func (o *planOptions) useNoopIndex() bool { return len(o.Targets) == 0 && !o.RefreshHashes }

// saveNoopIndex reports whether a plan saves the no-op index: only a plan
// of every instance as it stands, without -target or -replace.
func (o *planOptions) saveNoopIndex() bool { return len(o.Targets)+len(o.Replace) == 0 }

// readForPlan reads the state for the plan o describes without taking the
// writer's lock (see stateBackend.snapshot). When the plan may use the
// no-op index (useNoopIndex), it loads the index and, when it was made for
// this very state, reads the state's head only; otherwise the whole
// state. done closes the state.
func (b stateBackend) readForPlan(o *planOptions) (ps *planState, done func(), err error) {
	ps = b.loadNoopIndex(o)
	if ps.index == nil {
		if ps.snap, ps.lookup, done, err = b.snapshot(o.LockTimeout, "plan"); err != nil {
			return nil, nil, err
		}
		return ps, done, nil
	}
	st, err := b.open(true, o.LockTimeout, "plan")
	if err != nil {
		return nil, nil, err
	}
	if err := ps.read(st); err != nil {
		st.Close()
		return nil, nil, err
	}
	return ps, func() { st.Close() }, nil
}

// loadNoopIndex names the state for its no-op index (when the plan o
// describes uses or saves it) and, when it uses it (useNoopIndex), loads
// the index when it was made for this state's backend; ps.index is nil
// otherwise, and ps.note says why.
func (b stateBackend) loadNoopIndex(o *planOptions) *planState {
	useIndex, saveIndex := o.useNoopIndex(), o.saveNoopIndex()
	ps := &planState{}
	if useIndex || saveIndex {
		ps.backend = b.noopBackend()
	}
	if useIndex && ps.backend != "" {
		x, err := plan.LoadNoopIndex(noopIndexPath)
		switch {
		case err != nil:
			ps.note = err.Error()
		case x == nil:
			ps.note = "no no-op index"
		case x.State().Backend != ps.backend:
			ps.note = "the no-op index is of another state"
		default:
			ps.index = x
		}
	}
	if !saveIndex {
		ps.backend = ""
	}
	return ps
}

// read reads, from the open state st, what the plan needs: with an index
// for this very state (same lineage and serial), the head for the fast
// path; otherwise the whole state.
func (ps *planState) read(st state.Reader) error {
	ps.lookup = st.LookupCache
	if ps.index != nil {
		h, err := st.Head()
		if err != nil {
			return err
		}
		x := ps.index.State()
		if x.Lineage == h.Lineage && x.Serial == h.Serial && x.WriteID != "" && x.WriteID == h.WriteID {
			ps.fast = &plan.FastState{Backend: x.Backend, Head: h, Index: ps.index, Read: st.ReadResources, Snapshot: st.Snapshot}
			return nil
		}
		if x.Serial != h.Serial {
			ps.note = fmt.Sprintf("the no-op index is of serial %d, the state at %d", x.Serial, h.Serial)
		} else {
			ps.note = "the no-op index is of another write of the state"
		}
	}
	snap, err := st.Snapshot()
	if err != nil {
		return err
	}
	ps.snap = snap
	return nil
}

// saveNoopIndexApplied writes the no-op index of the state that apply left
// after applying p (plan.SaveNoopIndexApplied), so that the next plan
// takes the fast path too, and closes the state. It reads the state's head
// and the records of what p changed while apply still holds the lock, so
// that apply was the state's only writer since p was made; a local state's
// file is named once closed, after its last write. Any failure leaves the
// index as it was (stale, so ignored) and is only logged.
func saveNoopIndexApplied(w *workspace, st state.Backend, p *plan.Plan) {
	defer st.Close()
	if len(p.Targets)+len(p.Replace) > 0 {
		return
	}
	b, err := w.backend()
	if err != nil {
		return
	}
	h, err := st.Head()
	if err != nil {
		w.log.Info("the no-op index was not saved", "error", err)
		return
	}
	recs, serial, err := st.ReadResources(plan.AppliedRecords(p))
	if err != nil || serial != h.Serial {
		w.log.Info("the no-op index was not saved", "error", err, "serial", serial, "head_serial", h.Serial)
		return
	}
	if err := st.Close(); err != nil {
		return
	}
	backend := b.noopBackend()
	if backend == "" {
		return
	}
	if err := plan.SaveNoopIndexApplied(noopIndexPath, backend, p, h, recs); err != nil {
		w.log.Info("the no-op index was not saved", "error", err)
	}
}
