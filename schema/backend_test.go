package schema

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// countingReader answers every read with the outputs given and counts
// the reads by backend type.
type countingReader struct {
	outs  map[string]RemoteOutput
	reads []BackendSettings
}

func (r *countingReader) ReadOutputs(s BackendSettings) (map[string]RemoteOutput, error) {
	r.reads = append(r.reads, s)
	if r.outs == nil {
		return nil, errors.New("connection refused")
	}
	return r.outs, nil
}

const stalledData = `
data "wxmedia_remote_state" "up" {
  backend = "postgres"
  config  = { conn_str = "postgres://wx@127.0.0.1:1/wx" }
}
`

// TestDecodeBackendReadsOnlyWhatItUses checks that the backend block is
// decoded without the rest of the configuration: a data source it does not
// use is never read, errors elsewhere do not matter, and a data source it
// uses is read once, on demand.
func TestDecodeBackendReadsOnlyWhatItUses(t *testing.T) {
	dir := writeFiles(t, map[string]string{"main.wxm.hcl": merchantBlock + stalledData + `
wxmedia {
  backend "local" { path = "${var.dir}/state.db" }
}
variable "dir" { default = "st" }
variable "unset" {}
resource "wechatpay_image" "x" { source = nosuch() }
`})
	cfg, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	r := &countingReader{}
	s, diags := cfg.DecodeBackend(nil, r)
	if diags.HasErrors() {
		t.Fatalf("errors outside the backend block matter: %s", diags.Error())
	}
	if s.Type != BackendLocal || s.Path != "st/state.db" {
		t.Errorf("settings = %+v", s)
	}
	if len(r.reads) != 0 {
		t.Errorf("a data source the backend does not use was read: %+v", r.reads)
	}

	dir = writeFiles(t, map[string]string{"main.wxm.hcl": stalledData + `
data "wxmedia_remote_state" "other" {
  backend = "postgres"
  config  = { conn_str = "postgres://wx@127.0.0.1:2/wx" }
}
wxmedia {
  backend "postgres" {
    conn_str    = local.conn
    schema_name = data.wxmedia_remote_state.up.outputs.schema
  }
}
locals { conn = data.wxmedia_remote_state.up.outputs.conn }
`})
	if cfg, diags = Load(dir); diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	str := func(v string) RemoteOutput {
		b, _ := json.Marshal(v)
		return RemoteOutput{Value: b, Type: json.RawMessage(`"string"`)}
	}
	r = &countingReader{outs: map[string]RemoteOutput{"conn": str("postgres://a@b/c"), "schema": str("s1")}}
	s, diags = cfg.DecodeBackend(nil, r)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if s.Type != BackendPostgres || s.ConnStr != "postgres://a@b/c" || s.SchemaName != "s1" {
		t.Errorf("settings = %+v", s)
	}
	if len(r.reads) != 1 || r.reads[0].ConnStr != "postgres://wx@127.0.0.1:1/wx" {
		t.Errorf("reads = %+v, want data.wxmedia_remote_state.up once", r.reads)
	}

	// A data source the block uses and that cannot be read is the block's
	// error.
	r = &countingReader{}
	if _, diags = cfg.DecodeBackend(nil, r); !diags.HasErrors() || !strings.Contains(diags.Error(), "Cannot read remote state") {
		t.Errorf("unreadable data source: %v", diags)
	}
	if len(r.reads) != 1 {
		t.Errorf("reads = %d, want 1", len(r.reads))
	}
}
