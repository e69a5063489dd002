package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wxmedia/wxmedia/schema"
	"github.com/wxmedia/wxmedia/state"
)

// diffState is a state as the differential tests keep it: the snapshot,
// and the content cache.
type diffCase struct {
	t         *testing.T
	dir       string
	index     string
	backend   string
	snap      *state.Snapshot
	cache     map[state.CacheKey]state.CacheEntry
	merchants map[string]MerchantIdentity
	// readSerial, when set, is the serial point reads report.
	readSerial func() uint64
	reads      int
}

const diffConfig = cfg + `output "one" {
  value = wechatpay_image.img["f07.png"].uploaded_at
}
`

// newDiffCase is a configuration of n files, all recorded in the state as
// an apply leaves them, with its outputs.
func newDiffCase(t *testing.T, n int) *diffCase {
	dir := t.TempDir()
	d := &diffCase{t: t, dir: dir, index: filepath.Join(dir, ".wxmedia", "noopindex"), backend: "local:" + dir + "/.wxmedia/state.db",
		snap:      &state.Snapshot{Lineage: "L1", Serial: 7, WriteID: "0123456789abcdef0123456789abcdef", Resources: map[string]state.Resource{}, Outputs: map[string]state.Output{}, PlanKey: []byte("0123456789abcdef0123456789abcdef")},
		cache:     map[state.CacheKey]state.CacheEntry{},
		merchants: map[string]MerchantIdentity{"m": {MchID: "1900000001", Service: "sandbox-x"}},
	}
	d.write("main.wxm.hcl", []byte(diffConfig))
	for i := range n {
		name := fmt.Sprintf("f%02d.png", i)
		b := pngBytes(name)
		d.write("a/"+name, b)
		d.record(fmt.Sprintf("wechatpay_image.img[%q]", name), "a/"+name, b, "ID-"+name, time.Date(2026, 1, 2, 3, 4, 5, i*1000+7, time.UTC))
	}
	// The outputs as the apply recorded them.
	ev := d.input(Input{}).Eval
	vals := map[string]schema.InstanceValue{}
	for a, r := range d.snap.Resources {
		vals[a] = schema.InstanceValue{ID: r.ID, SHA256: r.SHA256, Size: r.Size, Filename: r.Filename, Source: r.Source, UploadedAt: r.UploadedAt}
	}
	outs, diags := ev.Outputs(vals)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for name, v := range outs {
		o, err := EncodeOutput(v)
		if err != nil {
			t.Fatal(err)
		}
		d.snap.Outputs[name] = o
	}
	if p := d.plain(Input{}); p.HasChanges() {
		t.Fatalf("the state as applied plans changes: %+v %+v", p.Summary, p.Outputs)
	}
	return d
}

func (d *diffCase) write(name string, b []byte) {
	p := filepath.Join(d.dir, name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		d.t.Fatal(err)
	}
}

// record records addr as uploaded from source with content b, and its
// cache entry; the serial goes up as a write's does.
func (d *diffCase) record(addr, source string, b []byte, id string, at time.Time) {
	k := state.CacheKey{Service: "sandbox-x", MchID: "1900000001", API: "merchant_media_image", SHA256: sum(b)}
	d.snap.Resources[addr] = state.Resource{Address: addr, Type: "wechatpay_image", Name: "img", Key: strings.TrimSuffix(strings.TrimPrefix(addr, `wechatpay_image.img["`), `"]`),
		Merchant: "m", MchID: k.MchID, Service: k.Service, API: k.API, Source: source, Filename: filepath.Base(source), SHA256: k.SHA256, Size: int64(len(b)), ID: id, UploadedAt: at}
	d.cache[k] = state.CacheEntry{CacheKey: k, ID: id, Size: int64(len(b)), UploadedAt: at}
	d.snap.Serial++
}

func (d *diffCase) input(in Input) Input {
	in.Eval, in.Merchants, in.Version = mustEval(d.t, d.dir), d.merchants, "1.2.3"
	in.Cache = lookupIn(d.cache)
	return in
}

// plain plans against the whole state: the reference.
func (d *diffCase) plain(in Input) *Plan {
	in = d.input(in)
	in.State = d.copyState()
	p, diags := Make(in)
	if diags.HasErrors() {
		d.t.Fatal(diags)
	}
	return p
}

// copyState is the state as a read gives it, apart from the test's own.
func (d *diffCase) copyState() *state.Snapshot {
	s := *d.snap
	s.Resources, s.Outputs = maps.Clone(d.snap.Resources), maps.Clone(d.snap.Outputs)
	return &s
}

// fast plans through the fast path with the index at d.index, which it
// then saves as plan does; took reports whether the fast path served.
func (d *diffCase) fast(in Input) (p *Plan, took bool, why string) {
	in = d.input(in)
	x, _ := LoadNoopIndex(d.index)
	snap := d.copyState()
	fs := &FastState{Backend: d.backend, Index: x,
		Head: &state.Head{Lineage: snap.Lineage, Serial: snap.Serial, WriteID: snap.WriteID, Resources: len(snap.Resources), Outputs: snap.Outputs, PlanKey: snap.PlanKey},
		Read: func(addrs []string) (map[string]state.Resource, uint64, error) {
			d.reads++
			out := map[string]state.Resource{}
			for _, a := range addrs {
				if r, ok := snap.Resources[a]; ok {
					out[a] = r
				}
			}
			serial := snap.Serial
			if d.readSerial != nil {
				serial = d.readSerial()
			}
			return out, serial, nil
		},
		Snapshot: func() (*state.Snapshot, error) { return snap, nil },
	}
	in.Fast = fs
	p, diags := Make(in)
	if diags.HasErrors() {
		d.t.Fatal(diags)
	}
	if err := SaveNoopIndex(d.index, d.state(), p, x); err != nil {
		d.t.Fatal(err)
	}
	return p, fs.Took, fs.Skipped
}

func (d *diffCase) state() NoopState {
	return NoopState{Backend: d.backend, Lineage: d.snap.Lineage, WriteID: d.snap.WriteID, Serial: d.snap.Serial}
}

// save writes the index a plain plan gives.
func (d *diffCase) save() {
	p := d.plain(Input{})
	if err := SaveNoopIndex(d.index, d.state(), p, nil); err != nil {
		d.t.Fatal(err)
	}
}

// same plans both ways and fails unless the plans are the same value.
func (d *diffCase) same(in Input, wantFast bool) *Plan {
	d.t.Helper()
	want := d.plain(in)
	got, took, why := d.fast(in)
	if err := samePlan(got, want); err != nil {
		d.t.Fatalf("fast plan differs from the plain one: %v", err)
	}
	if took != wantFast {
		d.t.Fatalf("fast path taken: %v (%s), want %v", took, why, wantFast)
	}
	return got
}

func TestFastPlanSameAsPlain(t *testing.T) {
	const n = 12
	f07 := `wechatpay_image.img["f07.png"]`
	cases := []struct {
		name string
		// change changes the configuration, files, state or index after
		// the index was saved; in is the plan's input.
		change   func(d *diffCase)
		in       Input
		wantFast bool
		actions  string
	}{
		{name: "no change", change: func(d *diffCase) {}, wantFast: true, actions: "noop=12"},
		{name: "edited files", change: func(d *diffCase) {
			d.write("a/f03.png", pngBytes("edited 3"))
			d.write("a/f07.png", pngBytes("edited 7"))
		}, wantFast: true, actions: "noop=10 reupload=2"},
		{name: "edited to bytes already uploaded", change: func(d *diffCase) {
			d.write("a/f03.png", pngBytes("f04.png"))
		}, wantFast: true, actions: "noop=11 reuse=1"},
		{name: "new files", change: func(d *diffCase) {
			d.write("a/g1.png", pngBytes("new"))
			d.write("a/g2.png", pngBytes("f02.png"))
		}, wantFast: true, actions: "noop=12 reuse=1 upload=1"},
		{name: "removed files", change: func(d *diffCase) {
			os.Remove(filepath.Join(d.dir, "a/f05.png"))
		}, wantFast: false, actions: "forget=1 noop=11"},
		{name: "removed and added as many", change: func(d *diffCase) {
			os.Remove(filepath.Join(d.dir, "a/f05.png"))
			d.write("a/g1.png", pngBytes("new"))
		}, wantFast: false, actions: "forget=1 noop=11 upload=1"},
		{name: "removed from the state", change: func(d *diffCase) {
			delete(d.snap.Resources, f07)
			d.snap.Serial++
		}, wantFast: false, actions: "noop=11 reuse=1"},
		{name: "moved in the state", change: func(d *diffCase) {
			r := d.snap.Resources[f07]
			delete(d.snap.Resources, f07)
			r.Address = `wechatpay_image.img["zz.png"]`
			d.snap.Resources[r.Address] = r
			d.snap.Serial++
		}, wantFast: false, actions: "forget=1 noop=11 reuse=1"},
		{name: "same bytes under another source", change: func(d *diffCase) {
			r := d.snap.Resources[f07]
			r.Source, r.Filename = "old/f07.png", "old.png"
			d.snap.Resources[f07] = r
			d.snap.Serial++
			d.save()
		}, wantFast: true, actions: "noop=12"},
		{name: "renamed source, same bytes", change: func(d *diffCase) {
			d.write("main.wxm.hcl", []byte(strings.Replace(diffConfig, `source   = "a/${each.value}"`, "source   = \"a/${each.value}\"\n  filename = \"x-${each.value}\"", 1)))
		}, wantFast: true, actions: "noop=12"},
		{name: "changed mchid", change: func(d *diffCase) {
			d.merchants["m"] = MerchantIdentity{MchID: "1900000002", Service: "sandbox-x"}
		}, wantFast: true, actions: "reupload=12"},
		{name: "renamed merchant, same mchid", change: func(d *diffCase) {
			d.write("main.wxm.hcl", []byte(strings.Replace(strings.Replace(diffConfig, `merchant "m" {`, `merchant "shop" {`, 1), "source   = \"a/${each.value}\"", "source   = \"a/${each.value}\"\n  merchant = merchant.shop", 1)))
			d.merchants = map[string]MerchantIdentity{"shop": d.merchants["m"]}
		}, wantFast: true, actions: "noop=12"},
		{name: "changed endpoint", change: func(d *diffCase) {
			d.merchants["m"] = MerchantIdentity{MchID: "1900000001", Service: "https://pay.example.test"}
		}, wantFast: true, actions: "reupload=12"},
		{name: "replace", change: func(d *diffCase) {}, in: Input{Replace: []string{f07}}, wantFast: true, actions: "noop=11 reupload=1"},
		{name: "target", change: func(d *diffCase) {}, in: Input{Targets: []string{f07}}, wantFast: false, actions: "noop=1"},
		{name: "another apply", change: func(d *diffCase) {
			// Recorded anew (another ID) by an apply elsewhere.
			d.record(f07, "a/f07.png", pngBytes("f07.png"), "ID-new", time.Date(2026, 2, 2, 3, 4, 5, 0, time.UTC))
		}, wantFast: false, actions: "noop=12"},
		{name: "same lineage and serial, another write", change: func(d *diffCase) {
			// Another working copy of the project applied edits of f03
			// and f07 from the state both had: its state, at the same
			// serial, replaced this one (a state file copied over this
			// one, a backup pushed back and written again). Only the
			// write identifier tells the two states apart.
			d.record(`wechatpay_image.img["f03.png"]`, "a/f03.png", pngBytes("other 3"), "ID-other-3", time.Date(2026, 2, 2, 3, 4, 5, 0, time.UTC))
			d.record(f07, "a/f07.png", pngBytes("other 7"), "ID-other-7", time.Date(2026, 2, 2, 3, 4, 5, 0, time.UTC))
			d.snap.Serial -= 2
			d.snap.WriteID = "fedcba9876543210fedcba9876543210"
			// The bytes of f03 here were never uploaded for this merchant
			// as far as the cache knows.
			delete(d.cache, state.CacheKey{Service: "sandbox-x", MchID: "1900000001", API: "merchant_media_image", SHA256: sum(pngBytes("f03.png"))})
		}, wantFast: false, actions: "noop=10 reupload=1 reuse=1"},
		{name: "state without a write identifier", change: func(d *diffCase) {
			d.snap.WriteID = ""
		}, wantFast: false, actions: "noop=12"},
		{name: "index of another lineage", change: func(d *diffCase) {
			d.snap.Lineage = "L2"
		}, wantFast: false, actions: "noop=12"},
		{name: "index of another backend", change: func(d *diffCase) {
			d.backend = "postgres:db.example.test:5432/wx/wxmedia"
		}, wantFast: false, actions: "noop=12"},
		{name: "damaged index", change: func(d *diffCase) {
			b, _ := os.ReadFile(d.index)
			b[len(b)/2] ^= 0x10
			os.WriteFile(d.index, b, 0o600)
		}, wantFast: false, actions: "noop=12"},
		{name: "truncated index", change: func(d *diffCase) {
			b, _ := os.ReadFile(d.index)
			os.WriteFile(d.index, b[:len(b)-9], 0o600)
		}, wantFast: false, actions: "noop=12"},
		{name: "index of another version", change: func(d *diffCase) {
			b, _ := os.ReadFile(d.index)
			os.WriteFile(d.index, append([]byte("wxmedia-noopindex-1\n"), b[len(noopIndexMagic):]...), 0o600)
		}, wantFast: false, actions: "noop=12"},
		{name: "no index", change: func(d *diffCase) { os.Remove(d.index) }, wantFast: false, actions: "noop=12"},
		{name: "records read at another serial", change: func(d *diffCase) {
			d.write("a/f03.png", pngBytes("edited 3"))
			d.readSerial = func() uint64 { return d.snap.Serial + 1 }
		}, wantFast: false, actions: "noop=11 reupload=1"},
		{name: "outputs changed", change: func(d *diffCase) {
			d.snap.Outputs["ids"] = state.Output{Value: json.RawMessage(`{}`)}
		}, wantFast: true, actions: "noop=12"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newDiffCase(t, n)
			d.save()
			tc.change(d)
			p := d.same(tc.in, tc.wantFast)
			if got := summaryString(p); got != tc.actions {
				t.Errorf("actions %s, want %s", got, tc.actions)
			}
			// The index the plan saved serves the next plan of the same
			// state and files, unless that state has no write identifier.
			if len(tc.in.Targets) == 0 && d.readSerial == nil {
				d.same(tc.in, p.Summary.Forget == 0 && d.snap.WriteID != "")
			}
		})
	}
}

// A no-change plan through the index reads no record.
func TestFastPlanReadsNoRecord(t *testing.T) {
	d := newDiffCase(t, 30)
	d.save()
	before, _ := os.Stat(d.index)
	d.same(Input{}, true)
	if d.reads != 0 {
		t.Fatalf("%d point reads for a plan where nothing changed", d.reads)
	}
	after, _ := os.Stat(d.index)
	if !after.ModTime().Equal(before.ModTime()) || after.Size() != before.Size() {
		t.Fatalf("a plan where nothing changed rewrote the index")
	}
	// One edit: one record read, and the index left as it is: its entry
	// for the edited file still says what the state records, and no
	// longer matches.
	old, err := os.ReadFile(d.index)
	if err != nil {
		t.Fatal(err)
	}
	d.write("a/f09.png", pngBytes("edited"))
	d.same(Input{}, true)
	if d.reads != 1 {
		t.Fatalf("%d point reads for one edited file", d.reads)
	}
	if now, err := os.ReadFile(d.index); err != nil || !bytes.Equal(now, old) {
		t.Fatalf("a plan with one edited file and nothing to add rewrote the index (%v)", err)
	}
	d.same(Input{}, true)
	if d.reads != 2 {
		t.Fatalf("%d point reads in all for the same edited file planned twice, want 2", d.reads)
	}
	// The file put back: its entry serves again, nothing more is read.
	d.write("a/f09.png", pngBytes("f09.png"))
	d.same(Input{}, true)
	if d.reads != 2 {
		t.Fatalf("%d point reads in all once the edited file was put back, want still 2", d.reads)
	}
}

// samePlan compares two plans as values: every exported field, every
// change (compact no-ops materialised), how many are kept compact, and the
// plan file each gives.
func samePlan(got, want *Plan) error {
	g, w := *got, *want
	g.full, g.noOps, g.merchants, w.full, w.noOps, w.merchants = nil, nil, nil, nil, nil, nil
	if !reflect.DeepEqual(g, w) {
		return fmt.Errorf("plans:\n%+v\nwant\n%+v", g, w)
	}
	gc, wc := changeList(got), changeList(want)
	if !reflect.DeepEqual(gc, wc) {
		gj, _ := json.MarshalIndent(gc, "", " ")
		wj, _ := json.MarshalIndent(wc, "", " ")
		return fmt.Errorf("changes:\n%s\nwant\n%s", gj, wj)
	}
	for i := range gc {
		if (gc[i].Before == gc[i].After) != (wc[i].Before == wc[i].After) {
			return fmt.Errorf("%s: before and after one object: %v, want %v", gc[i].Addr, gc[i].Before == gc[i].After, wc[i].Before == wc[i].After)
		}
	}
	if len(got.noOps) != len(want.noOps) || len(got.full) != len(want.full) {
		return fmt.Errorf("%d compact and %d full changes, want %d and %d", len(got.noOps), len(got.full), len(want.noOps), len(want.full))
	}
	var gf, wf bytes.Buffer
	if err := WriteFile(&gf, got); err != nil {
		return err
	}
	if err := WriteFile(&wf, want); err != nil {
		return err
	}
	if !bytes.Equal(gf.Bytes(), wf.Bytes()) {
		return fmt.Errorf("plan files differ:\n%s\nwant\n%s", gf.Bytes(), wf.Bytes())
	}
	return nil
}

func summaryString(p *Plan) string {
	s := p.Summary
	var parts []string
	for _, a := range []struct {
		name string
		n    int
	}{{"forget", s.Forget}, {"noop", s.NoOp}, {"reupload", s.Reupload}, {"reuse", s.Reuse}, {"upload", s.Upload}} {
		if a.n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", a.name, a.n))
		}
	}
	return strings.Join(parts, " ")
}

// apply records what p plans as an apply would, but for the addresses in
// skip (their upload failed), and returns the index apply then saves.
func (d *diffCase) apply(p *Plan, skip ...string) {
	d.t.Helper()
	at := time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)
	for c := range p.Changes() {
		if slices.Contains(skip, c.Addr) {
			continue
		}
		switch c.Action {
		case Upload, Reupload, Reuse:
			id := c.After.ID
			if id == "" {
				id = "NEW-" + c.Addr
			}
			r := state.Resource{Address: c.Addr, Type: c.Type, Name: c.Name, Key: c.Key, Merchant: c.Merchant, MchID: c.MchID,
				Service: c.Service, API: c.API, Source: c.After.Source, Filename: c.After.Filename, SHA256: c.After.SHA256, Size: c.After.Size, ID: id, UploadedAt: at}
			d.snap.Resources[c.Addr] = r
			d.cache[r.CacheKey()] = r.CacheEntry()
			d.snap.Serial++
		case Forget:
			delete(d.snap.Resources, c.Addr)
			d.snap.Serial++
		case NoOp:
			if *c.Before != *c.After {
				r := d.snap.Resources[c.Addr]
				r.Source, r.Filename = c.After.Source, c.After.Filename
				d.snap.Resources[c.Addr] = r
				d.snap.Serial++
			}
		}
	}
	snap := d.copyState()
	h := &state.Head{Lineage: snap.Lineage, Serial: snap.Serial, WriteID: snap.WriteID, Resources: len(snap.Resources), Outputs: snap.Outputs, PlanKey: snap.PlanKey}
	recs := map[string]state.Resource{}
	for _, a := range AppliedRecords(p) {
		if r, ok := snap.Resources[a]; ok {
			recs[a] = r
		}
	}
	if err := SaveNoopIndexApplied(d.index, d.backend, p, h, recs); err != nil {
		d.t.Fatal(err)
	}
}

// After an apply, the index apply saves gives the next plan the fast path
// with the plain path's plan, reading only what apply could not record.
func TestFastPlanAfterApply(t *testing.T) {
	d := newDiffCase(t, 10)
	d.save()
	d.write("a/f01.png", pngBytes("edited 1"))
	d.write("a/f02.png", pngBytes("f03.png")) // bytes already uploaded
	d.write("a/new.png", pngBytes("new"))
	d.write("a/new2.png", pngBytes("new 2"))
	os.Remove(filepath.Join(d.dir, "a/f09.png"))
	// f08 renamed: a no-op that records a new file name.
	d.write("main.wxm.hcl", []byte(strings.Replace(diffConfig, `source   = "a/${each.value}"`, "source   = \"a/${each.value}\"\n  filename = each.value == \"f08.png\" ? \"renamed.png\" : each.value", 1)))
	p := d.plain(Input{})
	if got := summaryString(p); got != "forget=1 noop=7 reupload=1 reuse=1 upload=2" {
		t.Fatalf("plan to apply: %s", got)
	}
	d.apply(p)
	d.reads = 0
	next := d.same(Input{}, true)
	if summaryString(next) != "noop=11" || d.reads != 0 {
		t.Fatalf("after apply: %s, %d reads by address", summaryString(next), d.reads)
	}

	// An upload that failed: its record is read, and planned again.
	d.write("a/new3.png", pngBytes("new 3"))
	d.write("a/f04.png", pngBytes("edited 4"))
	p = d.plain(Input{})
	d.apply(p, `wechatpay_image.img["new3.png"]`)
	d.reads = 0
	next = d.same(Input{}, true)
	if got := summaryString(next); got != "noop=11 upload=1" || d.reads != 1 {
		t.Fatalf("after a failed upload: %s, %d reads", got, d.reads)
	}

	// A forget that was not recorded: the counts do not add up and
	// nothing is saved; the stale index is ignored.
	before, _ := os.ReadFile(d.index)
	os.Remove(filepath.Join(d.dir, "a/f05.png"))
	d.write("a/f06.png", pngBytes("edited 6"))
	p = d.plain(Input{})
	d.apply(p, `wechatpay_image.img["f05.png"]`)
	if after, _ := os.ReadFile(d.index); !bytes.Equal(before, after) {
		t.Fatal("an index saved though a forget was not recorded")
	}
	d.same(Input{}, false)
}

// Module instances: their addresses sort apart from the order they are
// evaluated in; the fast path finds them all the same.
func TestFastPlanModules(t *testing.T) {
	d := newDiffCase(t, 8)
	d.write("main.wxm.hcl", []byte(diffConfig+`
module "store" {
  source   = "./store"
  for_each = toset(["sh-1", "sh-2", "a-0"])
}
`))
	d.write("store/main.wxm.hcl", []byte(`
resource "wechatpay_image" "b" {
  source = "${path.module}/b.png"
}
`))
	b := pngBytes("store b")
	d.write("store/b.png", b)
	for _, k := range []string{"sh-1", "sh-2", "a-0"} {
		addr := fmt.Sprintf("module.store[%q].wechatpay_image.b", k)
		d.record(addr, "store/b.png", b, "ID-"+k, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
		r := d.snap.Resources[addr]
		r.Name, r.Key = "b", ""
		d.snap.Resources[addr] = r
	}
	d.save()
	d.reads = 0
	p := d.same(Input{}, true)
	if got := summaryString(p); got != "noop=11" || d.reads != 0 {
		t.Fatalf("%s, %d reads", got, d.reads)
	}
	d.write("store/b.png", pngBytes("store b edited"))
	p = d.same(Input{}, true)
	if got := summaryString(p); got != "noop=8 reupload=1 reuse=2" {
		t.Fatalf("module file edited: %s", got)
	}
}
