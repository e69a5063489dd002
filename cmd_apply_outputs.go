package main

import (
	"github.com/wxmedia/wxmedia/apply"
	"github.com/wxmedia/wxmedia/state"
)

// publishOutputs evaluates the outputs against the state and records them
// in the state and in outputs.json for other configurations; see
// apply.PublishOutputs.
func publishOutputs(u *ui, w *workspace, st state.ReadWriter) (*apply.Published, error) {
	b, err := w.backend()
	if err != nil {
		return nil, err
	}
	pub, diags, err := apply.PublishOutputs(w.ev, st, b.settings())
	u.diagnostics(w.cfg.Files(), diags)
	if err != nil {
		return nil, err
	}
	if diags.HasErrors() {
		return nil, errReported
	}
	return pub, nil
}
