package schema

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/wxmedia/wxmedia/state"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func loadEval(t *testing.T, dir string, vars map[string]VarValue) (*Evaluation, hcl.Diagnostics) {
	t.Helper()
	cfg, diags := Load(dir)
	if diags.HasErrors() {
		return nil, diags
	}
	ev, d := cfg.EvaluateWith(vars, stateReader{})
	return ev, append(diags, d...)
}

// stateReader reads remote state from real states, as the command's
// reader does (schema cannot import it: it imports schema).
type stateReader struct{}

func (stateReader) ReadOutputs(s BackendSettings) (map[string]RemoteOutput, error) {
	outs, err := state.ReadOutputs(state.Settings(s))
	if err != nil {
		return nil, err
	}
	conv := make(map[string]RemoteOutput, len(outs))
	for name, o := range outs {
		conv[name] = RemoteOutput(o)
	}
	return conv, nil
}

const merchantBlock = `
merchant "acme" {
  mchid   = "1900000001"
  sandbox = true
}
`

func TestForEachFilesetAndOutputs(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.wxm.hcl": merchantBlock + `
locals {
  dir = "assets/banners"
}
resource "wechatpay_image" "banner" {
  for_each = fileset(local.dir, "*.png")
  source   = "${local.dir}/${each.value}"
  filename = upper(each.key)
}
resource "wechatpay_image" "logo" {
  source = "assets/logo.png"
}
output "ids" {
  value = { for k, b in wechatpay_image.banner : k => b.media_id }
}
output "logo" {
  value = wechatpay_image.logo.id
}
`,
		"assets/banners/a.png":     "x",
		"assets/banners/b.png":     "x",
		"assets/banners/c.txt":     "x",
		"assets/banners/sub/d.png": "x",
		"assets/logo.png":          "x",
	})
	ev, diags := loadEval(t, dir, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var addrs []string
	for _, in := range ev.Instances {
		addrs = append(addrs, in.Addr+"="+in.Source+"|"+in.Filename)
	}
	want := `wechatpay_image.banner["a.png"]=assets/banners/a.png|A.PNG wechatpay_image.banner["b.png"]=assets/banners/b.png|B.PNG wechatpay_image.logo=assets/logo.png|logo.png`
	if got := strings.Join(addrs, " "); got != want {
		t.Fatalf("instances:\n got %s\nwant %s", got, want)
	}
	if ev.Merchants["acme"].MchID != "1900000001" || !ev.Merchants["acme"].Sandbox {
		t.Fatalf("merchant = %+v", ev.Merchants["acme"])
	}

	// Before apply: identifiers unknown.
	outs, diags := ev.Outputs(nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if outs["logo"].Value.IsKnown() {
		t.Fatalf("logo output known before apply: %#v", outs["logo"].Value)
	}
	// After apply: known.
	vals := map[string]InstanceValue{
		`wechatpay_image.banner["a.png"]`: {ID: "id-a", SHA256: "aa", Size: 1, UploadedAt: time.Unix(0, 0)},
		`wechatpay_image.banner["b.png"]`: {ID: "id-b", SHA256: "bb", Size: 1},
		`wechatpay_image.logo`:            {ID: "id-logo", SHA256: "cc", Size: 1},
	}
	outs, diags = ev.Outputs(vals)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if got := outs["logo"].Value; !got.RawEquals(cty.StringVal("id-logo")) {
		t.Fatalf("logo = %#v", got)
	}
	ids := outs["ids"].Value
	if !ids.IsWhollyKnown() || ids.LengthInt() != 2 || ids.GetAttr("b.png").AsString() != "id-b" {
		t.Fatalf("ids = %#v", ids)
	}
}

func TestVariables(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.wxm.hcl": merchantBlock + `
variable "prefix" {
  type    = string
  default = "assets"
}
variable "names" {
  type = set(string)
}
variable "secret" {
  type      = string
  sensitive = true
  default   = "s3cret"
}
resource "wechatpay_image" "x" {
  for_each = var.names
  source   = "${var.prefix}/${each.key}"
}
output "s" {
  value     = var.secret
  sensitive = true
}
`,
	})
	ev, diags := loadEval(t, dir, map[string]VarValue{
		"names":  {Raw: `["a.png", "b.png"]`, Source: "-var names"},
		"prefix": {Raw: "img", Source: "WXMEDIA_VAR_prefix", FromEnv: true},
		"other":  {Raw: "x", Source: "WXMEDIA_VAR_other", FromEnv: true},
	})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if len(ev.Instances) != 2 || ev.Instances[1].Source != "img/b.png" {
		t.Fatalf("instances = %+v", ev.Instances)
	}
	outs, diags := ev.Outputs(nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if !outs["s"].Sensitive || outs["s"].Value.AsString() != "s3cret" {
		t.Fatalf("s = %+v", outs["s"])
	}
}

// Each bad configuration must give an error diagnostic at the right line
// whose text says what is wrong.
func TestDiagnostics(t *testing.T) {
	cases := []struct {
		name, src string
		vars      map[string]VarValue
		line      int
		want      string
	}{
		{"syntax", merchantBlock + "resource \"wechatpay_image\" \"a\" {\n  source = \n}\n", nil, 7, "Invalid expression"},
		{"unknown block", merchantBlock + "bogus \"x\" {}\n", nil, 6, "Unsupported block type"},
		{"unknown attribute", merchantBlock + "resource \"wechatpay_image\" \"a\" {\n  source = \"a.png\"\n  colour = \"red\"\n}\n", nil, 8, "Unsupported argument"},
		{"unknown type", merchantBlock + "resource \"wechatpay_gif\" \"a\" {\n  source = \"a.png\"\n}\n", nil, 6, "Unsupported resource type"},
		{"undeclared var", merchantBlock + "resource \"wechatpay_image\" \"a\" {\n  source = var.nope\n}\n", nil, 7, "undeclared input variable"},
		{"undeclared local", merchantBlock + "resource \"wechatpay_image\" \"a\" {\n  source = local.nope\n}\n", nil, 7, "undeclared local value"},
		{"undeclared merchant", merchantBlock + "resource \"wechatpay_image\" \"a\" {\n  merchant = merchant.other\n  source = \"a.png\"\n}\n", nil, 7, "undeclared merchant"},
		{"undeclared resource", merchantBlock + "output \"o\" {\n  value = wechatpay_image.nope.media_id\n}\n", nil, 7, "undeclared resource"},
		{"duplicate resource", merchantBlock + "resource \"wechatpay_image\" \"a\" {\n  source = \"a.png\"\n}\nresource \"wechatpay_image\" \"a\" {\n  source = \"b.png\"\n}\n", nil, 9, "Duplicate resource"},
		{"duplicate merchant", merchantBlock + merchantBlock, nil, 7, "Duplicate merchant"},
		{"type mismatch", merchantBlock + "resource \"wechatpay_image\" \"a\" {\n  source = [\"a.png\"]\n}\n", nil, 7, "string is required"},
		{"for_each list", merchantBlock + "resource \"wechatpay_image\" \"a\" {\n  for_each = [\"a.png\"]\n  source = each.value\n}\n", nil, 7, "toset"},
		{"each without for_each", merchantBlock + "resource \"wechatpay_image\" \"a\" {\n  source = each.value\n}\n", nil, 7, "without for_each"},
		{"local cycle", merchantBlock + "locals {\n  a = local.b\n  b = local.a\n}\nresource \"wechatpay_image\" \"a\" {\n  source = local.a\n}\n", nil, 7, "Cycle"},
		{"missing variable", merchantBlock + "variable \"v\" {\n  type = string\n}\nresource \"wechatpay_image\" \"a\" {\n  source = var.v\n}\n", nil, 6, "No value for required variable"},
		{"wrong variable type", merchantBlock + "variable \"v\" {\n  type = number\n}\nresource \"wechatpay_image\" \"a\" {\n  source = \"a.png\"\n}\n", map[string]VarValue{"v": {Raw: "abc", Source: "-var v"}}, 6, "not a valid number"},
		{"resource in resource", merchantBlock + "resource \"wechatpay_image\" \"a\" {\n  source = \"a.png\"\n}\nresource \"wechatpay_image\" \"b\" {\n  source = wechatpay_image.a.media_id\n}\n", nil, 10, "only known after apply"},
		{"merchant attrs", merchantBlock + "output \"o\" {\n  value = merchant.acme.mchid\n}\n", nil, 7, "not values"},
		{"sensitive output", merchantBlock + "variable \"k\" {\n  sensitive = true\n  default = \"x\"\n}\noutput \"o\" {\n  value = var.k\n}\n", nil, 10, "sensitive"},
		{"two merchants", merchantBlock + "merchant \"b\" {\n  sandbox = true\n}\nresource \"wechatpay_image\" \"a\" {\n  source = \"a.png\"\n}\n", nil, 9, "must say which one"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"main.wxm.hcl": tc.src})
			ev, diags := loadEval(t, dir, tc.vars)
			if !diags.HasErrors() {
				_, diags = ev.Outputs(nil)
			}
			if !diags.HasErrors() {
				t.Fatalf("no error")
			}
			d := diags.Errs()[0].(*hcl.Diagnostic)
			text := d.Summary + ": " + d.Detail
			if !strings.Contains(text, tc.want) {
				t.Errorf("diagnostic %q does not mention %q", text, tc.want)
			}
			if d.Subject == nil {
				t.Fatalf("diagnostic %q has no source range", text)
			}
			if d.Subject.Filename != "main.wxm.hcl" || d.Subject.Start.Line != tc.line {
				t.Errorf("diagnostic at %s, want main.wxm.hcl:%d (%s)", d.Subject, tc.line, text)
			}
		})
	}
}

func TestFunctions(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.wxm.hcl": merchantBlock + `
locals {
  sum   = filesha256("a/x.png")
  there = fileexists("a/x.png")
  gone  = fileexists("a/nope.png")
  base  = basename("a/x.png")
  dir   = dirname("a/x.png")
  txt   = trimspace(file("note.txt"))
  e     = env("WXMEDIA_TEST_ENV", "fallback")
  all   = join(",", sort(fileset(".", "**/*.png")))
}
resource "wechatpay_image" "a" {
  source = "${local.dir}/${local.base}#${local.sum}#${local.there}#${local.gone}#${local.txt}#${local.e}#${local.all}"
}
`,
		"a/x.png":   "hello",
		"b/c/y.png": "x",
		"note.txt":  " note \n",
	})
	ev, diags := loadEval(t, dir, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	want := "a/x.png#2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824#true#false#note#fallback#a/x.png,b/c/y.png"
	if got := ev.Instances[0].Source; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
