package schema

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/wxmedia/wxmedia/state"
)

func TestVariableValidation(t *testing.T) {
	dir := writeFiles(t, map[string]string{"main.wxm.hcl": merchantBlock + `
variable "env" {
  type = string
  validation {
    condition     = contains(["dev", "prod"], var.env)
    error_message = "env must be dev or prod, not ${var.env}."
  }
}
variable "secret" {
  sensitive = true
  validation {
    condition     = length(var.secret) > 4
    error_message = "too short: ${var.secret}"
  }
}
`})
	ok := map[string]VarValue{"env": {Raw: "dev", Source: "-var env"}, "secret": {Raw: "longenough", Source: "-var secret"}}
	if _, diags := loadEval(t, dir, ok); diags.HasErrors() {
		t.Fatalf("valid values refused: %s", diags.Error())
	}
	bad := map[string]VarValue{"env": {Raw: "qa", Source: "-var env"}, "secret": {Raw: "abc", Source: "-var secret"}}
	_, diags := loadEval(t, dir, bad)
	var all []string
	for _, d := range diags {
		all = append(all, d.Detail)
	}
	got := strings.Join(all, "\n")
	if !strings.Contains(got, "env must be dev or prod, not qa.") || !strings.Contains(got, "validation rule at main.wxm.hcl:9,3") {
		t.Errorf("env diagnostic: %s", got)
	}
	if strings.Contains(got, "abc") || !strings.Contains(got, "included a sensitive value") {
		t.Errorf("a sensitive value leaked or was not redacted: %s", got)
	}
}

func TestValidationMayOnlyReferToItsVariable(t *testing.T) {
	dir := writeFiles(t, map[string]string{"main.wxm.hcl": merchantBlock + `
variable "a" { default = "x" }
variable "b" {
  default = "y"
  validation {
    condition     = var.a == "x"
    error_message = "no."
  }
}
`})
	_, diags := Load(dir)
	if !strings.Contains(diags.Error(), "may refer only to var.b") {
		t.Errorf("diagnostics = %s", diags.Error())
	}
}

func TestVarFilesAndPrecedence(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.wxm.hcl":           merchantBlock + `variable "n" { type = list(number) }`,
		"a.auto.wxmvars.hcl":     `n = [1]`,
		"b.auto.wxmvars.hcl":     `n = [2, 3]`,
		"bad.wxmvars.hcl":        `n = ["x"]`,
		"undeclared.wxmvars.hcl": `m = 1`,
	})
	cfg, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	autos, err := cfg.AutoVarFiles()
	if err != nil || strings.Join(autos, ",") != "a.auto.wxmvars.hcl,b.auto.wxmvars.hcl" {
		t.Fatalf("AutoVarFiles = %v, %v", autos, err)
	}
	given := map[string]VarValue{}
	for _, f := range autos {
		vals, d := cfg.ParseVarFile(filepath.Join(dir, f))
		if d.HasErrors() {
			t.Fatal(d.Error())
		}
		for k, v := range vals {
			given[k] = v
		}
	}
	ev, d := cfg.Evaluate(given)
	if d.HasErrors() {
		t.Fatal(d.Error())
	}
	if want := cty.ListVal([]cty.Value{cty.NumberIntVal(2), cty.NumberIntVal(3)}); !ev.Vars["n"].RawEquals(want) {
		t.Errorf("n = %#v", ev.Vars["n"])
	}

	bad, _ := cfg.ParseVarFile(filepath.Join(dir, "bad.wxmvars.hcl"))
	_, d = cfg.Evaluate(bad)
	if !d.HasErrors() || d[0].Subject == nil || !strings.HasSuffix(d[0].Subject.Filename, "bad.wxmvars.hcl") {
		t.Errorf("type error not located in the file: %v", d)
	}
	und, _ := cfg.ParseVarFile(filepath.Join(dir, "undeclared.wxmvars.hcl"))
	for k, v := range given {
		und[k] = v
	}
	_, d = cfg.Evaluate(und)
	if d.HasErrors() || len(d) != 1 || !strings.Contains(d[0].Summary, "undeclared") {
		t.Errorf("undeclared variable in a file should be one warning: %v", d)
	}
	if _, d := cfg.ParseVarFile(filepath.Join(dir, "missing.wxmvars.hcl")); !d.HasErrors() {
		t.Errorf("missing variables file accepted")
	}
}

func TestRemoteState(t *testing.T) {
	root := t.TempDir()
	producer := filepath.Join(root, "producer")
	outs := map[string]state.Output{
		"logo":  {Value: json.RawMessage(`"media-1"`), Type: json.RawMessage(`"string"`)},
		"token": {Value: json.RawMessage(`"s3cret"`), Type: json.RawMessage(`"string"`), Sensitive: true},
	}
	if err := mkdirWrite(filepath.Join(producer, ".wxmedia"), outs); err != nil {
		t.Fatal(err)
	}
	consumer := writeFilesIn(t, filepath.Join(root, "consumer"), map[string]string{"main.wxm.hcl": merchantBlock + `
data "wxmedia_remote_state" "p" {
  path = "../producer"
}
output "logo" { value = data.wxmedia_remote_state.p.outputs.logo }
output "token" {
  value     = data.wxmedia_remote_state.p.outputs.token
  sensitive = true
}
`})
	ev, diags := loadEval(t, consumer, nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if !ev.Data["p"].GetAttr("outputs").GetAttr("token").IsMarked() {
		t.Errorf("sensitive remote output not marked")
	}
	o, d := ev.Outputs(nil)
	if d.HasErrors() {
		t.Fatal(d.Error())
	}
	if o["logo"].Value != cty.StringVal("media-1") || o["token"].Value != cty.StringVal("s3cret") || !o["token"].Sensitive {
		t.Errorf("outputs = %#v", o)
	}

	missing := writeFilesIn(t, filepath.Join(root, "missing"), map[string]string{"main.wxm.hcl": merchantBlock + `
data "wxmedia_remote_state" "p" {
  path = "../nowhere"
}
`})
	_, diags = loadEval(t, missing, nil)
	if !diags.HasErrors() || diags[0].Subject == nil || diags[0].Subject.Start.Line != 7 || !strings.Contains(diags[0].Detail, "run wxmedia apply") {
		t.Errorf("missing remote state: %v", diags)
	}

	pg := writeFilesIn(t, filepath.Join(root, "pg"), map[string]string{"main.wxm.hcl": merchantBlock + `
data "wxmedia_remote_state" "p" {
  backend = "s3"
  config  = { bucket = "x" }
}
`})
	_, diags = loadEval(t, pg, nil)
	if !strings.Contains(diags.Error(), "Unsupported remote state backend") {
		t.Errorf("unsupported remote state backend: %v", diags)
	}
	other := writeFilesIn(t, filepath.Join(root, "other"), map[string]string{"main.wxm.hcl": merchantBlock + `data "http" "x" {}`})
	if _, diags := Load(other); !strings.Contains(diags.Error(), "Unsupported data source") {
		t.Errorf("unknown data source: %v", diags)
	}
}

func TestLengthOfString(t *testing.T) {
	v, err := Functions(".")["length"].Call([]cty.Value{cty.StringVal("héllo")})
	if err != nil || !v.RawEquals(cty.NumberIntVal(5)) {
		t.Errorf("length(\"héllo\") = %#v, %v", v, err)
	}
	v, err = Functions(".")["length"].Call([]cty.Value{cty.ListVal([]cty.Value{cty.True})})
	if err != nil || !v.RawEquals(cty.NumberIntVal(1)) {
		t.Errorf("length([true]) = %#v, %v", v, err)
	}
}

func mkdirWrite(dir string, outs map[string]state.Output) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return state.WriteOutputsFile(filepath.Join(dir, state.OutputsFileName), outs)
}

func writeFilesIn(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
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
