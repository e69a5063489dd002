package plan

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wxmedia/wxmedia/state"
)

// BenchmarkEditedPlan is the scaled-down "plan with 100 of 100,000 files
// edited" row of bench/run.sh: n files recorded in the state and the stat
// cache, of which n/1000 are rewritten with new contents
// before every plan. "edited" plans with them; its baselines in the same
// run are "noop", the same plan with no file edited, and "hash-edited",
// hashing the edited files alone. The row's target is edited ≤ 1.10 ×
// (noop + hash-edited).
func BenchmarkEditedPlan(b *testing.B) {
	const n = 10000
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.wxm.hcl"), []byte(`
merchant "m" {
  sandbox = true
}
resource "wechatpay_image" "img" {
  for_each = fileset("img", "**/*.png")
  source   = "img/${each.value}"
}
`), 0o644); err != nil {
		b.Fatal(err)
	}
	snap := &state.Snapshot{Lineage: "L", Resources: map[string]state.Resource{}, Outputs: map[string]state.Output{}}
	var paths, edited []string
	contents := map[string][]byte{}
	for i := range n {
		name := fmt.Sprintf("d%03d/f%06d.png", i/1000, i)
		content := pngBytes(fmt.Sprintf("file %d %0200d", i, i))
		p := filepath.Join(dir, "img", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			b.Fatal(err)
		}
		paths = append(paths, p)
		if i%1000 == 500 {
			edited = append(edited, p)
			contents[p] = content
		}
		addr := fmt.Sprintf("wechatpay_image.img[%q]", name)
		snap.Resources[addr] = state.Resource{Address: addr, Type: "wechatpay_image", Name: "img", Key: name, Merchant: "m",
			MchID: "1900000001", Service: "s", API: "merchant_media_image",
			Source: "img/" + name, Filename: filepath.Base(name), SHA256: sum(content), Size: int64(len(content)), ID: "id" + name}
	}
	cachePath := filepath.Join(dir, "statcache")
	warm := loadLater(cachePath)
	warm.Hash(paths)
	if err := warm.Save(cachePath); err != nil {
		b.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	os.Chtimes(cachePath, later, later) // as if saved after the files settled
	merchants := map[string]MerchantIdentity{"m": {MchID: "1900000001", Service: "s"}}
	plan := func(b *testing.B, wantMisses int) *Plan {
		ev := mustEval(b, dir)
		sc := loadLater(cachePath)
		p, diags := Make(Input{Eval: ev, State: snap, Hash: sc.Hash, Merchants: merchants})
		if diags.HasErrors() || sc.Misses != wantMisses {
			b.Fatalf("plan: %v misses=%d, want %d", diags, sc.Misses, wantMisses)
		}
		// As the plan command does: the edited files are learnt.
		if err := sc.Save(cachePath); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.Chtimes(cachePath, later, later)
		b.StartTimer()
		return p
	}
	round := 0
	edit := func(b *testing.B) {
		round++
		for _, p := range edited {
			if err := os.WriteFile(p, append(contents[p], fmt.Sprintf("edit %d\n", round)...), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	restore := func(b *testing.B) {
		for _, p := range edited {
			if err := os.WriteFile(p, contents[p], 0o644); err != nil {
				b.Fatal(err)
			}
		}
		// The stat cache learns the files as they are again.
		sc := loadLater(cachePath)
		sc.Hash(paths)
		if err := sc.Save(cachePath); err != nil {
			b.Fatal(err)
		}
		os.Chtimes(cachePath, later, later)
	}
	// One plan first, untimed, so that a single timed round (as CI runs
	// it) does not carry what the first plan after setup alone pays.
	plan(b, 0)
	b.Run(fmt.Sprintf("edited/files=%d", n), func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			edit(b)
			b.StartTimer()
			if p := plan(b, len(edited)); p.Summary.Reupload != len(edited) {
				b.Fatalf("summary %+v, want %d re-uploads", p.Summary, len(edited))
			}
		}
	})
	b.Run(fmt.Sprintf("hash-edited/files=%d", len(edited)), func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			HashFiles(edited)
		}
	})
	restore(b)
	b.Run(fmt.Sprintf("noop/files=%d", n), func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if p := plan(b, 0); p.HasChanges() {
				b.Fatalf("changes in a no-op plan: %+v", p.Summary)
			}
		}
	})
}
