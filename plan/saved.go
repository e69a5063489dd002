package plan

import (
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/wxmedia/wxmedia/internal/atomicfile"
	"github.com/wxmedia/wxmedia/internal/safefile"
	"github.com/wxmedia/wxmedia/schema"
	"github.com/wxmedia/wxmedia/state"
)

// Save writes p to the file path (mode 0600): to a temporary file beside
// it, then renamed, so that a failed write leaves no partial plan. An
// error says "saving the plan" and, unless the temporary file could not be
// created, names path.
func Save(path string, p *Plan) error {
	err := atomicfile.Write(path, 0o600, atomicfile.Replace, func(w io.Writer) error { return WriteFile(w, p) })
	var ce *atomicfile.CreateError
	switch {
	case errors.As(err, &ce):
		return fmt.Errorf("saving the plan: %w", pathless(ce.Err))
	case err != nil:
		return fmt.Errorf("saving the plan to %s: %w", path, pathless(err))
	}
	return nil
}

// Open reads the plan saved at path, naming the file in errors (which
// wrap ErrNotPlanFile, ErrFileFormat or the file system's error). A plan
// is a regular file: opening one does not block on a named pipe, and its
// size bounds the read.
func Open(path string) (*Plan, error) {
	f, st, err := safefile.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the plan %s: %w", path, pathless(err))
	}
	defer f.Close()
	p, err := ReadFile(io.LimitReader(f, st.Size()))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// pathless is err without its *fs.PathError wrapper, whose path the
// message names already.
func pathless(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// RefusedError is a saved plan that cannot be applied: Err, wrapped, says
// why, with ErrVersion, ErrConfigChanged, ErrStale, ErrOtherState,
// ErrFileChanged, ErrPlanChanged or ErrPlanEdited in its chain.
type RefusedError struct {
	Path string
	Err  error
}

func (e *RefusedError) Error() string { return fmt.Sprintf("cannot apply %s: %v", e.Path, e.Err) }
func (e *RefusedError) Unwrap() error { return e.Err }

// Recheck is what re-checking a saved plan needs of its caller, which
// owns loading the configuration and opening the state.
type Recheck struct {
	// Version is this wxmedia's version.
	Version string
	// Load loads and evaluates the configuration, calling adjust with the
	// loaded configuration and the variable values given, before
	// evaluating; adjust puts the values the plan recorded into given.
	// When adjust fails, Load returns its error as it is.
	Load func(adjust func(*schema.Config, map[string]schema.VarValue) error) (*schema.Evaluation, error)
	// State opens the state the plan is to be applied to (for writing:
	// the caller keeps it open for apply) and reads it.
	State func() (*state.Snapshot, error)
	// Plan computes the plan again: Make with the given input completed
	// by the caller (merchants, cache, hashing).
	Plan func(Input) (*Plan, error)
}

// RecheckSaved reads the plan saved at path and checks it against, in
// this order: this wxmedia's version; the configuration's files and the
// variables given, before evaluation (the values of the variables the
// plan recorded are then used); the evaluated variables and their
// signatures; the state (lineage and serial); and a plan computed again
// now, which covers the source files' bytes. It returns the plan computed
// now, which Match found equal to the saved one in every field: that is
// what is applied. A refusal is a *RefusedError; the errors of reading the
// file and of the callbacks are returned as they are.
func RecheckSaved(path string, r Recheck) (*Plan, error) {
	saved, err := Open(path)
	if err != nil {
		return nil, err
	}
	refuse := func(err error) error { return &RefusedError{Path: path, Err: err} }
	if err := saved.CheckVersion(r.Version); err != nil {
		return nil, refuse(err)
	}
	ev, err := r.Load(func(cfg *schema.Config, given map[string]schema.VarValue) error {
		digest, err := DigestConfig(cfg)
		if err != nil {
			return err
		}
		if err := saved.CheckConfig(digest); err != nil {
			return refuse(err)
		}
		if err := saved.CheckGivenVariables(cfg, given); err != nil {
			return refuse(err)
		}
		recorded, err := saved.VariableValues(cfg)
		if err != nil {
			return refuse(err)
		}
		for name, vv := range recorded {
			given[name] = vv
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := saved.CheckVariables(ev); err != nil {
		return nil, refuse(err)
	}
	snap, err := r.State()
	if err != nil {
		return nil, err
	}
	if err := saved.CheckState(snap); err != nil {
		return nil, refuse(err)
	}
	fresh, err := r.Plan(Input{Eval: ev, State: snap, Targets: saved.Targets, Replace: saved.Replace, Version: r.Version})
	if err != nil {
		return nil, err
	}
	if err := saved.Match(fresh); err != nil {
		return nil, refuse(err)
	}
	return fresh, nil
}
