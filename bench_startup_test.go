package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkStartup is the scaled-down start-up row of bench/run.sh: a
// whole wxmedia process (this test binary run as wxmedia, as the
// testscripts run it) validating and planning a configuration of five
// images, beside "true", the machine's floor for starting a process. The
// row's target is 15 ms for the real binary; this one carries the test
// code's packages too.
func BenchmarkStartup(b *testing.B) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	bin := filepath.Join(b.TempDir(), "wxmedia")
	if err := os.Symlink(exe, bin); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	logo, err := os.ReadFile("examples/quickstart/assets/logo.png")
	if err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "img"), 0o755); err != nil {
		b.Fatal(err)
	}
	for i := range 5 {
		// Distinct bytes after the image: five uploads, not one and reuses.
		if err := os.WriteFile(filepath.Join(dir, "img", fmt.Sprintf("f%d.png", i)), append(logo, byte(i)), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "main.wxm.hcl"), []byte(`merchant "m" {
  sandbox = true
}

resource "wechatpay_image" "img" {
  for_each = fileset("img", "*.png")
  source   = "img/${each.value}"
}
`), 0o644); err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	run(b, bin, "plan", "-no-color") // creates the sandbox's keys once
	b.Run("validate", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			run(b, bin, "validate", "-no-color")
		}
	})
	b.Run("plan", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			run(b, bin, "plan", "-no-color")
		}
	})
	truth, err := exec.LookPath("true")
	if err != nil {
		b.Skip("no true command")
	}
	b.Run("true", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			run(b, truth)
		}
	})
}
