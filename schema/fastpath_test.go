package schema

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// TestFastPathsGiveWhatTheGeneralEvaluatorGives evaluates every combination
// of for_each, source and filename below with the specialised paths on and
// off, and requires the same instances and the same diagnostics.
func TestFastPathsGiveWhatTheGeneralEvaluatorGives(t *testing.T) {
	dir := t.TempDir()
	// The same files in the root module's directory and in the module's
	// ("mod"), which its relative paths name.
	for _, base := range []string{"", "mod/"} {
		for _, f := range []string{
			"img/a.png", "img/b c.png", "img/\"q\".png", "img/ü.png", "img/u\u0308x.png", "img/Z.png",
			"img/sub/x.png", "img/sub/deep/y.jpg", "img/a.png.bak", "img/5", "other/o.png",
			// Names with dots.
			"img/..a.png", "img/a..png", "img/sub/..d/z.png",
			// One that normalises (NFC) to another's, and two that are not
			// UTF-8 and differ only there: refused, never one key.
			"nfc/\u00fc.png", "nfc/u\u0308.png", "nfc/sub/u\u0308.png", "bad/c\xfe.png", "bad/c\xff.png", "bad/ok.png",
		} {
			p := filepath.Join(dir, filepath.FromSlash(base+f))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		os.MkdirAll(filepath.Join(dir, base+"empty"), 0o755)
	}

	forEach := []string{
		`fileset("img", "*.png")`,
		`fileset("img", "**/*")`,
		`fileset("nfc", "*.png")`,
		`fileset("nfc", "**")`,
		`fileset("nfc", "sub/*")`,
		`fileset("bad", "*.png")`,
		`fileset("bad", "ok.png")`,
		`fileset("bad", "**")`,
		`{ for f in fileset("nfc", "**") : basename(f) => f... }`,
		`fileset("img", "**/*.{png,jpg}")`,
		`fileset("img", "{a,a,Z}.png")`,
		`fileset("./img/", "sub/**")`,
		`fileset(local.dir, "*.png")`,
		`fileset(var.dir, "*.png")`,
		`fileset("${path.root}/img/${var.sub}", "*")`,
		`fileset(var.secret, "*.png")`,
		`fileset("nope", "*.png")`,
		`fileset("img/a.png", "*")`,
		`fileset("img", "[")`,
		`fileset("img", "*.gif")`,
		`fileset("empty", "**")`,
		`fileset("img", 5)`,
		`fileset("img", null)`,
		`fileset(abspath("img"), "*.png")`,
		`fileset(["img"]...)`,
		`fileset("img")`,
		`toset(["a.png", "b c.png", "a.png"])`,
		`toset([])`,
		`{ a = "img/a.png", b = "img/sub/x.png" }`,
		`{ for f in fileset("img", "*.png") : f => "img/${f}" }`,
		`{ k = { p = "img/a.png" } }`,
		`["a.png"]`,
	}
	source := []string{
		`"img/${each.value}"`,
		`"img/${each.key}"`,
		`each.value`,
		`each.key`,
		`"${each.value}"`,
		`"${each.key}"`,
		`"img/${each.value}${""}"`,
		`"img/${lower(each.value)}"`,
		`"img/%{if true}${each.value}%{endif}"`,
		`""`,
		`"${""}"`,
		`"img/${each.value.p}"`,
		`"img/${local.dir}/${each.key}"`,
		`"img/${var.secret}"`,
		`"other/o.png"`,
		`"${var.dir}/${each.value}"`,
		`"${path.root}/img/${var.sub}/${each.value}"`,
		`"${path.module}/img/${each.key}"`,
		`"${path.cwd}/img/${each.key}"`,
		`"${var.dir}"`,
		`"${var.num}/${each.key}"`,
		`"${var.empty}${each.value}"`,
		`"${var.nothing}/${each.value}"`,
		`"${var.secret}/${each.value}"`,
		`"img/${var.norm}${each.key}"`,
		`"${path.root}/${each.value}"`,
		`"${path.root}/../elsewhere/${each.key}"`,
		`"./img/${each.value}"`,
		`"img/./${each.value}"`,
		`"img//${each.value}"`,
		`"${path.module}/../${path.module}/img/${each.key}"`,
	}
	filename := []string{
		``,
		`"${each.key}.png"`,
		`"fixed.png"`,
		`each.key`,
		`"x-${each.value}"`,
		`""`,
		`"u\u0308-${each.key}"`,
		`"${var.sub}-${each.key}"`,
		`"${var.secret}${each.key}"`,
	}
	const merchant = `
merchant "m" {
  mchid   = "1900000001"
  sandbox = true
}
`
	// The variables of the resource's module: in the root module their
	// defaults, in the module the arguments of its two instances.
	const variables = `
variable "dir" {
  default = "img"
}
variable "sub" {
  default = "sub"
}
variable "secret" {
  default   = "img"
  sensitive = true
}
variable "num" {
  default = 5
}
variable "empty" {
  default = ""
}
variable "nothing" {
  type    = string
  default = null
}
variable "norm" {
  default = "u\u0308"
}
locals {
  dir = "img"
}
`
	const call = `
module "s" {
  source   = "./mod"
  for_each = { a = "img", b = "other" }
  dir      = each.value
  sub      = each.key == "a" ? "sub" : "."
}
`
	n := 0
	for _, layout := range []string{"flat", "module"} {
		for i, fe := range forEach {
			for j, src := range source {
				// The filenames rotate, so that each meets many sources and for_each values.
				fn := filename[(i+j)%len(filename)]
				body := fmt.Sprintf("for_each = %s\n  source = %s\n", fe, src)
				if fn != "" {
					body += fmt.Sprintf("  filename = %s\n", fn)
				}
				resource := `
resource "wechatpay_image" "r" {
  ` + body + `}
`
				root, mod := merchant+variables+resource, ""
				if layout == "module" {
					root, mod = merchant+call, variables+resource
				}
				if err := os.WriteFile(filepath.Join(dir, "main.wxm.hcl"), []byte(root), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "mod", "main.wxm.hcl"), []byte(mod), 0o644); err != nil {
					t.Fatal(err)
				}
				fast := evaluateFor(t, dir, true)
				general := evaluateFor(t, dir, false)
				if !reflect.DeepEqual(fast, general) {
					t.Fatalf("%s: for_each = %s, source = %s, filename = %s:\nfast:    %s\ngeneral: %s", layout, fe, src, fn, fast, general)
				}
				if layout == "module" && strings.Contains(general, "Addr:module.s[") || layout == "flat" && strings.Contains(general, "Addr:wechatpay_image") {
					n++
				}
			}
		}
	}
	if n < 150 {
		t.Fatalf("only %d configurations gave instances", n)
	}
}

// TestFastPathsAtScale compares the two evaluators over enough instances
// for the fast path to build them on every core, in the root module and
// in a module's instance (whose sources are shown from the root module's
// directory).
func TestFastPathsAtScale(t *testing.T) {
	dir := t.TempDir()
	for _, base := range []string{"", "mod/"} {
		for i := range 2*parallelBlock + 100 {
			p := filepath.Join(dir, filepath.FromSlash(base), "img", fmt.Sprintf("d%d", i%7), fmt.Sprintf("f%05d%s.png", i, []string{"", " ü", "\"", "${x}", "..", "u\u0308"}[i%6]))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	const merchant = "merchant \"m\" {\n  mchid   = \"1900000001\"\n  sandbox = true\n}\n"
	for _, tc := range []struct{ layout, body string }{
		{"flat", `for_each = fileset("img", "**/*.png")
  source   = "img/${each.value}"`},
		{"flat", `for_each = fileset("img", "**/*.png")
  source   = "img/${each.key}"
  filename = "x-${each.key}"`},
		{"flat", `for_each = fileset("img", "**/*.png")
  source   = "./img/${each.key}"
  filename = each.key`},
		{"module", `for_each = fileset("img", "**/*.png")
  source   = "img/${each.value}"`},
		{"module", `for_each = fileset("${path.module}/img", "**/*.png")
  source   = "${path.module}/img/${each.value}"`},
		{"module", `for_each = fileset("${path.root}/mod/img", "**")
  source   = "${path.root}/mod/img/${each.value}"
  filename = "${each.key}"`},
	} {
		resource := "resource \"wechatpay_image\" \"r\" {\n  " + tc.body + "\n}\n"
		root, mod := merchant+resource, ""
		if tc.layout == "module" {
			root, mod = merchant+"module \"s\" {\n  source = \"./mod\"\n}\n", resource
		}
		if err := os.WriteFile(filepath.Join(dir, "main.wxm.hcl"), []byte(root), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "mod", "main.wxm.hcl"), []byte(mod), 0o644); err != nil {
			t.Fatal(err)
		}
		fast, general := evaluateFor(t, dir, true), evaluateFor(t, dir, false)
		if fast != general {
			t.Fatalf("%s: %s: the evaluators differ", tc.layout, tc.body)
		}
		if n := strings.Count(general, "Addr:"); n != 2*parallelBlock+100 {
			t.Fatalf("%s: %s: %d instances", tc.layout, tc.body, n)
		}
	}
}

// evaluateFor loads and evaluates the configuration in dir and describes
// the instances and diagnostics.
func evaluateFor(t *testing.T, dir string, fast bool) string {
	t.Helper()
	cfg, diags := Load(dir)
	if diags.HasErrors() {
		return "load: " + describeDiags(diags)
	}
	cfg.general = !fast
	ev, diags := cfg.Evaluate(nil)
	var b strings.Builder
	for _, in := range ev.Instances {
		fmt.Fprintf(&b, "{Addr:%s Key:%q HasKey:%v Merchant:%s Source:%q Path:%q Filename:%q Range:%s}\n",
			in.Addr, in.Key, in.HasKey, in.Merchant, in.Source, in.Path, in.Filename, in.SourceRange())
	}
	return b.String() + describeDiags(diags)
}

func describeDiags(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		fmt.Fprintf(&b, "[%d %s: %s", d.Severity, d.Summary, d.Detail)
		if d.Subject != nil {
			fmt.Fprintf(&b, " @%s", d.Subject)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

// TestFastPathsApply checks that the usual shapes do take the specialised
// paths, so that the comparison above compares something.
func TestFastPathsApply(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "img"), 0o755)
	os.WriteFile(filepath.Join(dir, "img", "a.png"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.wxm.hcl"), []byte(`
merchant "m" {
  mchid   = "1900000001"
  sandbox = true
}
resource "wechatpay_image" "r" {
  for_each = fileset("img", "**/*.png")
  source   = "img/${each.value}"
  filename = "${each.key}"
}
`), 0o644)
	cfg, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	ev, diags := cfg.Evaluate(nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	r := cfg.Resources[0]
	s := newScope(ev, nil)
	ctx, diags := s.evalContext([]hcl.Expression{r.ForEach}, "test")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if keys, ok := s.fastFileset(r.ForEach, ctx); !ok || !reflect.DeepEqual(keys.strings(), []string{"a.png"}) {
		t.Errorf("fileset fast path: %v %v", keys, ok)
	}
	if compileTemplate(r.Source) == nil || compileTemplate(r.Filename) == nil {
		t.Error("templates not compiled")
	}
}

// TestFastPathsStepAside checks the rule of fastPathsAllowed: a
// configuration with a merchant block with for_each or count is evaluated
// by the general evaluator alone (a module's resources too, as they are
// part of it), with the instances the fast paths would have given; one
// with modules takes the fast paths, in its modules too, and gives the
// instances the general evaluator gives.
func TestFastPathsStepAside(t *testing.T) {
	const resource = `
resource "wechatpay_image" "r" {
  for_each = fileset("img", "*.png")
  source   = "img/${each.value}"
}
`
	for _, tc := range []struct {
		name, config string
		fast         bool
		module       string // the module's configuration, if not resource
	}{
		{"plain", `merchant "m" {
  sandbox = true
}` + resource, true, ""},
		{"module", `merchant "m" {
  sandbox = true
}
module "shop" {
  source = "./shop"
}` + resource, true, ""},
		// As bench/gencorpus writes the module layout: each instance its
		// own merchant, and its sources made from var and path.
		{"module for_each", `merchant "m" {
  sandbox = true
}
module "shop" {
  source   = "./shop"
  for_each = { "a" = "1900000001", "b" = "1900000002" }
  mchid    = each.value
  dir      = each.key == "a" ? "img" : "."
}` + strings.ReplaceAll(resource, `"r"`, `"root"`), true, `variable "mchid" {
  type = string
}
variable "dir" {
  type = string
}
merchant "shop" {
  mchid   = var.mchid
  sandbox = true
}
resource "wechatpay_image" "r" {
  for_each = fileset("${path.module}/${var.dir}", "*.png")
  source   = "${path.root}/shop/${var.dir}/${each.value}"
  filename = "${var.mchid}-${each.key}"
}
`},
		{"merchant for_each", `merchant "m" {
  for_each = toset(["a", "b"])
  sandbox  = true
}
resource "wechatpay_image" "r" {
  for_each = fileset("img", "*.png")
  merchant = merchant.m["a"]
  source   = "img/${each.value}"
}
`, false, ""},
		{"merchant count", `merchant "m" {
  count   = 2
  sandbox = true
}` + resource, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "img"), 0o755)
			os.WriteFile(filepath.Join(dir, "img", "a.png"), []byte("x"), 0o644)
			os.WriteFile(filepath.Join(dir, "main.wxm.hcl"), []byte(tc.config), 0o644)
			// The module's own resource lists files of its directory.
			os.MkdirAll(filepath.Join(dir, "shop", "img"), 0o755)
			os.WriteFile(filepath.Join(dir, "shop", "img", "b.png"), []byte("x"), 0o644)
			os.WriteFile(filepath.Join(dir, "shop", "a.png"), []byte("y"), 0o644)
			module := resource
			if tc.module != "" {
				module = tc.module
			}
			os.WriteFile(filepath.Join(dir, "shop", "main.wxm.hcl"), []byte(module), 0o644)
			cfg, diags := Load(dir)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if got := fastPathsAllowed(cfg); got != tc.fast {
				t.Fatalf("fastPathsAllowed = %v, want %v", got, tc.fast)
			}
			ev := &Evaluation{Config: cfg}
			s := newScope(ev, nil)
			if len(cfg.Resources) != 1 || cfg.Resources[0].ForEach == nil {
				t.Fatal("the resource did not load")
			}
			r := cfg.Resources[0]
			ctx, diags := s.evalContext([]hcl.Expression{r.ForEach}, "test")
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if _, ok := s.fastFileset(r.ForEach, ctx); ok != tc.fast {
				t.Errorf("fileset fast path taken: %v, want %v", ok, tc.fast)
			}
			// The general evaluator gives the same instances as the
			// fast paths would have (when the configuration evaluates).
			fast, general := evaluateFor(t, dir, true), evaluateFor(t, dir, false)
			if fast != general {
				t.Errorf("fast paths:\n%s\ngeneral:\n%s", fast, general)
			}
			// The comparison compared instances: every case evaluates,
			// the module's too (merchant count is refused, with a
			// diagnostic, after the instances).
			if !strings.Contains(general, `["a.png"]`) ||
				tc.name == "module" && !strings.Contains(general, `Addr:module.shop.wechatpay_image.r["b.png"]`) ||
				tc.name == "module for_each" && (!strings.Contains(general, `Addr:module.shop["a"].wechatpay_image.r["b.png"] Key:"b.png" HasKey:true Merchant:module.shop["a"].merchant.shop Source:"shop/img/b.png"`) ||
					!strings.Contains(general, `Addr:module.shop["b"].wechatpay_image.r["a.png"] Key:"a.png" HasKey:true Merchant:module.shop["b"].merchant.shop Source:"shop/a.png"`) ||
					!strings.Contains(general, `Filename:"1900000002-a.png"`)) ||
				tc.name != "merchant count" && strings.Contains(general, "\n[") {
				t.Errorf("the configuration did not evaluate as expected:\n%s", general)
			}
		})
	}
}
