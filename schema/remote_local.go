package schema

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// producerStatePath finds the local state of the configuration in dir
// (name is dir as the reader wrote it, for messages), beside which apply
// publishes its outputs file: the file its `backend "local" { path = … }`
// names (relative to dir), or dir/.wxmedia/state.db without a backend
// block. The backend block is
// evaluated as the producer's own commands evaluate it when run without
// -var: with its variables' defaults, its *.auto.wxmvars.hcl files and
// env(). A directory without a readable configuration is taken to keep
// the default path, so that its published file alone still serves.
//
// A producer whose state is in postgres is an error that says how to read
// it: its connection string is its own secret, not something a reader
// borrows.
func producerStatePath(dir, name string) (string, error) {
	def := filepath.Join(dir, DefaultStatePath)
	cfg, diags := Load(dir)
	if diags.HasErrors() || cfg == nil || cfg.Backend == nil {
		return def, nil
	}
	if cfg.Backend.Type != BackendLocal {
		return "", fmt.Errorf("the configuration in %s keeps its state in a %s backend: read it with backend = %q and config = { conn_str = …, schema_name = … } instead of path", name, cfg.Backend.Type, cfg.Backend.Type)
	}
	given := map[string]VarValue{}
	if names, err := cfg.AutoVarFiles(); err == nil {
		for _, n := range names {
			vals, _ := cfg.ParseVarFile(filepath.Join(cfg.Dir, n))
			for k, v := range vals {
				if _, declared := cfg.Variables[k]; declared {
					given[k] = v
				}
			}
		}
	}
	ev := newEvaluation(cfg, nil)
	// Variables the backend does not use may lack a value; a missing one it
	// uses is reported by BackendSettings.
	_ = ev.evalVariables(given)
	s, diags := ev.BackendSettings()
	if diags.HasErrors() {
		var msgs []string
		for _, d := range diags {
			if d.Severity == hcl.DiagError {
				msgs = append(msgs, d.Summary+": "+d.Detail)
			}
		}
		return "", fmt.Errorf("cannot tell where the configuration in %s keeps its state: %s", name, strings.Join(msgs, "; "))
	}
	if s.Path == "" {
		return def, nil
	}
	p := s.Path
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	return p, nil
}
