package schema

import (
	"strings"
	"testing"
)

func TestSecretVariables(t *testing.T) {
	dir := writeFiles(t, map[string]string{"main.wxm.hcl": `
variable "key" {}
variable "db" {}
variable "prefix" {}
locals {
  k = upper(var.key)
}
merchant "m" {
  mchid      = "1900000001"
  sandbox    = true
  api_v2_key = local.k
}
wxmedia {
  backend "postgres" {
    conn_str    = "postgres://u:${var.db}@localhost/x"
    schema_name = var.prefix
  }
}
`})
	cfg, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if got := strings.Join(cfg.SecretVariables(), ","); got != "db,key" {
		t.Fatalf("secret variables %q, want db,key", got)
	}
}
