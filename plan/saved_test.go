package plan

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wxmedia/wxmedia/schema"
	"github.com/wxmedia/wxmedia/state"
)

// recheckFixture saves a plan of the fixture made by version 1 and returns
// the file and a Recheck that loads the fixture's configuration and state,
// recording which steps ran.
func recheckFixture(t *testing.T) (*fixture, string, *Recheck, *[]string) {
	f := newFixture(t, cfg, map[string][]byte{"a/x.png": pngBytes("x")})
	f.snap.PlanKey = []byte("0123456789abcdef0123456789abcdef")
	var steps []string
	r := &Recheck{
		Version: "1",
		Load: func(adjust func(*schema.Config, map[string]schema.VarValue) error) (*schema.Evaluation, error) {
			steps = append(steps, "load")
			c, diags := schema.Load(f.dir)
			if diags.HasErrors() {
				return nil, diags
			}
			given := map[string]schema.VarValue{}
			if err := adjust(c, given); err != nil {
				return nil, err
			}
			ev, diags := c.EvaluateWith(given, nil)
			if diags.HasErrors() {
				return nil, diags
			}
			return ev, nil
		},
		State: func() (*state.Snapshot, error) { steps = append(steps, "state"); return f.snap, nil },
		Plan: func(in Input) (*Plan, error) {
			steps = append(steps, "plan")
			in.Merchants = map[string]MerchantIdentity{"m": {MchID: "1900000001", Service: "sandbox-x"}}
			p, diags := Make(in)
			if diags.HasErrors() {
				return nil, diags
			}
			return p, nil
		},
	}
	p, err := r.Plan(Input{Eval: mustEval(t, f.dir), State: f.snap, Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "saved.plan")
	if err := Save(path, p); err != nil {
		t.Fatal(err)
	}
	steps = nil
	return f, path, r, &steps
}

// mustEval loads and evaluates the configuration in dir; t fails on an
// error.
func mustEval(t testing.TB, dir string) *schema.Evaluation {
	t.Helper()
	c, diags := schema.Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	ev, diags := c.Evaluate(nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return ev
}

// A saved plan is checked in a fixed order, and each check stops before
// the steps after it: nothing is loaded for another version, the state is
// not opened for a changed configuration, nothing is planned against a
// changed state.
func TestRecheckSavedOrder(t *testing.T) {
	for _, tt := range []struct {
		name  string
		spoil func(f *fixture, r *Recheck)
		want  error
		steps string
	}{
		{"unchanged", func(*fixture, *Recheck) {}, nil, "load state plan"},
		{"version", func(_ *fixture, r *Recheck) { r.Version = "2" }, ErrVersion, ""},
		{"config", func(f *fixture, _ *Recheck) {
			os.WriteFile(filepath.Join(f.dir, "extra.wxm.hcl"), []byte("# a comment\n"), 0o644)
		}, ErrConfigChanged, "load"},
		{"state", func(f *fixture, _ *Recheck) { f.snap.Serial++ }, ErrStale, "load state"},
		{"source", func(f *fixture, _ *Recheck) {
			os.WriteFile(filepath.Join(f.dir, "a/x.png"), pngBytes("changed"), 0o644)
		}, ErrFileChanged, "load state plan"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, path, r, steps := recheckFixture(t)
			t.Chdir(f.dir)
			tt.spoil(f, r)
			p, err := RecheckSaved(path, *r)
			var refused *RefusedError
			switch {
			case tt.want == nil && (err != nil || p == nil):
				t.Fatalf("RecheckSaved: %v", err)
			case tt.want != nil && (!errors.Is(err, tt.want) || !errors.As(err, &refused) || refused.Path != path):
				t.Fatalf("error %v, want a *RefusedError for %s wrapping %v", err, path, tt.want)
			}
			if got := strings.Join(*steps, " "); got != tt.steps {
				t.Errorf("steps %q, want %q", got, tt.steps)
			}
		})
	}
}

// Open names the file, and refuses what is not a plan.
func TestOpenNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "not.plan")
	os.WriteFile(path, []byte("hello"), 0o644)
	if _, err := Open(path); !errors.Is(err, ErrNotPlanFile) {
		t.Errorf("error %v, want ErrNotPlanFile", err)
	}
	if _, err := Open(path + ".missing"); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v, want a missing file", err)
	}
}
