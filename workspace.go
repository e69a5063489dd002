package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/hashicorp/hcl/v2"

	"github.com/wxmedia/wxmedia/apply"
	"github.com/wxmedia/wxmedia/internal/arguments"
	"github.com/wxmedia/wxmedia/internal/terminal"
	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/schema"
	"github.com/wxmedia/wxmedia/uploader/sandbox"
)

// statCachePath is the machine-local stat cache, beside the state and never
// part of it.
const statCachePath = dataDir + "/statcache"

// platformCertificatesPath keeps the platform certificates downloaded with
// a merchant's api_v3_key (public data), beside the state like the stat
// cache, whatever the backend.
const platformCertificatesPath = dataDir + "/platform-certificates.json"

// workspace is a loaded and evaluated configuration.
type workspace struct {
	cfg     *schema.Config
	ev      *schema.Evaluation
	sandbox *sandbox.Sandbox // nil unless a merchant has sandbox = true
	idents  map[string]plan.MerchantIdentity
	// log writes WXMEDIA_LOG records; credentials are redacted.
	log *slog.Logger
	// notes is the ui that opening the state tells it waits for the lock.
	notes *ui
}

// loadWorkspace reads and evaluates the configuration of the current
// directory, printing its diagnostics.
func loadWorkspace(u *ui, vars arguments.Vars) (*workspace, error) {
	return loadWorkspaceWith(u, vars, nil)
}

// loadWorkspaceWith is loadWorkspace with adjust, when not nil, called with
// the given variable values before evaluation (apply of a saved plan puts
// back the values the plan recorded).
func loadWorkspaceWith(u *ui, vars arguments.Vars, adjust func(*schema.Config, map[string]schema.VarValue) error) (*workspace, error) {
	w, diags, err := loadWorkspaceDiags(u, vars, adjust)
	if err != nil {
		return nil, err
	}
	u.diagnostics(w.cfg.Files(), diags)
	if diags.HasErrors() {
		return nil, errReported
	}
	return w, nil
}

// loadWorkspaceDiags reads and evaluates the configuration and returns its
// diagnostics, errors included, without printing them: each phase runs
// even after errors in the ones before, where that is safe (a phase whose
// input is incomplete would only report consequences), so that one run
// shows every mistake. The error is set, and the diagnostics printed, only
// when the workspace cannot be used at all.
func loadWorkspaceDiags(u *ui, vars arguments.Vars, adjust func(*schema.Config, map[string]schema.VarValue) error) (*workspace, hcl.Diagnostics, error) {
	cfg, diags := schema.Load(".")
	stop := func() (*workspace, hcl.Diagnostics, error) {
		u.diagnostics(cfg.Files(), diags)
		return nil, nil, errReported
	}
	if diags.HasErrors() && cfg.Partial() {
		return stop()
	}
	given, d := varValues(cfg, u.env.vars, vars)
	diags = append(diags, d...)
	if d.HasErrors() {
		return stop()
	}
	if adjust != nil {
		if err := adjust(cfg, given); err != nil {
			u.diagnostics(cfg.Files(), diags)
			return nil, nil, err
		}
	}
	ev, d := cfg.EvaluateWith(given, apply.RemoteState{})
	// Whatever the evaluation saw of credentials and sensitive values is
	// redacted from every message from now on, its own diagnostics first.
	u.Secrets.Add(ev.Secrets()...)
	diags = append(diags, d...)
	// Merchants that decoded are checked even when others did not.
	diags = append(diags, plan.CheckMerchants(ev)...)
	w := &workspace{cfg: cfg, ev: ev, log: terminal.NewLogger(u.stderr, u.Secrets, u.env.logOn, u.env.logLevel), notes: u}
	for _, m := range ev.Merchants {
		u.Secrets.Add(m.APIV2Key, m.APIV3Key)
	}
	if bs, d := ev.BackendSettings(); !d.HasErrors() {
		u.Secrets.Add(bs.ConnStr)
	}
	warnKeyPermissions(u, ev)
	w.log.Info("configuration loaded", "dir", cfg.Dir, "files", len(cfg.Filenames), "instances", len(ev.Instances), "merchants", len(ev.Merchants))
	sandboxID := ""
	for _, m := range ev.Merchants {
		if m.Sandbox && w.sandbox == nil {
			sb, err := sandbox.Open(sandboxDir)
			if err != nil {
				u.diagnostics(cfg.Files(), diags)
				return nil, nil, fmt.Errorf("opening the sandbox in %s: %w", sandboxDir, err)
			}
			w.sandbox, sandboxID = sb, sb.ID()
		}
	}
	w.idents = plan.MerchantIdentities(ev, sandboxID, defaultSandboxMchID)
	return w, diags, nil
}

// warnKeyPermissions warns about private key files that others may read.
func warnKeyPermissions(u *ui, ev *schema.Evaluation) {
	for _, name := range sortedKeys(ev.Merchants) {
		m := ev.Merchants[name]
		if m.Sandbox || m.PrivateKeyFile == "" {
			continue
		}
		st, err := os.Stat(configPath(m.PrivateKeyFile))
		if err != nil {
			continue // reported when the key is loaded
		}
		if perm := st.Mode().Perm(); perm&0o077 != 0 {
			u.warnf("%s: private_key_file %s is readable by group or others (mode %04o)", schema.MerchantLabel(name), m.PrivateKeyFile, perm)
			u.hints([]string{"run chmod 600 " + m.PrivateKeyFile})
		}
	}
}
