package schema

import (
	"runtime"
	"strings"
	"testing"
)

// Module instances multiply resource instances: 3,000 instances of a
// module whose resource iterates 3,000 keys are nine million instances
// from a few lines and a 40 KB file. The evaluation stops at the limit
// with a diagnostic at the resource, within the 300 MB every
// configuration bomb stays under (docs/reference.md).
func TestModuleResourceInstancesBounded(t *testing.T) {
	var keys strings.Builder
	keys.WriteString("{")
	for i := range 3000 {
		if i > 0 {
			keys.WriteString(",")
		}
		keys.WriteString(`"k` + strings.Repeat("0", 3) + itoa(i) + `":1`)
	}
	keys.WriteString("}")
	dir := writeTree(t, map[string]string{
		"keys.json": keys.String(),
		"logo.png":  "x",
		"main.wxm.hcl": `merchant "m" { sandbox = true }
locals { keys = jsondecode(file("keys.json")) }
module "s" {
  source = "./s"
  count  = 3000
  keys   = local.keys
}`,
		"s/main.wxm.hcl": `variable "keys" {}
resource "wechatpay_image" "logo" {
  for_each = var.keys
  source   = "${path.root}/logo.png"
}`,
	})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cfg, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	_, diags = cfg.Evaluate(nil)
	runtime.ReadMemStats(&after)
	if !strings.Contains(diags.Error(), "Too many resource instances") || !strings.Contains(diags.Error(), "s/main.wxm.hcl:2") {
		t.Errorf("nine million resource instances: %v", diags)
	}
	if n := strings.Count(diags.Error(), "Too many resource instances"); n != 1 {
		t.Errorf("the limit is reported %d times, want once", n)
	}
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 300<<20 {
		t.Errorf("evaluation allocated %d MB, want under 300", grown>>20)
	}
}

func itoa(i int) string {
	s := ""
	for {
		s = string(rune('0'+i%10)) + s
		if i /= 10; i == 0 {
			return s
		}
	}
}

// Likewise merchant instances: 3,000 module instances of a merchant
// iterating 3,000 keys.
func TestModuleMerchantInstancesBounded(t *testing.T) {
	var keys strings.Builder
	keys.WriteString("{")
	for i := range 3000 {
		if i > 0 {
			keys.WriteString(",")
		}
		keys.WriteString(`"k` + itoa(i) + `":1`)
	}
	keys.WriteString("}")
	dir := writeTree(t, map[string]string{
		"keys.json": keys.String(),
		"main.wxm.hcl": `locals { keys = jsondecode(file("keys.json")) }
module "s" {
  source = "./s"
  count  = 3000
  keys   = local.keys
}`,
		"s/main.wxm.hcl": `variable "keys" {}
merchant "x" {
  for_each = var.keys
  sandbox  = true
}`,
	})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cfg, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	_, diags = cfg.Evaluate(nil)
	runtime.ReadMemStats(&after)
	if n := strings.Count(diags.Error(), "Too many merchant instances"); n != 1 || !strings.Contains(diags.Error(), "s/main.wxm.hcl:3") {
		t.Errorf("nine million merchant instances, reported %d times: %v", n, diags)
	}
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 300<<20 {
		t.Errorf("evaluation allocated %d MB, want under 300", grown>>20)
	}
}
