package schema

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/wxmedia/wxmedia/internal/cputime"
)

// BenchmarkEvaluateFileset evaluates a configuration whose one resource
// has for_each = fileset("img", "**/*.png") over many files, as
// bench/gencorpus writes it, and reports, besides the allocations, the
// bytes the evaluation keeps live (after a collection) and allocates per
// instance: the plan runs with collections off, so what evaluation
// allocates is memory the plan holds until it ends; and the CPU time
// (user and system, of every core) an evaluation takes, which moves less
// than its wall time on a busy machine.
//
// WXMEDIA_BENCH_EVAL_DIR names a corpus to evaluate instead of the
// 10,000 files made here (go run ./bench/gencorpus -dir DIR -n 100000).
func BenchmarkEvaluateFileset(b *testing.B) {
	for _, tc := range []struct {
		name, module string
		perDir       int
	}{
		{"flat", "", 1000},
		// The same resource in a module called once, with its source
		// made from path.module.
		{"module", "shop", 1000},
		// A module instance per directory of 100 files, as
		// bench/gencorpus -layout module writes it.
		{"modules", "shop", 100},
	} {
		b.Run(tc.name, func(b *testing.B) {
			dir, want := os.Getenv("WXMEDIA_BENCH_EVAL_DIR"), -1
			if dir == "" || tc.module != "" {
				dir, want = benchTree(b, tc.module, 10000, tc.perDir), 10000
			}
			cfg, diags := Load(dir)
			if diags.HasErrors() {
				b.Fatal(diags)
			}
			// As the plan evaluates: without collections
			// (internal/memtune).
			defer debug.SetGCPercent(debug.SetGCPercent(-1))
			var live, allocated, n uint64
			var cpu time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				b.StartTimer()
				c := cputime.Process()
				ev, diags := cfg.Evaluate(nil)
				cpu += cputime.Process() - c
				b.StopTimer()
				if diags.HasErrors() {
					b.Fatal(diags)
				}
				if want >= 0 && len(ev.Instances) != want {
					b.Fatalf("%d instances, want %d", len(ev.Instances), want)
				}
				runtime.ReadMemStats(&after)
				allocated += after.TotalAlloc - before.TotalAlloc
				runtime.GC()
				runtime.ReadMemStats(&after)
				live += after.HeapAlloc - before.HeapAlloc
				n += uint64(len(ev.Instances))
				runtime.KeepAlive(ev)
				b.StartTimer()
			}
			b.ReportMetric(float64(live)/float64(n), "live-B/inst")
			b.ReportMetric(float64(allocated)/float64(n), "alloc-B/inst")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

// benchTree writes n empty files img/dNNN/fNNNNNN.png, perDir a
// directory, and a configuration listing them, in the root module or in
// the module of that name: called once when perDir is 1,000 or more,
// once per directory otherwise. It returns the root module's directory.
func benchTree(b *testing.B, module string, n, perDir int) string {
	b.Helper()
	dir := b.TempDir()
	files := dir
	resource := `resource "wechatpay_image" "img" {
  for_each = fileset("img", "**/*.png")
  source   = "img/${each.value}"
}
`
	root := "merchant \"bench\" {\n  mchid   = \"1900000001\"\n  sandbox = true\n}\n"
	switch {
	case module != "" && perDir >= 1000:
		files = filepath.Join(dir, module)
		root += fmt.Sprintf("module %q {\n  source = \"./%s\"\n}\n", module, module)
		resource = `resource "wechatpay_image" "img" {
  for_each = fileset("${path.module}/img", "**/*.png")
  source   = "${path.module}/img/${each.value}"
}
`
	case module != "":
		files = filepath.Join(dir, module)
		root += fmt.Sprintf("module %q {\n  source   = \"./%s\"\n  for_each = toset([for i in range(%d) : format(\"d%%03d\", i)])\n  dir      = each.key\n}\n", module, module, (n+perDir-1)/perDir)
		resource = `variable "dir" {
  type = string
}
resource "wechatpay_image" "img" {
  for_each = fileset("${path.module}/img/${var.dir}", "*.png")
  source   = "${path.module}/img/${var.dir}/${each.value}"
}
`
	default:
		root += resource
	}
	if module != "" {
		if err := os.MkdirAll(files, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(files, "main.wxm.hcl"), []byte(resource), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "main.wxm.hcl"), []byte(root), 0o644); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		d := filepath.Join(files, "img", fmt.Sprintf("d%03d", i/perDir))
		if i%perDir == 0 {
			if err := os.MkdirAll(d, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%06d.png", i)), nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}
