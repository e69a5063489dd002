package schema

import (
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
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

// taintConfig feeds api_v2_key from a variable (not declared sensitive),
// a local, env() and file(); conn_str from another variable; and names a
// private key file.
const taintConfig = `
variable "key" {}
variable "db" {}
variable "plain" { default = "ordinary" }
locals {
  k    = upper(var.key)
  e    = env("WXMEDIA_TEST_TAINT_ENV")
  f    = trimspace(file("v2key.txt"))
  safe = "${var.plain}-x"
}
merchant "m" {
  mchid            = "1900000001"
  sandbox          = true
  private_key_file = "keys/key.pem"
  api_v2_key       = "${local.k}${local.e}${local.f}"
}
wxmedia {
  backend "postgres" {
    conn_str = "postgres://u:${var.db}@localhost/x"
  }
}
resource "wechatpay_image" "a" {
  source = "a.png"
}
`

func TestCredentialTaint(t *testing.T) {
	t.Setenv("WXMEDIA_TEST_TAINT_ENV", "env-secret-value")
	for _, tc := range []struct {
		name, output string
		// refused: the output is refused as a credential.
		refused bool
	}{
		{"variable", `value = "key=${var.key}"`, true},
		{"variable sensitive", "value = var.key\nsensitive = true", true},
		{"local", `value = [local.k]`, true},
		{"local sensitive", "value = { k = local.e }\nsensitive = true", true},
		{"env", `value = env("WXMEDIA_TEST_TAINT_ENV")`, true},
		{"file of a key file read for a credential", `value = file("v2key.txt")`, true},
		{"file of the private key", `value = file("keys/key.pem")`, true},
		{"file of the private key another way", `value = file("./keys/../keys/key.pem")`, true},
		{"conn_str variable", `value = var.db`, true},
		{"through a function and a condition", `value = length(var.plain) > 0 ? lower(local.k) : ""`, true},
		{"an ordinary variable", `value = var.plain`, false},
		{"an ordinary local", `value = local.safe`, false},
		{"another env variable", `value = env("HOME") != ""`, false},
		{"another file", `value = file("a.png") != ""`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{
				"main.wxm.hcl": taintConfig,
				"out.wxm.hcl":  "output \"o\" {\n" + tc.output + "\n}\n",
				"v2key.txt":    "file-secret-value\n",
				"keys/key.pem": "-----BEGIN PRIVATE KEY-----\nprivate-key-material\n-----END PRIVATE KEY-----\n",
				"a.png":        "x",
			})
			ev, diags := loadEval(t, dir, map[string]VarValue{"key": {Raw: "var-secret-value"}, "db": {Raw: "db-password"}})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			outs, diags := ev.Outputs(nil)
			if !tc.refused {
				if diags.HasErrors() {
					t.Fatalf("refused: %v", diags)
				}
				if _, ok := outs["o"]; !ok {
					t.Fatal("output missing")
				}
				return
			}
			if !diags.HasErrors() || len(diags) != 1 {
				t.Fatalf("diagnostics %v, want the output refused", diags)
			}
			d := diags[0]
			if d.Summary != "Output refers to a credential" || d.Subject == nil || filepath.Base(d.Subject.Filename) != "out.wxm.hcl" || d.Subject.Start.Line != 2 {
				t.Fatalf("diagnostic %q at %v, want the credential refused at out.wxm.hcl:2", d.Summary, d.Subject)
			}
			if _, ok := outs["o"]; ok {
				t.Fatal("the refused output has a value")
			}
			for _, sec := range []string{"var-secret-value", "VAR-SECRET-VALUE", "env-secret-value", "file-secret-value", "private-key-material", "db-password"} {
				if strings.Contains(d.Detail, sec) {
					t.Fatalf("diagnostic shows %q: %s", sec, d.Detail)
				}
			}
		})
	}
}

// Secrets gives what messages must never show: the credential arguments
// and their inputs' values, and sensitive variables.
func TestCredentialSecrets(t *testing.T) {
	t.Setenv("WXMEDIA_TEST_TAINT_ENV", "env-secret-value")
	dir := writeFiles(t, map[string]string{
		"main.wxm.hcl": taintConfig + `
variable "hush" {
  sensitive = true
}
output "e" { value = local.e }
`,
		"v2key.txt": "file-secret-value\n",
	})
	ev, diags := loadEval(t, dir, map[string]VarValue{"key": {Raw: "var-secret-value"}, "db": {Raw: "db-password"}, "hush": {Raw: "hush-value"}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	ev.Outputs(nil)
	got := strings.Join(ev.Secrets(), "|")
	for _, want := range []string{"var-secret-value", "VAR-SECRET-VALUE", "env-secret-value", "file-secret-value", "hush-value", "VAR-SECRET-VALUEenv-secret-valuefile-secret-value"} {
		if !strings.Contains("|"+got+"|", "|"+want+"|") {
			t.Errorf("Secrets() = %q, lacks %q", got, want)
		}
	}
	if strings.Contains(got, "ordinary") {
		t.Errorf("Secrets() = %q holds an ordinary value", got)
	}
	if _, d := ev.BackendSettings(); d.HasErrors() {
		t.Fatal(d)
	}
	if got := strings.Join(ev.Secrets(), "|"); !strings.Contains(got, "postgres://u:db-password@localhost/x") {
		t.Errorf("Secrets() = %q lacks the conn_str", got)
	}
}

// A diagnostic of a credential argument shows no value (HCL's "with
// local.k as …").
func TestCredentialArgumentDiagnostic(t *testing.T) {
	dir := writeFiles(t, map[string]string{"main.wxm.hcl": `
locals {
  k = "str-secret-value"
}
merchant "m" {
  sandbox    = true
  api_v2_key = local.k.x
}
`})
	_, diags := loadEval(t, dir, nil)
	if !diags.HasErrors() {
		t.Fatal("an attribute of a string was accepted")
	}
	var buf strings.Builder
	w := hcl.NewDiagnosticTextWriter(&buf, nil, 100, false)
	for _, d := range diags {
		w.WriteDiagnostic(d)
	}
	if !strings.Contains(buf.String(), "Unsupported attribute") || strings.Contains(buf.String(), "str-secret-value") {
		t.Fatalf("diagnostic shows the credential:\n%s", buf.String())
	}
}

// api_v3_key is a credential argument like api_v2_key: whatever feeds it
// is refused in an output, and its value is kept for redaction.
func TestCredentialTaintAPIv3Key(t *testing.T) {
	dir := writeFiles(t, map[string]string{"main.wxm.hcl": `
variable "v3" {}
locals {
  v3 = "${var.v3}"
}
merchant "m" {
  sandbox    = true
  api_v3_key = local.v3
}
output "leak" {
  value     = "v3=${var.v3}"
  sensitive = true
}
`})
	ev, diags := loadEval(t, dir, map[string]VarValue{"v3": {Raw: "0123456789abcdef0123456789abcdef"}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if _, diags := ev.Outputs(nil); !diags.HasErrors() || diags[0].Summary != "Output refers to a credential" {
		t.Fatalf("output from api_v3_key's variable: %v", diags)
	}
	if got := strings.Join(ev.Secrets(), "|"); !strings.Contains(got, "0123456789abcdef0123456789abcdef") {
		t.Fatalf("Secrets() = %q lacks the APIv3 key", got)
	}
	if got := strings.Join(ev.Config.SecretVariables(), ","); got != "v3" {
		t.Fatalf("SecretVariables() = %q", got)
	}
}

// In the JSON syntax, env() inside a credential argument's string template
// is found as in native syntax.
func TestCredentialTaintJSONSyntax(t *testing.T) {
	t.Setenv("WXMEDIA_TEST_TAINT_JSON", "json-env-secret")
	dir := writeFiles(t, map[string]string{
		"main.wxm.json": `{
  "merchant": {"m": {"sandbox": true, "api_v2_key": "${env(\"WXMEDIA_TEST_TAINT_JSON\")}"}},
  "output": {"leak": {"value": "${env(\"WXMEDIA_TEST_TAINT_JSON\")}"}, "ok": {"value": "${env(\"HOME\") != \"\"}"}}
}`,
	})
	ev, diags := loadEval(t, dir, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	outs, diags := ev.Outputs(nil)
	if len(diags) != 1 || diags[0].Summary != "Output refers to a credential" {
		t.Fatalf("diagnostics %v, want the leak output refused", diags)
	}
	if _, ok := outs["ok"]; !ok {
		t.Fatal("the ordinary output is missing")
	}
}

// A resource argument cannot use a credential: it is shown in plans and
// kept in state.
func TestCredentialInResourceArgument(t *testing.T) {
	dir := writeFiles(t, map[string]string{"main.wxm.hcl": `
variable "key" {}
merchant "m" {
  sandbox    = true
  api_v2_key = var.key
}
resource "wechatpay_image" "a" {
  source   = "a.png"
  filename = "${var.key}.png"
}
resource "wechatpay_image" "b" {
  for_each = toset([var.key])
  source   = "a.png"
}
`})
	_, diags := loadEval(t, dir, map[string]VarValue{"key": {Raw: "resource-secret-value"}})
	if len(diags) != 2 {
		t.Fatalf("diagnostics %v, want both arguments refused", diags)
	}
	for _, d := range diags {
		if !strings.Contains(d.Detail, "derives from a credential") || strings.Contains(d.Detail, "resource-secret-value") {
			t.Errorf("diagnostic %q: %s", d.Summary, d.Detail)
		}
	}
}
