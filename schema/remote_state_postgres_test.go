package schema

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/zclconf/go-cty/cty"

	"github.com/wxmedia/wxmedia/state"
	"github.com/wxmedia/wxmedia/state/backendtest"
)

// remoteStateConfig is a consumer of a postgres producer's outputs.
func remoteStateConfig(config string) map[string]string {
	return map[string]string{"main.wxm.hcl": merchantBlock + `
variable "pg" {
  type      = string
  sensitive = true
}
data "wxmedia_remote_state" "p" {
  backend = "postgres"
  config  = ` + config + `
}
output "logo" { value = data.wxmedia_remote_state.p.outputs.logo }
`}
}

func TestRemoteStatePostgresArguments(t *testing.T) {
	const secret = "pw-Secret-42"
	conn := "postgres://alice:" + secret + "@127.0.0.1:1/wx?connect_timeout=2"
	vars := map[string]VarValue{"pg": {Raw: conn, Source: "-var"}}
	for _, tc := range []struct{ config, want string }{
		{`{ schema_name = "p" }`, "config needs conn_str"},
		{`{ conn_str = var.pg, bucket = "x" }`, `no argument "bucket"`},
		{`"` + conn + `"`, "config must be an object"},
		{`{ conn_str = var.pg, schema_name = "1bad" }`, "schema_name"},
		{`{ conn_str = var.pg }`, `postgres schema "wxmedia"`},
		{`{ conn_str = "` + conn + `", schema_name = "p" }`, `postgres schema "p"`},
		{`{ conn_str = nosuch("` + conn + `") }`, "config"},
	} {
		dir := writeFilesIn(t, filepath.Join(t.TempDir(), "c"), remoteStateConfig(tc.config))
		_, diags := loadEval(t, dir, vars)
		if !diags.HasErrors() {
			t.Errorf("%s: no error", tc.config)
			continue
		}
		if !strings.Contains(diags.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.config, diags, tc.want)
		}
		for _, d := range diags {
			if strings.Contains(d.Detail+d.Summary, secret) {
				t.Errorf("%s: diagnostic shows the connection string: %v", tc.config, d)
			}
			// The lines of config may hold the connection string: every
			// diagnostic points at the block's header instead.
			if d.Subject == nil || d.Subject.Start.Line != 11 {
				t.Errorf("%s: diagnostic not at the block: %v", tc.config, d)
			}
		}
	}

	dir := writeFilesIn(t, filepath.Join(t.TempDir(), "c"), map[string]string{"main.wxm.hcl": merchantBlock + `
data "wxmedia_remote_state" "p" {
  backend = "postgres"
  path    = "../x"
}
`})
	if _, diags := loadEval(t, dir, nil); !strings.Contains(diags.Error(), "path is for the local backend") {
		t.Errorf("path with postgres: %v", diags)
	}
	dir = writeFilesIn(t, filepath.Join(t.TempDir(), "c"), map[string]string{"main.wxm.hcl": merchantBlock + `
data "wxmedia_remote_state" "p" {
  backend = "postgres"
}
`})
	if _, diags := loadEval(t, dir, nil); !strings.Contains(diags.Error(), "needs config") {
		t.Errorf("postgres without config: %v", diags)
	}
}

// A variable feeding a remote state's conn_str is a secret: saved plans
// never record it.
func TestRemoteStateConnStrVariablesAreSecret(t *testing.T) {
	dir := writeFilesIn(t, filepath.Join(t.TempDir(), "c"), map[string]string{"main.wxm.hcl": merchantBlock + `
variable "host" { default = "db" }
variable "schema" { default = "p" }
locals { conn = "postgres://u@${var.host}/x" }
data "wxmedia_remote_state" "p" {
  backend = "postgres"
  config  = { conn_str = local.conn, schema_name = var.schema }
}
`})
	cfg, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if got := cfg.SecretVariables(); !slices.Equal(got, []string{"host"}) {
		t.Errorf("SecretVariables() = %v, want [host]", got)
	}
}

func TestRemoteStatePostgres(t *testing.T) {
	conn := backendtest.PostgresDatabase(t)
	producer, err := state.OpenPostgres(conn, "producer", state.Options{Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	err = producer.SetOutputs(map[string]state.Output{
		"logo":  {Value: json.RawMessage(`"media-1"`), Type: json.RawMessage(`"string"`)},
		"token": {Value: json.RawMessage(`"s3cret"`), Type: json.RawMessage(`"string"`), Sensitive: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]VarValue{"pg": {Raw: conn, Source: "-var"}}

	// The producer still holds its lock: reading does not wait for it.
	dir := writeFilesIn(t, filepath.Join(t.TempDir(), "c"), remoteStateConfig(`{ conn_str = var.pg, schema_name = "producer" }`))
	ev, diags := loadEval(t, dir, vars)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	p := ev.Data["p"]
	if p.GetAttr("outputs").GetAttr("logo") != cty.StringVal("media-1") || !p.GetAttr("outputs").GetAttr("token").IsMarked() {
		t.Errorf("outputs = %#v", p.GetAttr("outputs"))
	}
	if p.GetAttr("schema_name") != cty.StringVal("producer") || p.GetAttr("backend") != cty.StringVal("postgres") {
		t.Errorf("data source = %#v", p)
	}
	if p.Type().HasAttribute("config") || p.Type().HasAttribute("conn_str") {
		t.Errorf("the data source's value holds its config: %#v", p)
	}

	// A schema without a state, and a state never written, are errors at
	// the block.
	for _, name := range []string{"nosuch", "empty"} {
		if name == "empty" {
			c, err := pgx.Connect(t.Context(), conn)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Exec(t.Context(), "CREATE SCHEMA empty")
			c.Close(t.Context())
			if err != nil {
				t.Fatal(err)
			}
		}
		dir := writeFilesIn(t, filepath.Join(t.TempDir(), "c"), remoteStateConfig(`{ conn_str = var.pg, schema_name = "`+name+`" }`))
		_, diags := loadEval(t, dir, vars)
		if !diags.HasErrors() || diags[0].Subject == nil || diags[0].Subject.Start.Line != 11 ||
			!strings.Contains(diags[0].Detail, `postgres schema "`+name+`", and there is no such state`) {
			t.Errorf("schema %s: %v", name, diags)
		}
	}
}
