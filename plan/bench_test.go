package plan

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/wxmedia/wxmedia/schema"
	"github.com/wxmedia/wxmedia/state"
)

// BenchmarkNoopPlan measures a no-change plan over n small files: load and
// evaluate the configuration (for_each over fileset), hash every file, and
// diff against a state that already records them all. The baseline
// sub-benchmark hashes the same files alone, for a ratio in the same run.
func BenchmarkNoopPlan(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		dir := b.TempDir()
		os.MkdirAll(filepath.Join(dir, "img"), 0o755)
		os.WriteFile(filepath.Join(dir, "main.wxm.hcl"), []byte(`
merchant "m" {
  sandbox = true
}
resource "wechatpay_image" "img" {
  for_each = fileset("img", "*.png")
  source   = "img/${each.value}"
}
`), 0o644)
		snap := &state.Snapshot{Lineage: "L", Resources: map[string]state.Resource{}, Outputs: map[string]state.Output{}}
		var paths []string
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("f%06d.png", i)
			content := pngBytes(fmt.Sprintf("file %d %0200d", i, i))
			p := filepath.Join(dir, "img", name)
			paths = append(paths, p)
			if err := os.WriteFile(p, content, 0o644); err != nil {
				b.Fatal(err)
			}
			addr := fmt.Sprintf("wechatpay_image.img[%q]", name)
			snap.Resources[addr] = state.Resource{Address: addr, MchID: "1900000001", Service: "s", API: "merchant_media_image",
				Source: "img/" + name, Filename: name, SHA256: sum(content), Size: int64(len(content)), ID: "id" + name}
		}
		b.Run(fmt.Sprintf("files=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				ev := mustEval(b, dir)
				p, diags := Make(Input{Eval: ev, State: snap, Merchants: map[string]MerchantIdentity{"m": {MchID: "1900000001", Service: "s"}}})
				if diags.HasErrors() {
					b.Fatal(diags)
				}
				if p.HasChanges() {
					b.Fatalf("changes in a no-op plan: %+v", p.Summary)
				}
			}
		})
		cachePath := filepath.Join(dir, "statcache")
		warm := loadLater(cachePath)
		warm.Hash(paths)
		warm.Save(cachePath)
		later := time.Now().Add(time.Minute)
		os.Chtimes(cachePath, later, later) // as if saved after the files settled
		// kept-B/instance is what the plan, its evaluation and the stat
		// cache keep live, per instance: the plan command's memory
		// limit (internal/memtune) is fitted to it.
		b.Run(fmt.Sprintf("statcache/files=%d", n), func(b *testing.B) {
			var kept uint64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				before := liveHeap()
				b.StartTimer()
				ev := mustEval(b, dir)
				sc := loadLater(cachePath)
				p, diags := Make(Input{Eval: ev, State: snap, Hash: sc.Hash, Merchants: map[string]MerchantIdentity{"m": {MchID: "1900000001", Service: "s"}}})
				if diags.HasErrors() || p.HasChanges() || sc.Hits != n {
					b.Fatalf("plan: %v changes=%v hits=%d", diags, p.HasChanges(), sc.Hits)
				}
				b.StopTimer()
				kept = max(kept, liveHeap()-min(before, liveHeap()))
				runtime.KeepAlive(p)
				runtime.KeepAlive(sc)
				b.StartTimer()
			}
			b.ReportMetric(float64(kept)/float64(n), "kept-B/instance")
		})
		b.Run(fmt.Sprintf("hash-only/files=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				HashFiles(paths)
			}
		})
	}
}

// liveHeap is the heap that survives a collection.
func liveHeap() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// BenchmarkHashCold hashes 64 files of 1 MiB with no stat cache (contents
// in the page cache after the first run), in MB/s; "sha256-only" is
// crypto/sha256 over the same bytes in memory on the same cores, the
// ceiling.
func BenchmarkHashCold(b *testing.B) {
	dir := b.TempDir()
	var paths []string
	content := make([]byte, 1<<20)
	for i := range 64 {
		for j := range content {
			content[j] = byte(i * j)
		}
		p := filepath.Join(dir, fmt.Sprintf("f%02d.png", i))
		os.WriteFile(p, content, 0o644)
		paths = append(paths, p)
	}
	b.Run("hash", func(b *testing.B) {
		b.SetBytes(int64(len(paths)) << 20)
		for i := 0; i < b.N; i++ {
			NewStatCache().Hash(paths)
		}
	})
	b.Run("sha256-only", func(b *testing.B) {
		b.SetBytes(int64(len(paths)) << 20)
		for i := 0; i < b.N; i++ {
			forEachFile(len(paths), func(int, *fileWorker) { sha256.Sum256(content) })
		}
	})
}

// BenchmarkDiff measures Make alone over n instances whose file facts are
// known (no file is read): diffing against the state, sorting, summary.
func BenchmarkDiff(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			ev, snap, files := syntheticPlan(b, n)
			hash := func([]string) []FileResult { return files }
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p, diags := Make(Input{Eval: ev, State: snap, Hash: hash, Merchants: map[string]MerchantIdentity{"m": {MchID: "1900000001", Service: "s"}}})
				if diags.HasErrors() || p.HasChanges() {
					b.Fatal(diags, p.Summary)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/instance")
		})
	}
}

// syntheticPlan builds an evaluation of n instances, a state recording them
// all and their file facts.
func syntheticPlan(b *testing.B, n int) (*schema.Evaluation, *state.Snapshot, []FileResult) {
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "main.wxm.hcl"), []byte(`
merchant "m" {
  sandbox = true
}
resource "wechatpay_image" "img" {
  for_each = toset([])
  source   = "img/${each.value}"
}
`), 0o644)
	cfg, diags := schema.Load(dir)
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	ev, diags := cfg.Evaluate(nil)
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	r := cfg.Resources[0]
	snap := &state.Snapshot{Lineage: "L", Resources: make(map[string]state.Resource, n), Outputs: map[string]state.Output{}}
	files := make([]FileResult, n)
	for i := range n {
		name := fmt.Sprintf("d%03d/f%06d.png", i/1000, i)
		addr := fmt.Sprintf("wechatpay_image.img[%q]", name)
		content := pngBytes(name)
		ev.Instances = append(ev.Instances, &schema.Instance{Addr: addr, Resource: r, Key: name, HasKey: true, Merchant: "m",
			Source: "img/" + name, Path: filepath.Join(dir, "img", name), Filename: filepath.Base(name)})
		s := sha256.Sum256(content)
		files[i] = newFileResult(int64(len(content)), content[:min(len(content), headSize)], s[:], "")
		snap.Resources[addr] = state.Resource{Address: addr, Type: r.Type, Name: r.Name, Key: name, MchID: "1900000001", Service: "s", API: string(r.Spec.API),
			Source: "img/" + name, Filename: filepath.Base(name), SHA256: files[i].SHA256(), Size: files[i].Size(), ID: "id" + name}
	}
	return ev, snap, files
}

// BenchmarkEvaluate measures loading and evaluating a configuration whose
// for_each is a fileset over n files.
func BenchmarkEvaluate(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		dir := b.TempDir()
		for i := range n {
			p := filepath.Join(dir, "img", fmt.Sprintf("d%03d", i/1000), fmt.Sprintf("f%06d.png", i))
			os.MkdirAll(filepath.Dir(p), 0o755)
			os.WriteFile(p, []byte("x"), 0o644)
		}
		os.WriteFile(filepath.Join(dir, "main.wxm.hcl"), []byte(`
merchant "m" {
  sandbox = true
}
resource "wechatpay_image" "img" {
  for_each = fileset("img", "**/*.png")
  source   = "img/${each.value}"
}
`), 0o644)
		b.Run(fmt.Sprintf("files=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				cfg, diags := schema.Load(dir)
				if diags.HasErrors() {
					b.Fatal(diags)
				}
				ev, diags := cfg.Evaluate(nil)
				if diags.HasErrors() || len(ev.Instances) != n {
					b.Fatal(diags, len(ev.Instances))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/instance")
		})
	}
}
