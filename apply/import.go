package apply

import (
	"fmt"

	"github.com/wxmedia/wxmedia/state"
	"github.com/wxmedia/wxmedia/uploader"
)

// ManagedError is an import to an instance the state records already.
type ManagedError struct {
	Address string
	IDField string // the API's name for the identifier, e.g. media_id
	ID      string // the identifier recorded
}

func (e *ManagedError) Error() string {
	return fmt.Sprintf("%s is already managed, with %s %q", e.Address, e.IDField, e.ID)
}

// Import records r and its cache entry e (plan.ImportRecord) in st, open
// for writing, as an upload's reply would: the next plan is a no-op for
// it. An instance the state records already is a *ManagedError, and
// nothing is written.
func Import(st state.ReadWriter, r state.Resource, e state.CacheEntry) error {
	snap, err := st.Snapshot()
	if err != nil {
		return err
	}
	if prev, ok := snap.Resources[r.Address]; ok {
		spec, _ := uploader.SpecFor(r.Type)
		return &ManagedError{Address: r.Address, IDField: spec.IDField, ID: prev.ID}
	}
	return st.CommitUpload(r, e)
}
