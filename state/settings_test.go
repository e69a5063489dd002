package state

import (
	"errors"
	"io/fs"
	"os"
	"testing"

	"github.com/wxmedia/wxmedia/schema"
)

// TestSettingsAgreeWithTheLanguage checks that the defaults the
// configuration language documents are the ones the states use.
func TestSettingsAgreeWithTheLanguage(t *testing.T) {
	if schema.DefaultStatePath != DefaultPath {
		t.Errorf("schema.DefaultStatePath = %q, state.DefaultPath = %q", schema.DefaultStatePath, DefaultPath)
	}
	if schema.OutputsFileName != OutputsFileName {
		t.Errorf("schema.OutputsFileName = %q, state.OutputsFileName = %q", schema.OutputsFileName, OutputsFileName)
	}
	if schema.DefaultPostgresSchema != DefaultPostgresSchema {
		t.Errorf("schema.DefaultPostgresSchema = %q, state.DefaultPostgresSchema = %q", schema.DefaultPostgresSchema, DefaultPostgresSchema)
	}
	if schema.BackendLocal != TypeLocal || schema.BackendPostgres != TypePostgres {
		t.Errorf("backend types differ: schema %q, %q; state %q, %q", schema.BackendLocal, schema.BackendPostgres, TypeLocal, TypePostgres)
	}
	// Settings converts from the language's, field for field.
	s := Settings(schema.BackendSettings{Type: TypePostgres, Path: "p", ConnStr: "c", SchemaName: "n"})
	if s != (Settings{Type: TypePostgres, Path: "p", ConnStr: "c", SchemaName: "n"}) {
		t.Errorf("Settings(schema.BackendSettings) = %+v", s)
	}
}

// TestOpenBySettings: a local state by its settings, from never written
// to written, as the state commands see it.
func TestOpenBySettings(t *testing.T) {
	path := t.TempDir() + "/st/state.db"
	s := Settings{Type: TypeLocal, Path: path}
	if got := s.Where(); got != path {
		t.Errorf("Where() = %q", got)
	}
	if got := (Settings{Type: TypePostgres, ConnStr: "postgres://u:secret@h/d"}).Where(); got != `postgres schema "wxmedia"` {
		t.Errorf("postgres Where() = %q", got)
	}
	if ok, err := Exists(s); ok || err != nil {
		t.Fatalf("Exists before any write = %v, %v", ok, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Exists created the state: %v", err)
	}
	st, err := Open(s, Options{Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetOutputs(map[string]Output{"x": {Value: []byte(`"v"`), Type: []byte(`"string"`)}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if ok, err := Exists(s); !ok || err != nil {
		t.Fatalf("Exists after a write = %v, %v", ok, err)
	}
	if err := PublishOutputs(s, map[string]Output{"x": {Value: []byte(`"v"`), Type: []byte(`"string"`)}}); err != nil {
		t.Fatal(err)
	}
	outs, err := ReadOutputs(s)
	if err != nil || string(outs["x"].Value) != `"v"` {
		t.Fatalf("ReadOutputs = %+v, %v", outs, err)
	}
	if _, err := Open(Settings{Type: "s3"}, Options{}); err == nil {
		t.Error("an unknown backend type opened")
	}
}
