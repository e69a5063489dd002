package apply

import (
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/state"
)

// ErrDuplicateID is matched (errors.Is) by every *DuplicateIDError.
var ErrDuplicateID = errors.New("identifier already issued for other content")

// DuplicateIDError is an upload whose reply carried an identifier that the
// same service, merchant and API issued for different bytes, earlier in
// this apply or in the content cache. An identifier names one piece of
// content; recording it for another would bind that content to the wrong
// media, so it is refused and nothing is recorded.
type DuplicateIDError struct {
	Field, ID   string // the identifier's name and value
	SHA256      string // the content just uploaded
	OtherSHA256 string // the content the identifier was issued for before
	OtherAddr   string // the resource of this apply that got it first, if any
}

func (e *DuplicateIDError) Error() string {
	where := "the content cache"
	if e.OtherAddr != "" {
		where = e.OtherAddr + " in this apply"
	}
	return fmt.Sprintf("%s %s refused: the server returned it for sha256 %s… too (%s), not only for these bytes (sha256 %s…); nothing recorded, check the endpoint",
		e.Field, strconv.QuoteToGraphic(e.ID), short(e.OtherSHA256), where, short(e.SHA256))
}

// Is makes errors.Is(err, ErrDuplicateID) hold.
func (e *DuplicateIDError) Is(target error) bool { return target == ErrDuplicateID }

func short(sha string) string { return sha[:min(len(sha), 12)] }

type idKey struct{ service, mchid, api, id string }

type idOwner struct{ sha256, addr string }

// identifiers remembers which content every identifier of a run, and of
// the content cache, was issued for. The cache is read once, when the
// first upload of the apply needs it. It is safe for concurrent use.
type identifiers struct {
	store  state.Reader
	once   sync.Once
	err    error
	mu     sync.Mutex
	owners map[idKey]idOwner
}

func newIdentifiers(store state.Reader) *identifiers {
	return &identifiers{store: store, owners: map[idKey]idOwner{}}
}

// claim records that c's upload got id and fails with a *DuplicateIDError
// when id was issued for other bytes.
func (r *identifiers) claim(c *plan.ResourceChange, field, id string) error {
	r.once.Do(func() {
		entries, err := r.store.ListCache()
		if err != nil {
			r.err = fmt.Errorf("reading the content cache to check identifiers: %w", err)
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, e := range entries {
			k := idKey{e.Service, e.MchID, e.API, e.ID}
			if _, ok := r.owners[k]; !ok {
				r.owners[k] = idOwner{sha256: e.SHA256}
			}
		}
	})
	if r.err != nil {
		return r.err
	}
	k := idKey{c.Service, c.MchID, c.API, id}
	r.mu.Lock()
	defer r.mu.Unlock()
	if o, ok := r.owners[k]; ok && o.sha256 != c.After.SHA256 {
		return &DuplicateIDError{Field: field, ID: id, SHA256: c.After.SHA256, OtherSHA256: o.sha256, OtherAddr: o.addr}
	}
	r.owners[k] = idOwner{sha256: c.After.SHA256, addr: c.Addr}
	return nil
}
