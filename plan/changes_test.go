package plan

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestCompactNoOps makes one plan of every kind of change twice, with
// no-ops kept compact and with every change kept in full (the plain
// representation), and checks that every view, the plan file, the values
// given to outputs, the iteration and Match see the same plan.
func TestCompactNoOps(t *testing.T) {
	one, two, three := pngBytes("one"), pngBytes("two"), pngBytes("three")
	config := cfg + `
module "store" {
  source   = "./store"
  for_each = toset(["sh-1", "sh-2"])
}
resource "wechatpay_image" "logo" {
  source = "a/logo.png"
}
`
	files := map[string][]byte{"a/logo.png": one, "store/b.png": two}
	for i := range 40 {
		files[fmt.Sprintf("a/n%02d.png", i)] = pngBytes(fmt.Sprint("n", i))
	}
	files["a/up.png"], files["a/re.png"], files["a/reuse.png"], files["a/renamed.png"], files["a/moved.png"] = three, pngBytes("re-new"), two, pngBytes("renamed"), pngBytes("moved")
	f := newFixture(t, config, files)
	if err := os.WriteFile(filepath.Join(f.dir, "store", "main.wxm.hcl"), []byte(`
merchant "shop" {
  mchid   = "1900000001"
  sandbox = true
}

resource "wechatpay_image" "b" {
  source = "${path.module}/b.png"
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	f.merchants = map[string]MerchantIdentity{}
	for name := range mustEval(t, f.dir).Merchants {
		f.merchants[name] = MerchantIdentity{MchID: "1900000001", Service: "sandbox-x"}
	}
	// Recorded: the 40 no-ops, the logo, the modules' images; a
	// re-upload, a renamed and a moved file (no-ops that record something
	// new), and one to forget; reuse.png's bytes are in the cache.
	for i := range 40 {
		n := fmt.Sprintf("n%02d.png", i)
		f.record(fmt.Sprintf(`wechatpay_image.img[%q]`, n), "a/"+n, files["a/"+n], "ID"+n)
	}
	f.record("wechatpay_image.logo", "a/logo.png", one, "IDlogo")
	f.record(`module.store["sh-1"].wechatpay_image.b`, "store/b.png", two, "IDb1")
	f.record(`module.store["sh-2"].wechatpay_image.b`, "store/b.png", two, "IDb2")
	f.record(`wechatpay_image.img["re.png"]`, "a/re.png", pngBytes("re-old"), "IDre")
	f.record(`wechatpay_image.img["renamed.png"]`, "a/renamed.png", files["a/renamed.png"], "IDrenamed")
	r := f.snap.Resources[`wechatpay_image.img["renamed.png"]`]
	r.Filename = "old-name.png"
	f.snap.Resources[r.Address] = r
	f.record(`wechatpay_image.img["moved.png"]`, "old/moved.png", files["a/moved.png"], "IDmoved")
	f.record(`wechatpay_image.img["gone.png"]`, "a/gone.png", pngBytes("gone"), "IDgone")

	compact, err := f.plan(`wechatpay_image.img["n07.png"]`)
	if err != nil {
		t.Fatal(err)
	}
	keepCompact = false
	plain, err := f.plan(`wechatpay_image.img["n07.png"]`)
	keepCompact = true
	if err != nil {
		t.Fatal(err)
	}
	if len(plain.noOps) != 0 || len(compact.noOps) < 40 || len(compact.full) >= len(plain.full) {
		t.Fatalf("compact no-ops: %d of %d (plain: %d)", len(compact.noOps), compact.NumChanges(), len(plain.noOps))
	}
	if compact.NumChanges() != plain.NumChanges() || compact.Summary != plain.Summary {
		t.Fatalf("changes %d, summary %+v; plain %d, %+v", compact.NumChanges(), compact.Summary, plain.NumChanges(), plain.Summary)
	}
	s := compact.Summary
	if s.NoOp < 40 || s.Upload != 1 || s.Reupload != 2 || s.Reuse < 1 || s.Forget != 1 {
		t.Fatalf("not every kind of change: %+v", s)
	}
	views := map[string]func(p *Plan) []byte{
		"json": func(p *Plan) []byte {
			var b bytes.Buffer
			if err := RenderJSON(&b, p); err != nil {
				t.Fatal(err)
			}
			return b.Bytes()
		},
		"plan file": func(p *Plan) []byte {
			var b bytes.Buffer
			if err := WriteFile(&b, p); err != nil {
				t.Fatal(err)
			}
			return b.Bytes()
		},
		"human": func(p *Plan) []byte {
			var b bytes.Buffer
			Render(&b, p, NewStyles(false))
			return b.Bytes()
		},
		"markdown":        func(p *Plan) []byte { return []byte(markdown(p, MarkdownLimit)) },
		"instance values": func(p *Plan) []byte { return fmt.Appendf(nil, "%v", p.InstanceValues()) },
		"outputs":         func(p *Plan) []byte { return fmt.Appendf(nil, "%+v", p.Outputs) },
	}
	for name, view := range views {
		if got, want := view(compact), view(plain); !bytes.Equal(got, want) {
			t.Errorf("%s differs:\n%s\nplain:\n%s", name, got, want)
		}
	}
	got, want := changeList(compact), changeList(plain)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the changes differ")
	}
	for i, c := range got {
		if c.Action == NoOp && c.Before != c.After && want[i].Before == want[i].After {
			t.Errorf("%s: a compact no-op's before and after are two objects", c.Addr)
		}
	}
	if !slices.IsSortedFunc(got, func(a, b *ResourceChange) int { return strings.Compare(a.Addr, b.Addr) }) {
		t.Error("not in address order")
	}
	// A materialised no-op is the caller's: changing it changes nothing.
	for c := range compact.Changes() {
		if !slices.Contains(compact.full, c) {
			c.After.ID = "changed"
		}
	}
	if !reflect.DeepEqual(changeList(compact), want) {
		t.Error("a materialised no-op shares its storage")
	}
	// Apply of the saved plan: the file read back (every change in full)
	// matches the plan made again, compact.
	saved, err := ReadFile(bytes.NewReader(views["plan file"](compact)))
	if err != nil {
		t.Fatal(err)
	}
	if err := saved.Match(compact); err != nil {
		t.Errorf("match: %v", err)
	}
	if err := saved.Match(plain); err != nil {
		t.Errorf("match plain: %v", err)
	}
}

// TestMakeWithFiles checks that file facts computed ahead (Input.Files)
// give the plan hashing gives, without hashing again, and that -target
// hashes only its files.
func TestMakeWithFiles(t *testing.T) {
	one, two := pngBytes("one"), pngBytes("two")
	f := newFixture(t, cfg, map[string][]byte{"a/x.png": one, "a/y.png": two})
	f.record(`wechatpay_image.img["x.png"]`, "a/x.png", one, "ID1")
	ev := mustEval(t, f.dir)
	var paths []string
	for _, inst := range ev.Instances {
		paths = append(paths, inst.Path)
	}
	hashed := 0
	in := Input{Eval: ev, State: f.snap, Merchants: map[string]MerchantIdentity{"m": {MchID: "1900000001", Service: "sandbox-x"}},
		Hash: func(p []string) []FileResult { hashed += len(p); return HashFiles(p) }}
	want, diags := Make(in)
	if diags.HasErrors() || hashed != 2 {
		t.Fatalf("%v, hashed %d", diags, hashed)
	}
	in.Files = HashFiles(paths)
	got, diags := Make(in)
	if diags.HasErrors() || hashed != 2 {
		t.Fatalf("with files: %v, hashed %d more", diags, hashed-2)
	}
	if !reflect.DeepEqual(changeList(got), changeList(want)) || got.Summary != want.Summary {
		t.Errorf("with files: %s, want %s", actions(got), actions(want))
	}
	in.Targets = []string{`wechatpay_image.img["y.png"]`}
	if _, diags := Make(in); diags.HasErrors() || hashed != 3 {
		t.Fatalf("targeted: %v, hashed %d more", diags, hashed-2)
	}
}
