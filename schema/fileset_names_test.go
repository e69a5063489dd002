package schema

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFilesetRefusesMergedNames: a fileset whose matches would not each be
// a key of their own (names not valid UTF-8 that differ only there, names
// that differ only in their Unicode normalisation) is refused at the
// fileset call, naming the files escaped, by both evaluators; never one
// instance for two files.
func TestFilesetRefusesMergedNames(t *testing.T) {
	for _, c := range []struct {
		files []string
		want  []string
	}{
		{[]string{"c\xfe.png", "c\xff.png"}, []string{`"assets/c\xfe.png"`, "not valid UTF-8", "rename it"}},
		{[]string{"c\xfe.png"}, []string{`"assets/c\xfe.png"`, "not valid UTF-8"}},
		{[]string{"\u00fc.png", "u\u0308.png"}, []string{`"assets/u\u0308.png"`, `"assets/\u00fc.png"`, "normalisation", "rename one"}},
	} {
		dir := t.TempDir()
		for _, f := range append(c.files, "ok.png") {
			p := filepath.Join(dir, "assets", f)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		conf := `merchant "demo" {
  mchid   = "1900000002"
  sandbox = true
}
resource "wechatpay_image" "img" {
  for_each = fileset("assets", "*.png")
  source   = "assets/${each.value}"
  filename = "f-${length(each.key)}.png"
}
`
		if err := os.WriteFile(filepath.Join(dir, "main.wxm.hcl"), []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		fast, general := evaluateFor(t, dir, true), evaluateFor(t, dir, false)
		if fast != general {
			t.Fatalf("%q: fast:\n%s\ngeneral:\n%s", c.files, fast, general)
		}
		if strings.Contains(general, "Addr:") || !strings.Contains(general, "main.wxm.hcl:6,") {
			t.Errorf("%q: want no instance and a diagnostic at the fileset call (line 6), got:\n%s", c.files, general)
		}
		for _, w := range c.want {
			if !strings.Contains(general, w) {
				t.Errorf("%q: want %s in:\n%s", c.files, w, general)
			}
		}
	}
}

// TestDuplicateAddressesRefused: two instances with one address, however
// they came about, are refused naming both sources.
func TestDuplicateAddressesRefused(t *testing.T) {
	ev := &Evaluation{Instances: []*Instance{
		{Addr: `wechatpay_image.img["a"]`, Source: "assets/a.png"},
		{Addr: `wechatpay_image.img["b"]`, Source: "assets/b.png"},
		{Addr: `wechatpay_image.img["a"]`, Source: "assets/A\n.png"},
	}}
	diags := ev.checkDistinctAddrs()
	if len(diags) != 1 || !diags.HasErrors() {
		t.Fatalf("want one error, got %v", diags)
	}
	d := diags[0].Detail
	for _, w := range []string{`"assets/a.png"`, `"assets/A\n.png"`, `wechatpay_image.img[\"a\"]`} {
		if !strings.Contains(d, w) {
			t.Errorf("want %s in %q", w, d)
		}
	}
	ev.Instances = ev.Instances[:2]
	if d := ev.checkDistinctAddrs(); len(d) != 0 {
		t.Errorf("distinct addresses refused: %v", d)
	}
}
