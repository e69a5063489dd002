package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wxmedia/wxmedia/schema"
	"github.com/wxmedia/wxmedia/state"
)

// pngBytes returns a distinct minimal PNG-looking file.
func pngBytes(tag string) []byte {
	return append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), []byte(tag)...)
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

type fixture struct {
	t    *testing.T
	dir  string
	snap *state.Snapshot
	// cache stands for the state's content-addressed cache.
	cache map[state.CacheKey]state.CacheEntry
	// merchants, when set, are the merchant identities instead of m's.
	merchants map[string]MerchantIdentity
}

func newFixture(t *testing.T, config string, files map[string][]byte) *fixture {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.wxm.hcl"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	for n, b := range files {
		p := filepath.Join(dir, n)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &fixture{t: t, dir: dir,
		snap:  &state.Snapshot{Lineage: "L", Serial: 3, Resources: map[string]state.Resource{}, Outputs: map[string]state.Output{}},
		cache: map[state.CacheKey]state.CacheEntry{}}
}

func (f *fixture) plan(replace ...string) (*Plan, error) {
	cfg, diags := schema.Load(f.dir)
	if diags.HasErrors() {
		return nil, diags
	}
	ev, diags := cfg.Evaluate(nil)
	if diags.HasErrors() {
		return nil, diags
	}
	merchants := f.merchants
	if merchants == nil {
		merchants = map[string]MerchantIdentity{"m": {MchID: "1900000001", Service: "sandbox-x"}}
	}
	p, diags := Make(Input{Eval: ev, State: f.snap, Replace: replace, Merchants: merchants, Cache: lookupIn(f.cache)})
	if diags.HasErrors() {
		var msgs []string
		for _, d := range diags {
			msgs = append(msgs, fmt.Sprintf("%s: %s: %s", d.Subject, d.Summary, d.Detail))
		}
		return nil, fmt.Errorf("%s", strings.Join(msgs, "\n"))
	}
	return p, nil
}

// lookupIn looks keys up in cache, as a state's content cache does.
func lookupIn(cache map[state.CacheKey]state.CacheEntry) func([]state.CacheKey) (map[state.CacheKey]state.CacheEntry, error) {
	return func(keys []state.CacheKey) (map[state.CacheKey]state.CacheEntry, error) {
		out := map[state.CacheKey]state.CacheEntry{}
		for _, k := range keys {
			if e, ok := cache[k]; ok {
				out[k] = e
			}
		}
		return out, nil
	}
}

// record pretends an apply uploaded addr with content b.
func (f *fixture) record(addr, source string, b []byte, id string) {
	k := state.CacheKey{Service: "sandbox-x", MchID: "1900000001", API: "merchant_media_image", SHA256: sum(b)}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.snap.Resources[addr] = state.Resource{Address: addr, Type: "wechatpay_image", Merchant: "m", MchID: k.MchID, Service: k.Service,
		API: k.API, Source: source, Filename: filepath.Base(source), SHA256: k.SHA256, Size: int64(len(b)), ID: id, UploadedAt: at}
	f.cache[k] = state.CacheEntry{CacheKey: k, ID: id, Size: int64(len(b)), UploadedAt: at}
}

func actions(p *Plan) string {
	var parts []string
	for c := range p.Changes() {
		parts = append(parts, c.Addr+":"+c.Action.String())
	}
	return strings.Join(parts, " ")
}

const cfg = `
merchant "m" {
  sandbox = true
}
resource "wechatpay_image" "img" {
  for_each = fileset("a", "*.png")
  source   = "a/${each.value}"
}
output "ids" {
  value = { for k, r in wechatpay_image.img : k => r.media_id }
}
`

func TestActions(t *testing.T) {
	one, two := pngBytes("one"), pngBytes("two")
	f := newFixture(t, cfg, map[string][]byte{"a/x.png": one, "a/y.png": two, "a/z.png": one})
	p, err := f.plan()
	if err != nil {
		t.Fatal(err)
	}
	// Identical bytes twice in one plan are uploaded once.
	if got, want := actions(p), `wechatpay_image.img["x.png"]:upload wechatpay_image.img["y.png"]:upload wechatpay_image.img["z.png"]:reuse`; got != want {
		t.Fatalf("first plan:\n got %s\nwant %s", got, want)
	}
	if changeList(p)[2].ReuseOf != `wechatpay_image.img["x.png"]` {
		t.Fatalf("z reuses %q", changeList(p)[2].ReuseOf)
	}
	if p.Summary.Upload != 2 || p.Summary.UploadBytes != int64(len(one)+len(two)) || !p.HasChanges() {
		t.Fatalf("summary %+v", p.Summary)
	}

	// After apply everything is a no-op.
	f.record(`wechatpay_image.img["x.png"]`, "a/x.png", one, "ID1")
	f.record(`wechatpay_image.img["y.png"]`, "a/y.png", two, "ID2")
	f.record(`wechatpay_image.img["z.png"]`, "a/z.png", one, "ID1")
	f.snap.Outputs["ids"] = encode(t, p, f)
	p, err = f.plan()
	if err != nil {
		t.Fatal(err)
	}
	if p.HasChanges() || p.Summary.NoOp != 3 {
		t.Fatalf("second plan has changes: %s %+v", actions(p), p.Outputs)
	}

	// Edit one file, copy another under a new name, remove a third.
	three := pngBytes("three")
	os.WriteFile(filepath.Join(f.dir, "a/x.png"), three, 0o644)
	os.WriteFile(filepath.Join(f.dir, "a/w.png"), two, 0o644)
	os.Remove(filepath.Join(f.dir, "a/z.png"))
	p, err = f.plan()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := actions(p), `wechatpay_image.img["w.png"]:reuse wechatpay_image.img["x.png"]:reupload wechatpay_image.img["y.png"]:noop wechatpay_image.img["z.png"]:forget`; got != want {
		t.Fatalf("third plan:\n got %s\nwant %s", got, want)
	}
	if changeList(p)[0].After.ID != "ID2" {
		t.Fatalf("w.png reuses %q, want ID2", changeList(p)[0].After.ID)
	}

	// Changed content that is already cached is a reuse, not an upload.
	f.record(`wechatpay_image.img["x.png"]`, "a/x.png", three, "ID3")
	os.WriteFile(filepath.Join(f.dir, "a/x.png"), one, 0o644)
	p, _ = f.plan()
	if c := changeList(p)[1]; c.Action != Reuse || c.After.ID != "ID1" {
		t.Fatalf("x.png back to cached bytes: %s %q", c.Action, c.After.ID)
	}

	// -replace forces an upload of unchanged content.
	p, _ = f.plan(`wechatpay_image.img["y.png"]`)
	if c := changeList(p)[2]; c.Action != Reupload || !c.Replace {
		t.Fatalf("replace: %s", c.Action)
	}
}

func encode(t *testing.T, p *Plan, f *fixture) state.Output {
	cfgv, _ := schema.Load(f.dir)
	ev, _ := cfgv.Evaluate(nil)
	vals := map[string]schema.InstanceValue{}
	for a, r := range f.snap.Resources {
		vals[a] = schema.InstanceValue{ID: r.ID, SHA256: r.SHA256, Size: r.Size}
	}
	outs, diags := ev.Outputs(vals)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	o, err := EncodeOutput(outs["ids"])
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestSameBytesNewFilenameIsNoop(t *testing.T) {
	one := pngBytes("one")
	f := newFixture(t, `
merchant "m" {
  sandbox = true
}
resource "wechatpay_image" "logo" {
  source   = "logo.png"
  filename = "brand.png"
}
`, map[string][]byte{"logo.png": one})
	f.record("wechatpay_image.logo", "logo.png", one, "ID1")
	p, err := f.plan()
	if err != nil {
		t.Fatal(err)
	}
	if changeList(p)[0].Action != NoOp {
		t.Fatalf("action %s", changeList(p)[0].Action)
	}
}

func TestFileChecks(t *testing.T) {
	big := append(pngBytes("big"), bytes.Repeat([]byte{0}, 2<<20)...)
	cases := map[string]struct {
		content []byte
		name    string
		want    string
	}{
		"empty":       {[]byte{}, "e.png", "empty"},
		"too big":     {big, "b.png", "2 MiB"},
		"bad suffix":  {pngBytes("x"), "x.gif", ".gif"},
		"wrong magic": {[]byte("just some text, not an image at all"), "t.png", "PNG"},
		"jpeg as png": {[]byte("\xff\xd8\xff\xe0 jpeg data here........"), "j.png", "PNG"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, fmt.Sprintf(`
merchant "m" {
  sandbox = true
}
resource "wechatpay_image" "r" {
  source = %q
}
`, tc.name), map[string][]byte{tc.name: tc.content})
			_, err := f.plan()
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, w := range []string{"wechatpay_image.r", tc.name, tc.want, "main.wxm.hcl:6"} {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
		})
	}
	t.Run("missing and directory", func(t *testing.T) {
		f := newFixture(t, `
merchant "m" {
  sandbox = true
}
resource "wechatpay_image" "gone" {
  source = "nope.png"
}
resource "wechatpay_image" "dir" {
  source = "d.png"
}
`, map[string][]byte{"d.png/inner": []byte("x")})
		_, err := f.plan()
		if err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), "directory") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestRenderSummary(t *testing.T) {
	f := newFixture(t, cfg, map[string][]byte{"a/x.png": pngBytes("x")})
	p, err := f.plan()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	Render(&b, p, NewStyles(false))
	out := b.String()
	for _, w := range []string{`+ wechatpay_image.img["x.png"]`, "Plan: 1 to upload (", "ids = (known after apply", "0 unchanged"} {
		if !strings.Contains(out, w) {
			t.Errorf("render lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colour escape in a colourless render")
	}
}

// TestNoopObjects checks the no-op changes that share one object for
// Before and After against the values the general construction gives,
// with and without outputs and instances to forget.
func TestNoopObjects(t *testing.T) {
	one, two := pngBytes("one"), pngBytes("two")
	for _, withOutput := range []bool{false, true} {
		for _, forget := range []bool{false, true} {
			config := cfg
			if !withOutput {
				config = strings.Split(cfg, "output")[0]
			}
			f := newFixture(t, config, map[string][]byte{"a/x.png": one, "a/y.png": two})
			f.record(`wechatpay_image.img["x.png"]`, "a/x.png", one, "ID1")
			f.record(`wechatpay_image.img["y.png"]`, "old/y.png", two, "ID2")
			if forget {
				f.record(`wechatpay_image.img["z.png"]`, "a/z.png", pngBytes("z"), "ID3")
			}
			p, err := f.plan()
			if err != nil {
				t.Fatal(err)
			}
			want := "wechatpay_image.img[\"x.png\"]:noop wechatpay_image.img[\"y.png\"]:noop"
			if forget {
				want += " wechatpay_image.img[\"z.png\"]:forget"
			}
			if got := actions(p); got != want {
				t.Fatalf("actions %s, want %s", got, want)
			}
			for _, c := range changeList(p)[:2] {
				r := f.snap.Resources[c.Addr]
				before := Object{Source: r.Source, Filename: r.Filename, SHA256: r.SHA256, Size: r.Size, ID: r.ID, UploadedAt: r.UploadedAt}
				after := before
				after.Source = strings.Replace(r.Source, "old/", "a/", 1)
				if *c.Before != before || *c.After != after {
					t.Errorf("%s: before %+v after %+v, want %+v and %+v", c.Addr, *c.Before, *c.After, before, after)
				}
			}
			if withOutput && len(p.Outputs) != 1 {
				t.Errorf("outputs %+v", p.Outputs)
			}
		}
	}
}

// Make returns the plan complete: version, configuration digest, variables
// and the signature of its inputs under the state's plan key, so that a
// saved copy passes the checks of apply as it is.
func TestMakeReturnsCompletePlan(t *testing.T) {
	f := newFixture(t, cfg+`
variable "region" {
  default = "cn"
}
variable "token" {
  default   = "s3cret"
  sensitive = true
}
`, map[string][]byte{"a/x.png": pngBytes("x")})
	f.snap.PlanKey = []byte("0123456789abcdef0123456789abcdef")
	cfgLoaded, diags := schema.Load(f.dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	ev, diags := cfgLoaded.Evaluate(nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	p, diags := Make(Input{Eval: ev, State: f.snap, Version: "9.9.9",
		Merchants: map[string]MerchantIdentity{"m": {MchID: "1900000001", Service: "sandbox-x"}}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if err := p.CheckVersion("9.9.9"); err != nil {
		t.Error(err)
	}
	digest, err := DigestConfig(cfgLoaded)
	if err != nil {
		t.Fatal(err)
	}
	if p.Config.SHA256 == "" || p.CheckConfig(digest) != nil {
		t.Errorf("config digest %+v, want the configuration's", p.Config)
	}
	if err := p.CheckVariables(ev); err != nil {
		t.Errorf("variables %+v: %v", p.Variables, err)
	}
	for _, v := range p.Variables {
		if v.Name == "token" && (!v.Sensitive || v.Value != nil) {
			t.Errorf("sensitive variable recorded with its value: %+v", v)
		}
	}
	if p.InputsMAC == "" {
		t.Errorf("plan not signed though the state has a plan key")
	}
}

// changeList is every change of p, in address order.
func changeList(p *Plan) []*ResourceChange { return slices.Collect(p.Changes()) }
