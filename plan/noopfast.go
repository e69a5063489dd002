package plan

import (
	"slices"

	"github.com/hashicorp/hcl/v2"

	"github.com/wxmedia/wxmedia/schema"
	"github.com/wxmedia/wxmedia/state"
)

// The fast path of a plan: with the state's head and a no-op index made
// for exactly that state (same backend, lineage and serial), an instance
// whose digest the index holds is a no-op built from the instance, its
// file and the index's identifier and upload time, without reading its
// record; the other instances' records are read by address, in one read,
// and decided as on the plain path. When the instances matched and found
// do not add up to the state's count (something to forget), the records
// were read at another serial, or too few instances are vouched for to
// save work, the plan is made against the whole state instead. Either way
// the Plan is the same value; the plain path is the reference.

// FastState is what the fast path reads.
type FastState struct {
	// Backend names the state's backend as NoopState.Backend does.
	Backend string
	// Head is the state's head; Index the no-op index loaded (nil when
	// none, then the fast path does not apply).
	Head  *state.Head
	Index *NoopIndex
	// Read reads the records at addrs in one read transaction, with its
	// serial (state.PointReader.ReadResources).
	Read func(addrs []string) (map[string]state.Resource, uint64, error)
	// Snapshot reads the whole state, for the plain path.
	Snapshot func() (*state.Snapshot, error)
	// Took is set by Make when the fast path made the plan; Indexed is
	// then the number of no-ops the index vouched for, ReadByAddress the
	// number of records read by address.
	Took                   bool
	Indexed, ReadByAddress int
	// Skipped says, when it was not taken, why; for logs.
	Skipped string
	// Err is the error of Snapshot when Make could not read the state;
	// Make then returns a diagnostic that says so.
	Err error
}

// usable says why the fast path cannot serve in, "" when it can.
func (f *FastState) usable(in Input) string {
	switch {
	case len(in.Targets) > 0:
		return "-target"
	case f.Index == nil || f.Head == nil || f.Read == nil:
		return "no no-op index"
	case f.Head.Lineage == "" || f.Head.WriteID == "" || f.Index.state != NoopState{Backend: f.Backend, Lineage: f.Head.Lineage, WriteID: f.Head.WriteID, Serial: f.Head.Serial}:
		return "the no-op index is of another state, serial or write"
	}
	return ""
}

// makeFast makes the plan through the fast path when it applies, and
// against the whole state otherwise, hashing the files once either way.
func makeFast(in Input) (*Plan, hcl.Diagnostics) {
	f := in.Fast
	f.Took, f.Err = false, nil
	if f.Skipped = f.usable(in); f.Skipped == "" {
		hash := in.Hash
		if hash == nil {
			hash = HashFiles
		}
		var paths []string
		var files []FileResult
		in.Hash = func(p []string) []FileResult {
			if files == nil || !slices.Equal(p, paths) {
				paths, files = p, hash(p)
			}
			return files
		}
		run := &fastRun{head: f.Head, index: f.Index, read: f.Read, hits: make([]bool, f.Index.Len())}
		f.Index.hit, f.Index.current = nil, false
		p, diags, ok := makeWith(in, run)
		if ok {
			f.Took, f.ReadByAddress = true, len(run.misses)
			f.Indexed = 0
			for _, h := range run.hits {
				if h {
					f.Indexed++
				}
			}
			f.Index.hit = run.hits
			f.Index.current = p != nil && run.current()
			return p, diags
		}
		f.Skipped = run.skipped
	}
	snap, err := f.Snapshot()
	if err != nil {
		f.Err = err
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read the state", Detail: err.Error()}}
	}
	in.State, in.Fast = snap, nil
	p, diags, _ := makeWith(in, nil)
	return p, diags
}

// fastRun is one plan's fast path.
type fastRun struct {
	head  *state.Head
	index *NoopIndex
	read  func(addrs []string) (map[string]state.Resource, uint64, error)
	// hits marks the index entries taken, by number; each instance
	// marks its own, so that no two goroutines write one.
	hits []bool
	// misses are the instances left to their records, by number, and
	// added how many of them came out as new index entries.
	misses  []int
	added   int
	skipped string
}

// hitCursor is what one worker remembers from instance to instance: the
// entry of its last hit (-1 for none), as the entries follow the
// instances' order apart from a few, and the digest of the fields the
// instances of one resource and merchant share (noopShared).
type hitCursor struct {
	entry    int
	res      *schema.Resource
	merchant string
	shared   [digestSize]byte
}

// hit decides c, planned for inst (the i-th instance), as a no-op when the
// index holds its address with its digest, and reports whether it did.
func (r *fastRun) hit(i int, cur *hitCursor, inst *schema.Instance, c *ResourceChange) bool {
	if cur.res != inst.Resource || cur.merchant != inst.Merchant {
		cur.res, cur.merchant, cur.shared = inst.Resource, inst.Merchant, noopShared(c)
	}
	d := noopDigestWith(&cur.shared, c)
	x := r.index
	hint := i
	if cur.entry >= 0 {
		hint = cur.entry + 1
	}
	n := x.match(hint, c.Addr, &d)
	if n < 0 {
		return false
	}
	cur.entry = n
	r.hits[n] = true
	after := c.After
	after.ID, after.UploadedAt = x.recorded(n)
	c.Action = NoOp
	// Nothing differs: one object serves as both.
	c.Before = after
	return true
}

// maxMisses is the share of the recorded instances, beyond a floor, that
// may be read by address: reading more is no cheaper than reading all.
const (
	maxMissesFloor = 1024
	maxMissesShare = 4
)

// readMisses reads, in one read, the records of the instances the index
// did not vouch for (misses, by number) and returns them by address; nil
// when there are none to read. It reports false when the fast path does
// not apply after all.
func (r *fastRun) readMisses(insts []*schema.Instance, outcomes []instOutcome) (map[string]state.Resource, bool) {
	var addrs []string
	for i := range outcomes {
		if outcomes[i].miss {
			r.misses = append(r.misses, i)
			addrs = append(addrs, insts[i].Addr)
		}
	}
	if len(addrs) == 0 {
		return nil, true
	}
	if len(addrs) > maxMissesFloor && len(addrs) > r.head.Resources/maxMissesShare {
		r.skipped = "too many instances not in the no-op index"
		return nil, false
	}
	recs, serial, err := r.read(addrs)
	if err != nil {
		r.skipped = "reading by address: " + err.Error()
		return nil, false
	}
	if serial != r.head.Serial {
		r.skipped = "the state changed while it was read"
		return nil, false
	}
	if recs == nil {
		recs = map[string]state.Resource{}
	}
	return recs, true
}

// current reports whether the index already serves the plan: none to
// add. An entry the plan did not take (an edited file, an instance no
// longer configured) is not dropped by writing the file again: it still
// says what the state records, and its digest no longer matching is all
// the fast path needs to read that record by address.
func (r *fastRun) current() bool {
	return r.added == 0
}
