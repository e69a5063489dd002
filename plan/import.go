package plan

import (
	"fmt"
	"slices"
	"time"

	"github.com/wxmedia/wxmedia/internal/suggest"
	"github.com/wxmedia/wxmedia/schema"
	"github.com/wxmedia/wxmedia/state"
	"github.com/wxmedia/wxmedia/uploader"
)

// NotConfiguredError is an import address that names no resource instance
// of the configuration; Suggestion is the nearest instance address, if
// one is near. Key is set instead when the address leaves out the
// instance key of a resource or module call with for_each or count: the
// resource is configured, the address lacks its key.
type NotConfiguredError struct {
	Address    string
	Suggestion string
	Key        *ModuleKeyError
}

func (e *NotConfiguredError) Error() string {
	if e.Key != nil {
		return fmt.Sprintf("cannot import to %s: %s", Visible(e.Address), e.Key)
	}
	did := ""
	if e.Suggestion != "" {
		did = fmt.Sprintf(" (did you mean %q?)", e.Suggestion)
	}
	return fmt.Sprintf("cannot import to %s: the configuration has no such resource instance%s", e.Address, did)
}

// ImportRecord is what import records for binding the identifier id, given
// by hand, to the configured instance at addr: the resource and its cache
// entry as an upload of its source file now would record them (file facts
// hashed now, the merchant's identity from merchants, UploadedAt now to
// the second). The file must meet its API's rules and id those of an
// identifier from a reply (uploader.CheckIdentifier); errors name the
// instance. An instance the configuration does not have is a
// *NotConfiguredError.
func ImportRecord(ev *schema.Evaluation, merchants map[string]MerchantIdentity, addr Address, id string, now time.Time) (state.Resource, state.CacheEntry, error) {
	known := make([]string, 0, len(ev.Instances))
	for _, in := range ev.Instances {
		known = append(known, in.Addr)
		if in.Addr != addr.String() {
			continue
		}
		spec := in.Resource.Spec
		res := HashFiles([]string{in.Path})[0]
		if err := res.Check(spec, in.Filename); err != nil {
			return state.Resource{}, state.CacheEntry{}, fmt.Errorf("cannot import %s: %s: %w", Visible(in.Addr), Visible(in.Source), err)
		}
		if err := uploader.CheckIdentifier(spec, id); err != nil {
			return state.Resource{}, state.CacheEntry{}, fmt.Errorf("cannot import %s: %w", in.Addr, err)
		}
		ident, ok := merchants[in.Merchant]
		if !ok {
			return state.Resource{}, state.CacheEntry{}, fmt.Errorf("cannot import %s: merchant %q is not usable", in.Addr, in.Merchant)
		}
		now = now.UTC().Truncate(time.Second)
		r := state.Resource{
			Address: in.Addr, Type: in.Resource.Type, Name: in.Resource.Name, Key: in.Key,
			Merchant: in.Merchant, MchID: ident.MchID, Service: ident.Service, API: string(spec.API),
			Source: in.Source, Filename: in.Filename, SHA256: res.SHA256(), Size: res.Size(), ID: id, UploadedAt: now,
		}
		return r, r.CacheEntry(), nil
	}
	if k := missingKey(addr, known); k != nil {
		return state.Resource{}, state.CacheEntry{}, &NotConfiguredError{Address: addr.String(), Key: k}
	}
	return state.Resource{}, state.CacheEntry{}, &NotConfiguredError{Address: addr.String(), Suggestion: suggest.Nearest(addr.String(), known)}
}

// missingKey returns the *ModuleKeyError for a when a names no instance of
// addrs (canonical instance addresses) only because it leaves out a key:
// the resource's own (wechatpay_image.banner where the instances are
// wechatpay_image.banner["a.png"]...) or a module call's; nil otherwise.
func missingKey(a Address, addrs []string) *ModuleKeyError {
	if a.HasKey || a.IsModule() {
		return missingModuleKey(a, addrs)
	}
	var found []string
	for _, addr := range addrs {
		if b, err := ParseAddress(addr); err == nil && b.HasKey && b.Resource() == a.Resource() {
			found = append(found, b.String())
		}
	}
	if len(found) == 0 {
		return missingModuleKey(a, addrs)
	}
	slices.SortFunc(found, CompareAddresses)
	e := &ModuleKeyError{Call: a.Resource()}
	if len(found) > maxModuleKeyExamples {
		e.More = len(found) - maxModuleKeyExamples
		found = found[:maxModuleKeyExamples]
	}
	e.Examples = found
	return e
}
