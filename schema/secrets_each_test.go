package schema

import (
	"strings"
	"testing"
)

// each.key (or count.index) used only to pick a credential out of a
// sensitive variable is not the credential: the for_each value stays
// usable by resources, as the reference advises (api_v2_key =
// var.v2_keys[each.key]). Reading each.value, or each.key as the value
// itself, still makes the whole for_each value a credential.
func TestCredentialIndexedByEachKey(t *testing.T) {
	const module = `
variable "key" { sensitive = true }
merchant "m" {
  sandbox    = true
  api_v2_key = var.key
}
resource "wechatpay_image" "logo" { source = "${path.root}/logo.png" }
`
	for _, tc := range []struct {
		name, main string
		refused    bool
	}{
		{"merchant indexed by each.key", `
variable "v2_keys" {
  sensitive = true
  default   = { a = "abcdefghijklmnopqrstuvwxyz012345" }
}
locals { shops = { a = "1900000001" } }
merchant "shop" {
  for_each   = local.shops
  sandbox    = true
  mchid      = each.value
  api_v2_key = var.v2_keys[each.key]
}
resource "wechatpay_image" "logo" {
  for_each = local.shops
  merchant = merchant.shop[each.key]
  source   = "logo.png"
}
`, false},
		{"module input indexed by each.key", `
variable "v2_keys" {
  sensitive = true
  default   = { a = "abcdefghijklmnopqrstuvwxyz012345" }
}
module "shop" {
  source   = "./m"
  for_each = jsondecode(file("shops.json"))
  key      = var.v2_keys[each.key]
}
`, false},
		{"module input indexed by count.index", `
variable "v2_keys" {
  sensitive = true
  default   = ["abcdefghijklmnopqrstuvwxyz012345"]
}
module "shop" {
  source = "./m"
  count  = length(jsondecode(file("shops.json")))
  key    = var.v2_keys[count.index]
}
`, false},
		{"merchant reading each.value", `
locals { shops = { a = "abcdefghijklmnopqrstuvwxyz012345" } }
merchant "shop" {
  for_each   = local.shops
  sandbox    = true
  api_v2_key = each.value
}
resource "wechatpay_image" "logo" {
  for_each = local.shops
  merchant = merchant.shop[each.key]
  source   = "logo.png"
}
`, true},
		{"module input of each.key itself", `
module "shop" {
  source   = "./m"
  for_each = jsondecode(file("shops.json"))
  key      = each.key
}
`, true},
		{"module input of each.key in a template", `
module "shop" {
  source   = "./m"
  for_each = jsondecode(file("shops.json"))
  key      = "${each.key}"
}
`, true},
		{"each.key indexing each.value", `
module "shop" {
  source   = "./m"
  for_each = jsondecode(file("shops.json"))
  key      = each.value[each.key]
}
`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The module's for_each (a file) is refused when it is a
			// credential: its keys become instance addresses.
			_, errs := evalTree(t, map[string]string{"main.wxm.hcl": tc.main, "m/main.wxm.hcl": module, "logo.png": "x", "shops.json": `{"abcdefghijklmnopqrstuvwxyz012345": {"abcdefghijklmnopqrstuvwxyz012345": "1900000001"}}`})
			refused := strings.Contains(errs, "derives from a credential")
			if refused != tc.refused {
				t.Errorf("refused = %v, want %v: %s", refused, tc.refused, errs)
			}
		})
	}
}
