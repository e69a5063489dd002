package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBitFlipTrialCLI applies 40 images to a sandbox with the real binary,
// then flips random bits in copies of the state it wrote and runs plan
// -json -detailed-exitcode and show -json on each: no panic (exit status 2
// with a stack), no identifier other than the recorded one shown or
// planned with, and every refusal the clear "state file is corrupt" error
// with exit status 1, the file left as it was. WXMEDIA_SLOW_TESTS runs
// 1,000 damaged files, else 15.
func TestBitFlipTrialCLI(t *testing.T) {
	trials := 15
	if os.Getenv("WXMEDIA_SLOW_TESTS") != "" {
		trials = 1000
	}
	w := newCrashWorld(t, 40)
	ctx := context.Background()
	if out, err := w.cmd(ctx, "apply", "-auto-approve").CombinedOutput(); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	statePath := filepath.Join(w.dir, ".wxmedia", "state.db")
	good, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, r := range w.snapshot().Resources {
		ids[r.Address] = r.ID
	}
	if len(ids) != 40 {
		t.Fatalf("%d resources recorded", len(ids))
	}

	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		c := w.cmd(ctx, args...)
		c.Stdout, c.Stderr = &stdout, &stderr
		err := c.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, stdout.String(), stderr.String()
	}
	rng := rand.New(rand.NewSource(2026))
	var detected, unaffected, panics, wrong, other, changed int
	for i := range trials {
		damaged := bytes.Clone(good)
		for range 1 + rng.Intn(8) {
			b := rng.Int63n(int64(len(damaged)) * 8)
			damaged[b/8] ^= 1 << (b % 8)
		}
		if err := os.WriteFile(statePath, damaged, 0o600); err != nil {
			t.Fatal(err)
		}
		refused, bad := false, false
		for _, args := range [][]string{{"plan", "-json", "-detailed-exitcode"}, {"show", "-json"}} {
			code, stdout, stderr := run(args...)
			switch {
			case crashRE.MatchString(stderr):
				panics++
				bad = true
				t.Errorf("trial %d: %s: exit %d: %.300s", i, args[0], code, stderr)
			case code == 1 && strings.Contains(stderr, "state file is corrupt"):
				refused = true
			case code == 1:
				other++
				bad = true
				t.Errorf("trial %d: %s: exit 1 without saying the state is corrupt: %.300s", i, args[0], stderr)
			default:
				for _, got := range identifiers(t, stdout) {
					if want, ok := ids[got[0]]; !ok || want != got[1] {
						wrong++
						bad = true
						t.Errorf("trial %d: %s shows %s with identifier %q, recorded %q", i, args[0], got[0], got[1], want)
					}
				}
			}
		}
		if now, _ := os.ReadFile(statePath); refused && !bytes.Equal(now, damaged) {
			changed++
			t.Errorf("trial %d: a refused state file was changed", i)
		}
		switch {
		case refused:
			detected++
		case !bad:
			unaffected++
		}
	}
	t.Logf("%d damaged states of %d bytes, plan and show on each: %d refused as corrupt, %d read as recorded, %d panics, %d wrong identifiers, %d other errors, %d refused files changed",
		trials, len(good), detected, unaffected, panics, wrong, other, changed)
}

// crashRE matches what the Go runtime prints when a program panics or
// dies of a fault.
var crashRE = regexp.MustCompile(`(?m)^(panic: |fatal error: |goroutine \d+ \[|unexpected fault address)`)

// identifiers returns the (address, identifier) pairs that plan -json
// (each change's before) or show -json (each resource) prints.
func identifiers(t *testing.T, out string) [][2]string {
	var doc struct {
		Changes []struct {
			Address string `json:"address"`
			Before  *struct {
				Identifier *string `json:"identifier"`
			} `json:"before"`
		} `json:"resource_changes"`
		Resources []struct {
			Address    string `json:"address"`
			Identifier string `json:"identifier"`
		} `json:"resources"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Errorf("output is not JSON: %v: %.200s", err, out)
		return nil
	}
	var got [][2]string
	for _, c := range doc.Changes {
		if c.Before != nil && c.Before.Identifier != nil {
			got = append(got, [2]string{c.Address, *c.Before.Identifier})
		}
	}
	for _, r := range doc.Resources {
		got = append(got, [2]string{r.Address, r.Identifier})
	}
	return got
}
