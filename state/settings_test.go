package state

import (
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
