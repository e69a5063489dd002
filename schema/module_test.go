package schema

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTree writes files (slash paths relative to the returned directory).
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func evalTree(t *testing.T, files map[string]string) (*Evaluation, string) {
	t.Helper()
	cfg, diags := Load(writeTree(t, files))
	if diags.HasErrors() {
		return nil, diags.Error()
	}
	ev, diags := cfg.Evaluate(nil)
	if diags.HasErrors() {
		return ev, diags.Error()
	}
	return ev, ""
}

func TestMerchantInstanceName(t *testing.T) {
	for _, c := range []struct {
		module, name, key string
		hasKey            bool
		want              string
	}{
		{"", "acme", "", false, "acme"}, // what states before for_each record
		{"", "shop", "sh-001", true, `merchant.shop["sh-001"]`},
		{`module.store["a"]`, "m", "", false, `module.store["a"].merchant.m`},
		{`module.a[0].module.b`, "m", `x"y`, true, `module.a[0].module.b.merchant.m["x\"y"]`},
	} {
		if got := MerchantInstanceName(c.module, c.name, c.key, c.hasKey); got != c.want {
			t.Errorf("MerchantInstanceName(%q, %q, %q, %v) = %s, want %s", c.module, c.name, c.key, c.hasKey, got, c.want)
		}
	}
	if got := MerchantLabel("acme"); got != `merchant "acme"` {
		t.Errorf("MerchantLabel(acme) = %s", got)
	}
	if got := MerchantLabel(`merchant.shop["a"]`); got != `merchant.shop["a"]` {
		t.Errorf(`MerchantLabel(merchant.shop["a"]) = %s`, got)
	}
}

// The instances of modules and of merchants with for_each, their
// addresses, merchants and paths.
func TestModuleInstances(t *testing.T) {
	ev, errs := evalTree(t, map[string]string{
		"main.wxm.hcl": `
locals { shops = { a = "1900000001", b = "1900000002" } }
merchant "shop" {
  for_each = local.shops
  mchid    = each.value
  sandbox  = true
}
resource "wechatpay_image" "logo" {
  for_each = local.shops
  merchant = merchant.shop[each.key]
  source   = "logo.png"
}
module "store" {
  source   = "./modules/store"
  for_each = local.shops
  mchid    = each.value
}
module "counted" {
  source = "./modules/store"
  count  = 2
  mchid  = "190000000${count.index}"
}
output "ids" { value = { for k, m in module.store : k => m.path } }
`,
		"modules/store/main.wxm.hcl": `
variable "mchid" { type = string }
merchant "m" {
  mchid   = var.mchid
  sandbox = true
}
resource "wechatpay_image" "logo" {
  source = "${path.root}/logo.png"
}
module "inner" { source = "./inner" }
output "path" { value = path.root }
`,
		"modules/store/inner/main.wxm.hcl": `
resource "wechatpay_image" "badge" {
  source = "${path.module}/badge.png"
}
`,
	})
	if errs != "" {
		t.Fatal(errs)
	}
	got := map[string]string{}
	for _, in := range ev.Instances {
		got[in.Addr] = in.Module() + " | " + in.Merchant + " | " + in.Source + " | " + in.Path
	}
	dir := ev.Config.Dir
	want := map[string]string{
		`wechatpay_image.logo["a"]`:                            ` | merchant.shop["a"] | logo.png | ` + filepath.Join(dir, "logo.png"),
		`module.store["b"].wechatpay_image.logo`:               `module.store["b"] | module.store["b"].merchant.m | logo.png | ` + filepath.Join(dir, "logo.png"),
		`module.store["a"].module.inner.wechatpay_image.badge`: `module.store["a"].module.inner | module.store["a"].merchant.m | modules/store/inner/badge.png | ` + filepath.Join(dir, "modules/store/inner/badge.png"),
		`module.counted[1].wechatpay_image.logo`:               `module.counted[1] | module.counted[1].merchant.m | logo.png | ` + filepath.Join(dir, "logo.png"),
		`module.counted[0].module.inner.wechatpay_image.badge`: `module.counted[0].module.inner | module.counted[0].merchant.m | modules/store/inner/badge.png | ` + filepath.Join(dir, "modules/store/inner/badge.png"),
	}
	for a, w := range want {
		if got[a] != w {
			t.Errorf("%s: got %q, want %q", a, got[a], w)
		}
	}
	if len(ev.Instances) != 2+2*2+2*2 {
		t.Errorf("%d instances, want 10: %v", len(ev.Instances), got)
	}
	if m := ev.Merchants[`module.counted[1].merchant.m`]; m == nil || m.MchID != "1900000001" || m.Module != "module.counted[1]" || m.Block != "m" {
		t.Errorf("merchant of module.counted[1]: %+v", m)
	}
	if m := ev.Merchants[`merchant.shop["b"]`]; m == nil || m.MchID != "1900000002" || !m.HasKey || m.Key != "b" {
		t.Errorf(`merchant.shop["b"]: %+v`, m)
	}
	if len(ev.Merchants) != 2+2+2 {
		t.Errorf("%d merchants, want 6", len(ev.Merchants))
	}
	outs, diags := ev.Outputs(nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if v := outs["ids"].Value; !v.IsKnown() || v.GetAttr("a").AsString() != "../.." {
		t.Errorf("ids = %#v", v)
	}
	if fastPathsAllowed(ev.Config) {
		t.Error("a configuration with modules is evaluated with the fast paths")
	}
}

// Bounds hold across modules: nesting depth, module instances, and the
// configuration text of every module together.
func TestModuleBounds(t *testing.T) {
	files := map[string]string{"main.wxm.hcl": `module "m" { source = "./m0" }`}
	for i := 0; i < MaxModuleDepth+2; i++ {
		files[fmt.Sprintf("m%d/main.wxm.hcl", i)] = fmt.Sprintf(`module "m" { source = "../m%d" }`, i+1)
	}
	files[fmt.Sprintf("m%d/main.wxm.hcl", MaxModuleDepth+2)] = `locals {}`
	if _, diags := Load(writeTree(t, files)); !strings.Contains(diags.Error(), "nest modules more than 16 deep") {
		t.Errorf("deep modules: %v", diags)
	}

	_, errs := evalTree(t, map[string]string{
		"main.wxm.hcl": `module "m" {
  source   = "./m"
  for_each = toset([for i in range(200) : tostring(i)])
}`,
		"m/main.wxm.hcl": `module "n" {
  source = "./n"
  count  = 200
}`,
		"m/n/main.wxm.hcl": `locals {}`,
	})
	if !strings.Contains(errs, "more than 20000 module instances") {
		t.Errorf("200 × 200 module instances: %s", errs)
	}

	// A link back to the calling directory is a cycle, not 16 copies.
	loop := writeTree(t, map[string]string{"main.wxm.hcl": `module "m" { source = "./sub/m" }`, "sub/main.wxm.hcl": `module "m" { source = "./m" }`})
	if err := os.Symlink("..", filepath.Join(loop, "sub", "m")); err != nil {
		t.Fatal(err)
	}
	if _, diags := Load(loop); !strings.Contains(diags.Error(), "Module calls itself") || strings.Contains(diags.Error(), "nested too deeply") {
		t.Errorf("a link back up: %v", diags)
	}

	// Two modules of 300 KiB each: past the 512 KiB of configuration text.
	big := "locals {\n" + strings.Repeat("  # "+strings.Repeat("x", 100)+"\n", 3000) + "}\n"
	_, diags := Load(writeTree(t, map[string]string{
		"main.wxm.hcl":   `module "a" { source = "./a" }` + "\n" + `module "b" { source = "./b" }`,
		"a/main.wxm.hcl": big,
		"b/main.wxm.hcl": big,
	}))
	if !strings.Contains(diags.Error(), "past 512 KiB") {
		t.Errorf("1 MiB of modules: %v", diags)
	}
}

// A credential flows into a module through its input, and out through
// each.value of a merchant with for_each: the caller's inputs are
// credentials too.
func TestModuleCredentialTaint(t *testing.T) {
	cfg, diags := Load(writeTree(t, map[string]string{
		"main.wxm.hcl": `
variable "k" { default = "abcdefghijklmnopqrstuvwxyz012345" }
locals {
  keys = { a = "bcdefghijklmnopqrstuvwxyz0123456" }
}
module "m" {
  source = "./m"
  key    = var.k
}
merchant "shop" {
  for_each   = local.keys
  sandbox    = true
  api_v2_key = each.value
}
`,
		"m/main.wxm.hcl": `
variable "key" {}
merchant "x" {
  sandbox    = true
  api_v2_key = var.key
}
`,
	}))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if got := strings.Join(cfg.SecretVariables(), ","); got != "k" {
		t.Errorf("SecretVariables = %s, want k", got)
	}
	ci := cfg.credentialInputs()
	if !ci.locals["keys"] {
		t.Error("local.keys, read by each.value into api_v2_key, is not a credential input")
	}
	ev, diags := cfg.Evaluate(nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	secrets := strings.Join(ev.Secrets(), ",")
	for _, s := range []string{"abcdefghijklmnopqrstuvwxyz012345", "bcdefghijklmnopqrstuvwxyz0123456"} {
		if !strings.Contains(secrets, s) {
			t.Errorf("secret %s not redacted (%s)", s, secrets)
		}
	}
}

// TestInstanceModuleAndResourceAddr checks that the module instance path
// and the resource address, read from the instance address, are those the
// instance was made in, whatever the keys of the module instances and of
// the instance hold (quotes, template sequences, the resource's own
// address, control and non-ASCII characters).
func TestInstanceModuleAndResourceAddr(t *testing.T) {
	keys := `["k", "a\"b", "$${x}", "%%{y}", "wechatpay_image.r[\"k\"]", "tab\there", "ü .png", "."]`
	ev, errs := evalTree(t, map[string]string{
		"main.wxm.hcl": `
merchant "m" {
  sandbox = true
}
resource "wechatpay_image" "r" {
  for_each = toset(` + keys + `)
  source   = "a.png"
}
resource "wechatpay_image" "one" {
  source = "a.png"
}
module "s" {
  source   = "./mod"
  for_each = toset(` + keys + `)
}
`,
		"mod/main.wxm.hcl": `
resource "wechatpay_image" "r" {
  for_each = toset(` + keys + `)
  source   = "a.png"
}
module "inner" {
  source = "./inner"
  count  = 2
}
`,
		"mod/inner/main.wxm.hcl": `
resource "wechatpay_image" "one" {
  source = "a.png"
}
`,
	})
	if errs != "" {
		t.Fatal(errs)
	}
	n := 0
	for _, in := range ev.Instances {
		mod, res := in.Module(), in.ResourceAddr()
		want := in.Resource.Addr()
		if mod != "" {
			want = mod + "." + want
		}
		if res != want {
			t.Errorf("%s: resource address %q, want %q", in.Addr, res, want)
		}
		addr := res
		if in.HasKey {
			addr = InstanceAddress(res, in.Key)
		}
		if addr != in.Addr {
			t.Errorf("%s: made again from %q and the key: %s", in.Addr, mod, addr)
		}
		if strings.HasPrefix(mod, `module.s[`) {
			n++
		}
		if mod != "" && !strings.HasPrefix(mod, "module.s[") || strings.Count(mod, "module.") > 2 {
			t.Errorf("%s: module %q", in.Addr, mod)
		}
	}
	if n != 8*8+8*2 || len(ev.Instances) != 8+1+n {
		t.Errorf("%d instances, %d in module.s", len(ev.Instances), n)
	}
}
