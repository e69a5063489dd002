// Package plan computes what an apply would do, as a pure value: it hashes
// and checks the configured source files, compares them with the state and
// the content-addressed cache, and decides one Action per resource instance.
// It never touches the network and never writes the state. Before any of
// that, CheckMerchants holds the merchant blocks to the rules of the uploads
// their resources make (credentials, key and certificate files). The human
// view of a plan (Render) lives here too; other views render the same value.
package plan

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unsafe"

	"github.com/hashicorp/hcl/v2"

	"github.com/wxmedia/wxmedia/internal/parallel"
	"github.com/wxmedia/wxmedia/schema"
	"github.com/wxmedia/wxmedia/state"
	"github.com/wxmedia/wxmedia/uploader"
)

// MerchantIdentity is what the plan needs to know of a merchant.
type MerchantIdentity struct {
	MchID string
	// Service is the cache service of the v3 APIs (endpoint); V2Service
	// that of the v2 API (v2_endpoint). They differ when, say, only one of
	// them points at a test server.
	Service   string
	V2Service string
}

// serviceFor picks the service of the API an instance uploads through.
func (m MerchantIdentity) serviceFor(spec uploader.Spec) string {
	if spec.Protocol == uploader.ProtocolV2 && m.V2Service != "" {
		return m.V2Service
	}
	return m.Service
}

// Input is everything a plan is computed from.
type Input struct {
	Eval *schema.Evaluation
	// State is the whole state; when nil, Fast gives what Make reads.
	State *state.Snapshot
	// Fast, when State is nil, is the state's head with a no-op index,
	// for the fast path (noopfast.go), and the whole state for when that
	// path does not apply.
	Fast *FastState
	// Cache looks up content-addressed cache entries (one read).
	Cache func([]state.CacheKey) (map[state.CacheKey]state.CacheEntry, error)
	// Merchants by merchant block name.
	Merchants map[string]MerchantIdentity
	// Targets, when not empty, limits the plan to these instance or
	// resource addresses (-target).
	Targets []string
	// Replace forces an upload for these instance or resource addresses
	// (-replace).
	Replace []string
	// Hash computes file facts; nil uses HashFiles.
	Hash func(paths []string) []FileResult
	// Files, when set, are the file facts of Eval.Instances, in their
	// order, already computed: a plan without -target takes them instead
	// of calling Hash.
	Files []FileResult
	// Version is the wxmedia version making the plan (Plan.Version).
	Version string
}

// Make computes the plan, complete: its changes and outputs, the version,
// the digest of the configuration's files, the variables (sensitive ones by
// name only) and the signature of its inputs under the state's plan key
// (see Sign; unsigned when the state has none yet). Diagnostics name the
// resource, the file and the rule for every source file that its API would
// refuse.
func Make(in Input) (*Plan, hcl.Diagnostics) {
	if in.State == nil && in.Fast != nil {
		return makeFast(in)
	}
	p, diags, _ := makeWith(in, nil)
	return p, diags
}

// makeWith is Make against the whole state (fast nil), or through the fast
// path, which reports false when it does not apply (see fastRun).
func makeWith(in Input, fast *fastRun) (*Plan, hcl.Diagnostics, bool) {
	var head stateHead
	// records are the state's records by address: all of them, or on the
	// fast path those read by address (nil until they are).
	var records map[string]state.Resource
	if fast != nil {
		h := fast.head
		head = stateHead{lineage: h.Lineage, serial: h.Serial, writeID: h.WriteID, recorded: h.Resources, outputs: h.Outputs, planKey: h.PlanKey}
	} else {
		head = stateHead{lineage: in.State.Lineage, serial: in.State.Serial, writeID: in.State.WriteID, recorded: len(in.State.Resources), outputs: in.State.Outputs, planKey: in.State.PlanKey}
		records = in.State.Resources
	}
	p := &Plan{Lineage: head.lineage, Serial: head.serial, writeID: head.writeID}
	targets, replace, diags := addressSets(in)
	if diags.HasErrors() {
		return nil, diags, true
	}
	p.Targets, p.Replace = canonical(in.Targets), canonical(in.Replace)
	insts := in.Eval.Instances
	if !targets.empty() {
		insts = nil
		for _, inst := range in.Eval.Instances {
			if targets.has(inst.Addr) {
				insts = append(insts, inst)
			}
		}
	}
	var changes []*ResourceChange
	files := in.Files
	if !targets.empty() || len(files) != len(insts) {
		paths := make([]string, len(insts))
		for i, inst := range insts {
			paths[i] = inst.Path
		}
		hash := in.Hash
		if hash == nil {
			hash = HashFiles
		}
		files = hash(paths)
	}

	// Each instance is decided in a scratch change of its worker's; a no-op
	// whose before and after are one object is then kept compact (see
	// changes.go), any other change is copied out in full.
	noOps := make([]noOp, len(insts))
	full := make([]*ResourceChange, len(insts))
	scratch := make([]decision, parallel.Workers(len(insts), parallelBlock))
	// pending are the changes that are not no-ops; matched counts the
	// configured instances that the state records.
	var pending []*ResourceChange
	matched := 0
	var lookups []state.CacheKey
	// Each instance is checked and decided on its own (on every core for
	// large plans); the results are then collected in order.
	outcomes := make([]instOutcome, len(insts))
	decide := func(i int, d *decision, cursor *hitCursor) {
		inst := insts[i]
		f := files[i]
		o := &outcomes[i]
		if f.Check(inst.Resource.Spec, inst.Filename) != nil {
			o.refused = true // the error is made again below
			return
		}
		mi := in.Merchants[inst.Merchant]
		c := &d.c
		*c = ResourceChange{
			Addr: inst.Addr, Type: inst.Resource.Type, Name: inst.Resource.Name, Key: inst.Key,
			Merchant: inst.Merchant, MchID: mi.MchID, Service: mi.serviceFor(inst.Resource.Spec), API: string(inst.Resource.Spec.API),
			Path: inst.Path,
		}
		if alt := f.Path(); alt != "" {
			c.Path = alt // stored under another normalisation form
		}
		after := &d.after
		// The hex SHA-256 in the worker's buffer: keep copies it when
		// the change is kept in full.
		*after = Object{Source: inst.Source, Filename: inst.Filename, SHA256: f.sumHex(&d.hex), Size: f.Size()}
		c.After = after
		c.Replace = replace.has(inst.Addr)
		if fast != nil && records == nil {
			// The index vouches for the record, or it is read below.
			if c.Replace || !fast.hit(i, cursor, inst, c) {
				o.miss = true
				return
			}
			o.hadPrior, o.noOp = true, true
		} else {
			prior, hadPrior := records[inst.Addr]
			decideRecorded(c, o, prior, hadPrior)
		}
		if keepCompact && f.sum() != nil && compactable(c, inst) {
			if n, ok := compactNoOp(inst, f, after); ok {
				noOps[i] = n
				return
			}
		}
		full[i] = d.keep()
	}
	parallel.For(len(insts), parallelBlock, func(w, lo, hi int) {
		cursor := hitCursor{entry: -1}
		for i := lo; i < hi; i++ {
			decide(i, &scratch[w], &cursor)
		}
	})
	if fast != nil {
		// The instances the index did not vouch for, decided against
		// their records read by address.
		recs, ok := fast.readMisses(insts, outcomes)
		if !ok {
			return nil, nil, false
		}
		if recs != nil {
			records = recs
			for _, i := range fast.misses {
				outcomes[i].miss = false
				decide(i, &scratch[0], nil)
				if noOps[i].inst != nil || full[i] != nil && indexed(full[i]) {
					fast.added++
				}
			}
		}
	}
	k := 0
	for i, inst := range insts {
		o := &outcomes[i]
		if o.refused {
			err := files[i].Check(inst.Resource.Spec, inst.Filename)
			// A refused file name (its characters, length or suffix) is
			// the filename argument's when one is given.
			subject := inst.SourceRange().Ptr()
			var re *uploader.RuleError
			if errors.As(err, &re) && inst.Resource.Filename != nil {
				switch re.Rule {
				case uploader.RuleFilename, uploader.RuleFilenameLength, uploader.RuleSuffix:
					subject = inst.Resource.Filename.Range().Ptr()
				}
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Source file refused",
				// The source and the error (which may name a path) come
				// from outside: a newline or tab in a file name must not
				// make a line of its own in the detail.
				Detail:  fmt.Sprintf("%s: %s: %s.%s", Visible(inst.Addr), Visible(inst.Source), Visible(err.Error()), suffixFix(re, inst)),
				Subject: subject,
			})
			continue
		}
		if o.hadPrior {
			matched++
		}
		c := full[i]
		if c == nil {
			// Compact: moved down over the slots of the changes kept in
			// full, in order.
			noOps[k] = noOps[i]
			k++
			continue
		}
		changes = append(changes, c)
		if o.noOp {
			continue
		}
		pending = append(pending, c)
		lookups = append(lookups, c.CacheKey())
	}
	clear(noOps[k:])
	noOps = noOps[:k:k]
	if diags.HasErrors() {
		// The outputs are checked too, every identifier unknown, so that
		// one run reports their mistakes with the files'.
		_, d := in.Eval.Outputs(nil)
		return nil, append(diags, d...), true
	}
	if fast != nil && matched != head.recorded {
		// Something to forget: the fast path, which has not read the
		// state's addresses, leaves it to the whole state.
		fast.skipped = "instances to forget"
		return nil, nil, false
	}

	cached := map[state.CacheKey]state.CacheEntry{}
	if len(lookups) > 0 && in.Cache != nil {
		var err error
		cached, err = in.Cache(lookups)
		if err != nil {
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read the content cache", Detail: err.Error()}}, true
		}
	}
	uploading := map[state.CacheKey]string{}
	for _, c := range pending {
		hadPrior := c.Before != nil
		switch {
		case !c.Replace && cached[c.CacheKey()].ID != "":
			e := cached[c.CacheKey()]
			c.Action = Reuse
			c.After.ID = e.ID
			c.After.UploadedAt = e.UploadedAt
		case uploading[c.CacheKey()] != "" && !c.Replace:
			c.Action = Reuse
			c.ReuseOf = uploading[c.CacheKey()]
		default:
			if hadPrior {
				c.Action = Reupload
			} else {
				c.Action = Upload
			}
			if uploading[c.CacheKey()] == "" {
				uploading[c.CacheKey()] = c.Addr
			} else {
				// -replace of identical bytes: upload once, bind the rest.
				c.Action = Reuse
				c.ReuseOf = uploading[c.CacheKey()]
			}
		}
	}
	// Instances in state but no longer configured are forgotten. Addresses
	// are unique, so when every state address was matched by a configured
	// instance (and nothing is targeted) there is nothing to forget.
	var inConfig map[string]bool
	if !targets.empty() || matched != head.recorded || len(in.Eval.Config.Outputs) > 0 {
		inConfig = make(map[string]bool, len(in.Eval.Instances))
		for _, inst := range in.Eval.Instances {
			inConfig[inst.Addr] = true
		}
	}
	if !targets.empty() || matched != head.recorded {
		configured := make(map[string]bool, len(changes)+len(noOps))
		for _, c := range changes {
			configured[c.Addr] = true
		}
		for i := range noOps {
			configured[noOps[i].inst.Addr] = true
		}
		for addr, r := range records {
			if configured[addr] || !targets.empty() && !targets.has(addr) {
				continue
			}
			if inConfig[addr] {
				continue // configured, but not targeted
			}
			changes = append(changes, &ResourceChange{
				Addr: addr, Type: r.Type, Name: r.Name, Key: r.Key, Merchant: r.Merchant, MchID: r.MchID,
				Service: r.Service, API: r.API, Action: Forget, Before: objectOf(r),
			})
		}
	}
	byAddr := func(a, b *ResourceChange) int { return strings.Compare(a.Addr, b.Addr) }
	if !slices.IsSortedFunc(changes, byAddr) {
		slices.SortFunc(changes, byAddr)
	}
	noOpByAddr := func(a, b noOp) int { return strings.Compare(a.inst.Addr, b.inst.Addr) }
	if !slices.IsSortedFunc(noOps, noOpByAddr) {
		slices.SortFunc(noOps, noOpByAddr)
	}
	p.full, p.noOps, p.merchants = changes, noOps, in.Merchants
	p.Summary.NoOp = len(noOps)
	for _, c := range changes {
		switch c.Action {
		case NoOp:
			p.Summary.NoOp++
		case Upload:
			p.Summary.Upload++
			p.Summary.UploadBytes += c.After.Size
		case Reupload:
			p.Summary.Reupload++
			p.Summary.UploadBytes += c.After.Size
			p.Summary.ReuploadBytes += c.After.Size
		case Reuse:
			p.Summary.Reuse++
		case Forget:
			p.Summary.Forget++
		}
	}

	// Instances left out by -target keep their recorded values.
	// Outputs: instance values are only needed when there are outputs.
	var values map[string]schema.InstanceValue
	if len(in.Eval.Config.Outputs) > 0 {
		values = p.InstanceValues()
	}
	if fast != nil {
		records = nil // the fast path has no targets
	}
	for addr, r := range records {
		if values == nil {
			break
		}
		if _, planned := values[addr]; !planned && inConfig[addr] {
			values[addr] = schema.InstanceValue{ID: r.ID, SHA256: r.SHA256, Size: r.Size, Filename: r.Filename, Source: r.Source, UploadedAt: r.UploadedAt}
		}
	}
	outs, d := in.Eval.Outputs(values)
	diags = append(diags, d...)
	if d.HasErrors() {
		return nil, diags, true
	}
	if len(p.Targets) > 0 {
		keepOutsideTargets(in, values, outs)
	}
	oc, err := OutputChanges(outs, head.outputs)
	if err != nil {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot encode output", Detail: err.Error()}), true
	}
	p.Outputs = oc
	p.Version = in.Version
	if p.Config, err = DigestConfig(in.Eval.Config); err != nil {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot digest the configuration", Detail: err.Error()}), true
	}
	if p.Variables, err = RecordVariables(in.Eval); err != nil {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot record the variables", Detail: err.Error()}), true
	}
	p.Sign(head.planKey)
	return p, diags, true
}

// stateHead is what a plan takes from the state besides its records.
type stateHead struct {
	lineage string
	serial  uint64
	writeID string
	// recorded is the number of resource instances the state records.
	recorded int
	outputs  map[string]state.Output
	planKey  []byte
}

// decideRecorded decides c, whose planned object is set, against the
// state's record of its address (prior; hadPrior false when there is
// none): unchanged content is a no-op; otherwise the cache decides between
// reuse and upload (see Make).
func decideRecorded(c *ResourceChange, o *instOutcome, prior state.Resource, hadPrior bool) {
	o.hadPrior = hadPrior
	after := c.After
	if !c.Replace && c.unchanged(prior) {
		c.Action = NoOp
		o.noOp = true
		// The same recorded string, not a second copy of it.
		after.SHA256 = prior.SHA256
		after.ID = prior.ID
		after.UploadedAt = prior.UploadedAt
		if prior.Source == after.Source && prior.Filename == after.Filename && prior.Size == after.Size {
			// Nothing differs: one object serves as both.
			after.Source, after.Filename = prior.Source, prior.Filename
			c.Before = after
		} else {
			c.Before = objectOf(prior)
		}
	} else if hadPrior {
		c.Before = objectOf(prior)
	}
}

// addressSets parses and checks the -target and -replace addresses.
func addressSets(in Input) (targets, replace *addressSet, diags hcl.Diagnostics) {
	if len(in.Targets)+len(in.Replace) == 0 {
		return nil, nil, nil
	}
	configured := make(map[string]bool, len(in.Eval.Instances))
	for _, inst := range in.Eval.Instances {
		configured[inst.Addr] = true
	}
	declared := map[string]bool{}
	for _, r := range in.Eval.Config.Resources {
		declared[r.Addr()] = true
	}
	var recorded map[string]state.Resource
	if in.State != nil { // nil on the fast path, which has no targets
		recorded = in.State.Resources
	}
	known := make(map[string]bool, len(configured)+len(recorded))
	for a := range configured {
		known[a] = true
	}
	for a := range recorded {
		known[a] = true
	}
	fail := func(flag string, err error) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Invalid -%s address", flag),
			Detail:   err.Error(),
		})
	}
	var err error
	if targets, err = parseAddresses("target", "the configuration or the state", in.Targets, known, declared, true); err != nil {
		fail("target", err)
	}
	// Only what is configured can be uploaded again.
	if replace, err = parseAddresses("replace", "the configuration", in.Replace, configured, declared, false); err != nil {
		fail("replace", err)
	}
	return targets, replace, diags
}

// canonical returns the canonical forms of valid addresses, sorted.
func canonical(addrs []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range addrs {
		a, err := ParseTarget(s)
		if err != nil || seen[a.String()] {
			continue
		}
		seen[a.String()] = true
		out = append(out, a.String())
	}
	sort.Strings(out)
	return out
}

// unchanged reports whether the instance's recorded upload still stands:
// same bytes, same merchant, same service and API.
func (c *ResourceChange) unchanged(prior state.Resource) bool {
	return prior.ID != "" && prior.SHA256 == c.After.SHA256 && prior.MchID == c.MchID &&
		sameService(prior.Service, c.Service) && prior.API == c.API
}

// sameService compares a recorded service with a planned one; a record
// written before services were canonical holds the endpoint as written.
func sameService(recorded, planned string) bool {
	return recorded == planned || strings.Contains(recorded, "://") && uploader.Service(recorded) == planned
}

func objectOf(r state.Resource) *Object {
	return &Object{Source: r.Source, Filename: r.Filename, SHA256: r.SHA256, Size: r.Size, ID: r.ID, UploadedAt: r.UploadedAt}
}

// instOutcome is what deciding one instance's change found, in 4 bytes:
// a plan holds one per instance while it decides.
type instOutcome struct {
	// refused is set when the instance's file breaks its API's rules:
	// FileResult.Check says which, again, when the plan reports it.
	refused  bool
	hadPrior bool
	noOp     bool
	// miss is set on the fast path for an instance left to its record.
	miss bool
}

// parallelBlock is how many instances a worker takes at a time; plans
// with fewer instances are decided on one goroutine.
const parallelBlock = 1024

// keepCompact is off only in tests, which compare the plans made with
// every change kept in full (the plain representation) with the compact
// ones.
var keepCompact = true

// decision is where a worker decides one instance's change: a change and
// its planned object, copied out by keep when the change is kept in full,
// and the planned SHA-256 in hex.
type decision struct {
	c     ResourceChange
	after Object
	hex   [2 * sha256.Size]byte
}

// keep returns a copy of d's change, and of its planned object, that
// outlives d: the change kept in full.
func (d *decision) keep() *ResourceChange {
	k := &struct {
		c     ResourceChange
		after Object
	}{c: d.c, after: d.after}
	k.c.After = &k.after
	if d.c.Before == &d.after {
		k.c.Before = &k.after
	}
	if unsafe.StringData(k.after.SHA256) == &d.hex[0] {
		k.after.SHA256 = strings.Clone(k.after.SHA256)
	}
	return &k.c
}
