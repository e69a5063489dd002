package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestImportDirection keeps docs/ARCHITECTURE.md true: the language does
// no I/O of its own, and the library packages import one another only
// from the command towards the leaves.
func TestImportDirection(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not available")
	}
	const mod = "github.com/wxmedia/wxmedia/"
	deps := func(pkg string) []string {
		out, err := exec.Command(goTool, "list", "-deps", "./"+pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps ./%s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}
	forbidden := map[string][]string{
		// schema: the language only.
		"schema": {mod + "state", mod + "uploader", mod + "plan", mod + "apply", "github.com/jackc/pgx/v5", "go.etcd.io/bbolt", "net/http"},
		"state":  {mod + "schema", mod + "uploader", mod + "plan", mod + "apply"},
		// uploader knows nothing of configuration, state or plans.
		"uploader":      {mod + "schema", mod + "state", mod + "plan", mod + "apply"},
		"uploader/apis": {mod + "uploader", "net/http"},
		"plan":          {mod + "apply"},
	}
	for pkg, bad := range forbidden {
		all := deps(pkg)
		for _, b := range bad {
			if slices.Contains(all, b) {
				t.Errorf("%s imports %s (directly or not)", pkg, b)
			}
		}
	}
	// apply executes a plan through the uploaders it is given: HTTP
	// clients, pools and the rate limiter are uploader's.
	out, err := exec.Command(goTool, "list", "-f", "{{join .Imports \" \"}}", "./apply").Output()
	if err != nil {
		t.Fatalf("go list ./apply: %v", err)
	}
	for _, b := range []string{"net/http", "golang.org/x/time/rate"} {
		if slices.Contains(strings.Fields(string(out)), b) {
			t.Errorf("apply imports %s: HTTP belongs to uploader", b)
		}
	}
}
