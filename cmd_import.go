package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/wxmedia/wxmedia/internal/arguments"
	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/state"
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
	var found bool
	var known []string
	for _, in := range w.ev.Instances {
		known = append(known, in.Addr)
		if in.Addr != a.String() {
			continue
		}
		found = true
		spec := in.Resource.Spec
		res := plan.HashFiles([]string{in.Path})[0]
		if err := res.Check(spec, in.Filename); err != nil {
			return fmt.Errorf("cannot import %s: %s: %w", in.Addr, in.Source, err)
		}
		// An identifier given by hand meets the rules of one from a reply:
		// within the page's bounds, printable text.
		if err := uploader.CheckIdentifier(spec, id); err != nil {
			return fmt.Errorf("cannot import %s: %w", in.Addr, err)
		}
		ident, ok := w.idents[in.Merchant]
		if !ok {
			return fmt.Errorf("cannot import %s: merchant %q is not usable", in.Addr, in.Merchant)
		}
		now := time.Now().UTC().Truncate(time.Second)
		r := state.Resource{
			Address: in.Addr, Type: in.Resource.Type, Name: in.Resource.Name, Key: in.Key,
			Merchant: in.Merchant, MchID: ident.MchID, Service: ident.Service, API: string(spec.API),
			Source: in.Source, Filename: in.Filename, SHA256: res.SHA256, Size: res.Size, ID: id, UploadedAt: now,
		}
		e := state.CacheEntry{
			CacheKey: state.CacheKey{Service: r.Service, MchID: r.MchID, API: r.API, SHA256: r.SHA256},
			ID:       id, Filename: r.Filename, Size: r.Size, UploadedAt: now,
		}
		st, err := w.openState(false, args.LockTimeout, "import")
		if err != nil {
			return err
		}
		defer st.Close()
		snap, err := st.Snapshot()
		if err != nil {
			return err
		}
		if prev, ok := snap.Resources[r.Address]; ok {
			return withHints(fmt.Errorf("%s is already managed, with %s %q", r.Address, idField(spec), prev.ID), fmt.Sprintf("wxmedia state rm %s first to import another identifier", r.Address))
		}
		if err := st.CommitUpload(r, e); err != nil {
			return err
		}
		u.printf("%s: imported %s %q for %s (sha256 %s, %s).\n\nImport successful! The next plan is a no-op for it.\n", plan.Visible(r.Address), idField(spec), id, plan.Visible(r.Source), r.SHA256, plan.FormatBytes(r.Size))
		return st.Close()
	}
	if !found {
		return withHints(fmt.Errorf("cannot import to %s: the configuration has no such resource instance%s", a, suggestFrom(a.String(), known)), "add the resource block first; import binds an identifier to a declared instance")
	}
	return nil
}

func idField(spec uploader.Spec) string { return spec.IDField }
