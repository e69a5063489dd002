package plan

import (
	"encoding/hex"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/wxmedia/wxmedia/schema"
)

// A plan keeps most of its changes compact. A no-op whose before and after
// are one object (nothing differs: the usual change of a large plan) is a
// noOp: its instance, from the evaluation the plan was made from, and what
// the state recorded for it. Every other change is a ResourceChange kept in
// full. Changes yields both kinds as ResourceChanges, in address order;
// Detailed gives the ones kept in full, which are every change that apply
// acts on or the human views list.

// noOp is a no-op kept compact: the change is the instance's, with its
// merchant's identity, and before and after are the same Object.
type noOp struct {
	inst *schema.Instance
	// file is what hashing found (for a file the stat cache vouched for,
	// the entry in the cache's bytes): the size and SHA-256 recorded.
	file *byte
	id   string
	// uploadedAt is the upload time in nanoseconds since 1970, UTC.
	uploadedAt int64
}

// compactNoOp returns the no-op of inst, whose file is f and whose before
// and after are after; false when after's size is not f's or its upload
// time does not survive the round trip through nanoseconds (then it is
// kept in full).
func compactNoOp(inst *schema.Instance, f FileResult, after *Object) (noOp, bool) {
	ns := after.UploadedAt.UnixNano()
	if after.Size != f.Size() || time.Unix(0, ns).UTC() != after.UploadedAt {
		return noOp{}, false
	}
	return noOp{inst: inst, file: f.rec, id: after.ID, uploadedAt: ns}, true
}

// materialise builds n into c and o, as Make would have built it in full.
func (p *Plan) materialise(n *noOp, c *ResourceChange, o *Object) {
	inst := n.inst
	mi := p.merchants[inst.Merchant]
	f := FileResult{rec: n.file}
	*o = Object{Source: inst.Source, Filename: inst.Filename, SHA256: hex.EncodeToString(f.sum()[:]), Size: f.Size(), ID: n.id, UploadedAt: time.Unix(0, n.uploadedAt).UTC()}
	*c = ResourceChange{
		Addr: inst.Addr, Type: inst.Resource.Type, Name: inst.Resource.Name, Key: inst.Key,
		Merchant: inst.Merchant, MchID: mi.MchID, Service: mi.serviceFor(inst.Resource.Spec), API: string(inst.Resource.Spec.API),
		Action: NoOp, Before: o, After: o, Path: inst.Path,
	}
}

// compactable reports whether c, decided for inst, is a no-op that
// materialise gives back as it is.
func compactable(c *ResourceChange, inst *schema.Instance) bool {
	return c.Action == NoOp && c.Before == c.After && c.After != nil && !c.Replace && c.ReuseOf == "" &&
		c.Path == inst.Path && c.After.Source == inst.Source && c.After.Filename == inst.Filename
}

// NumChanges is the number of changes: one per instance in config or
// state.
func (p *Plan) NumChanges() int { return len(p.full) + len(p.noOps) }

// Detailed returns the changes kept in full, in address order: every
// change but the no-ops whose before and after are one object. Every
// upload, re-upload, reuse and forget is among them, and every no-op that
// records something new (a renamed file). The slice is the plan's own.
func (p *Plan) Detailed() []*ResourceChange { return p.full }

// SetChanges sets the plan's changes, all kept in full, in the order
// given (a plan lists them in address order).
func (p *Plan) SetChanges(changes []*ResourceChange) {
	p.full, p.noOps = changes, nil
}

// Changes yields every change of the plan in address order (the order
// of Detailed, the compact no-ops among them). A compact no-op is
// materialised anew for each yield: the caller may keep it.
func (p *Plan) Changes() iter.Seq[*ResourceChange] {
	return func(yield func(*ResourceChange) bool) {
		p.each(false, yield)
	}
}

// changeRef is one change of a plan: kept in full, or compact.
type changeRef struct {
	full *ResourceChange
	noOp *noOp
}

func (r changeRef) addr() string {
	if r.full != nil {
		return r.full.Addr
	}
	return r.noOp.inst.Addr
}

// refs yields every change of p in address order, as it is kept.
func (p *Plan) refs(yield func(changeRef) bool) {
	full, noOps := p.full, p.noOps
	for len(full) > 0 || len(noOps) > 0 {
		var r changeRef
		if len(noOps) == 0 || len(full) > 0 && strings.Compare(full[0].Addr, noOps[0].inst.Addr) < 0 {
			r, full = changeRef{full: full[0]}, full[1:]
		} else {
			r, noOps = changeRef{noOp: &noOps[0]}, noOps[1:]
		}
		if !yield(r) {
			return
		}
	}
}

// each yields every change in address order. With reuse, a compact no-op
// is materialised into the same storage each time: the change yielded is
// valid only until the next one, for callers that encode it at once.
func (p *Plan) each(reuse bool, yield func(*ResourceChange) bool) {
	p.refs(p.materialising(reuse, yield))
}

// materialising turns a yield of changes into a yield of changeRefs (see
// each for reuse).
func (p *Plan) materialising(reuse bool, yield func(*ResourceChange) bool) func(changeRef) bool {
	var buf struct {
		c ResourceChange
		o Object
	}
	return func(r changeRef) bool {
		if r.full != nil {
			return yield(r.full)
		}
		c, o := &buf.c, &buf.o
		if !reuse {
			c, o = new(ResourceChange), new(Object)
		}
		p.materialise(r.noOp, c, o)
		return yield(c)
	}
}

// eachInModuleOrder yields every change as every view lists them:
// grouped by module instance, root module first (see byModule), in
// address order within a group; reuse as for each.
func (p *Plan) eachInModuleOrder(reuse bool, yield func(*ResourceChange) bool) {
	inModule := slices.ContainsFunc(p.full, func(c *ResourceChange) bool { return strings.HasPrefix(c.Addr, "module.") }) ||
		slices.ContainsFunc(p.noOps, func(n noOp) bool { return strings.HasPrefix(n.inst.Addr, "module.") })
	if !inModule {
		p.each(reuse, yield)
		return
	}
	y := p.materialising(reuse, yield)
	for _, g := range byModule(p.refs, changeRef.addr) {
		for _, r := range g.Items {
			if !y(r) {
				return
			}
		}
	}
}
