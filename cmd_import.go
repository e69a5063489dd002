package main

import (
	"errors"
	"time"

	"github.com/wxmedia/wxmedia/apply"
	"github.com/wxmedia/wxmedia/internal/arguments"
	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/uploader"
)

func runImport(u *ui, args *arguments.Import) error {
	id := args.ID
	a, err := plan.ParseAddress(args.Addr)
	if err != nil {
		return addressHint(err)
	}
	if id == "" {
		return errors.New("import needs a non-empty identifier")
	}
	w, err := loadWorkspace(u, args.Vars)
	if err != nil {
		return err
	}
	if w.sandbox != nil {
		defer w.sandbox.Close()
	}
	r, e, err := plan.ImportRecord(w.ev, w.idents, a, id, time.Now())
	if err != nil {
		return err
	}
	st, err := w.openState(false, args.LockTimeout, "import")
	if err != nil {
		return err
	}
	defer st.Close()
	if err := apply.Import(st, r, e); err != nil {
		return err
	}
	spec, _ := uploader.SpecFor(r.Type)
	u.printf("%s: imported %s %q for %s (sha256 %s, %s).\n\nImport successful! The next plan is a no-op for it.\n", plan.Visible(r.Address), spec.IDField, id, plan.Visible(r.Source), r.SHA256, plan.FormatBytes(r.Size))
	return st.Close()
}
