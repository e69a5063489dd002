package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestBenchBackends compares the postgres backend with the local one on the
// real binary: an apply of N new images (default 10000) to the in-process
// sandbox, then a no-change plan, each config in a directory of its own.
// It is a measurement, not a check, and runs only when asked:
//
//	WXMEDIA_BENCH_BACKENDS=10000 WXMEDIA_TEST_POSTGRES=postgres://… \
//	  go test -run TestBenchBackends -v -timeout 30m .
func TestBenchBackends(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("WXMEDIA_BENCH_BACKENDS"))
	if n <= 0 {
		t.Skip("set WXMEDIA_BENCH_BACKENDS=N (e.g. 10000) to compare the backends")
	}
	admin := os.Getenv(postgresEnv)
	if admin == "" {
		t.Skipf("set %s", postgresEnv)
	}
	conn, drop, err := createTestDatabase(admin)
	if err != nil {
		t.Fatal(err)
	}
	defer drop()
	bin := filepath.Join(t.TempDir(), "wxmedia")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	images := t.TempDir()
	for i := range n {
		b, err := makeImage(".png", fmt.Sprintf("bench %d", i))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(images, fmt.Sprintf("f%06d.png", i)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const resources = `
merchant "m" {
  sandbox = true
}

resource "wechatpay_image" "img" {
  for_each = fileset("img", "*.png")
  source   = "img/${each.value}"
}
`
	setup := func(name, backend string) string {
		dir := filepath.Join(t.TempDir(), name)
		must := func(err error) {
			if err != nil {
				t.Fatal(err)
			}
		}
		must(os.MkdirAll(dir, 0o755))
		must(os.Symlink(images, filepath.Join(dir, "img")))
		must(os.WriteFile(filepath.Join(dir, "main.wxm.hcl"), []byte(backend+resources), 0o644))
		return dir
	}
	run := func(dir string, args ...string) time.Duration {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PGCONN="+conn, "NO_COLOR=1")
		start := time.Now()
		out, err := cmd.CombinedOutput()
		d := time.Since(start)
		if err != nil {
			t.Fatalf("%v in %s: %v\n%s", args, dir, err, out)
		}
		return d
	}
	local := setup("local", "")
	pg := setup("pg", `
wxmedia {
  backend "postgres" {
    conn_str    = env("PGCONN")
    schema_name = "bench"
  }
}
`)
	applyLocal := run(local, "apply", "-auto-approve")
	applyPG := run(pg, "apply", "-auto-approve")
	// Warm the stat caches and page caches alike, then measure.
	run(local, "plan")
	run(pg, "plan")
	// Best of 5, alternating, as the machine is noisy.
	planLocal, planPG := time.Hour, time.Hour
	for range 5 {
		planLocal = min(planLocal, run(local, "plan"))
		planPG = min(planPG, run(pg, "plan"))
	}
	t.Logf("apply of %d new images: local %v, postgres %v: ratio %.2f", n, applyLocal.Round(time.Millisecond), applyPG.Round(time.Millisecond), applyPG.Seconds()/applyLocal.Seconds())
	t.Logf("no-change plan of %d files: local %v, postgres %v: ratio %.2f", n, planLocal.Round(time.Millisecond), planPG.Round(time.Millisecond), planPG.Seconds()/planLocal.Seconds())
}
