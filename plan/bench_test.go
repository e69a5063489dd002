package plan

import (
	"fmt"
	"os"
	"path/filepath"
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
				cfg, diags := schema.Load(dir)
				if diags.HasErrors() {
					b.Fatal(diags)
				}
				ev, diags := cfg.Evaluate(nil)
				if diags.HasErrors() {
					b.Fatal(diags)
				}
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
		warm := LoadStatCache(cachePath)
		warm.Hash(paths)
		warm.Save(cachePath)
		later := time.Now().Add(time.Minute)
		os.Chtimes(cachePath, later, later) // as if saved after the files settled
		b.Run(fmt.Sprintf("statcache/files=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				cfg, diags := schema.Load(dir)
				if diags.HasErrors() {
					b.Fatal(diags)
				}
				ev, diags := cfg.Evaluate(nil)
				if diags.HasErrors() {
					b.Fatal(diags)
				}
				sc := LoadStatCache(cachePath)
				p, diags := Make(Input{Eval: ev, State: snap, Hash: sc.Hash, Merchants: map[string]MerchantIdentity{"m": {MchID: "1900000001", Service: "s"}}})
				if diags.HasErrors() || p.HasChanges() || sc.Hits != n {
					b.Fatalf("plan: %v changes=%v hits=%d", diags, p.HasChanges(), sc.Hits)
				}
			}
		})
		b.Run(fmt.Sprintf("hash-only/files=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				HashFiles(paths)
			}
		})
	}
}
