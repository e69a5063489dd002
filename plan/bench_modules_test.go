package plan

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wxmedia/wxmedia/state"
)

// The configurations of BenchmarkNoopPlanModules, as bench/gencorpus
// writes them at full scale (1,000 merchants × 10 files: docs/performance.md).
const (
	benchFlat = `merchant "m" {
  mchid   = "1900000001"
  sandbox = true
}

resource "wechatpay_image" "img" {
  for_each = fileset("img", "**/*.png")
  source   = "img/${each.value}"
}
`
	benchModuleRoot = `locals {
  shops = jsondecode(file("merchants.json"))
}

module "store" {
  source   = "./modules/store"
  for_each = local.shops
  mchid    = each.value.mchid
  dir      = each.key
}
`
	benchModuleStore = `variable "mchid" {
  type = string
}

variable "dir" {
  type = string
}

merchant "shop" {
  mchid   = var.mchid
  sandbox = true
}

resource "wechatpay_image" "img" {
  for_each = fileset("${path.root}/img/${var.dir}", "*.png")
  source   = "${path.root}/img/${var.dir}/${each.value}"
}
`
)

// BenchmarkNoopPlanModules measures a no-change plan of the same files
// (merchants × files each) declared flat with one merchant, and through a
// module with for_each over the merchants, each instance with its own
// merchant: load and evaluate the configuration, hash every file, diff
// against a state that records them all. The flat layout is the baseline
// of the module one in the same run.
func BenchmarkNoopPlanModules(b *testing.B) {
	const merchants, files = 100, 10
	img := b.TempDir()
	var shops []string
	for m := range merchants {
		d := fmt.Sprintf("d%03d", m)
		os.MkdirAll(filepath.Join(img, d), 0o755)
		for f := range files {
			if err := os.WriteFile(filepath.Join(img, d, fmt.Sprintf("f%06d.png", m*files+f)), pngBytes(fmt.Sprintf("file %d %d", m, f)), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		shops = append(shops, fmt.Sprintf("%q: {\"mchid\": \"%d\"}", d, 1900000001+m))
	}
	for _, layout := range []struct{ name, root, store string }{
		{"flat", benchFlat, ""},
		{"module", benchModuleRoot, benchModuleStore},
	} {
		dir := b.TempDir()
		if err := os.Symlink(img, filepath.Join(dir, "img")); err != nil {
			b.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "main.wxm.hcl"), []byte(layout.root), 0o644)
		os.WriteFile(filepath.Join(dir, "merchants.json"), []byte("{"+strings.Join(shops, ",\n")+"}\n"), 0o644)
		if layout.store != "" {
			os.MkdirAll(filepath.Join(dir, "modules", "store"), 0o755)
			os.WriteFile(filepath.Join(dir, "modules", "store", "main.wxm.hcl"), []byte(layout.store), 0o644)
		}
		plan := func(snap *state.Snapshot) *Plan {
			ev := mustEval(b, dir)
			idents := map[string]MerchantIdentity{}
			for name, m := range ev.Merchants {
				idents[name] = MerchantIdentity{MchID: m.MchID, Service: "s", V2Service: "s"}
			}
			p, diags := Make(Input{Eval: ev, State: snap, Merchants: idents})
			if diags.HasErrors() {
				b.Fatal(diags)
			}
			return p
		}
		// The state an apply leaves: every planned upload recorded.
		snap := &state.Snapshot{Lineage: "L", Resources: map[string]state.Resource{}, Outputs: map[string]state.Output{}}
		for c := range plan(snap).Changes() {
			snap.Resources[c.Addr] = state.Resource{Address: c.Addr, Type: c.Type, Name: c.Name, Key: c.Key, Merchant: c.Merchant,
				MchID: c.MchID, Service: c.Service, API: c.API, Source: c.After.Source, Filename: c.After.Filename,
				SHA256: c.After.SHA256, Size: c.After.Size, ID: "id-" + c.After.SHA256[:16]}
		}
		if len(snap.Resources) != merchants*files {
			b.Fatalf("%s: %d instances, want %d", layout.name, len(snap.Resources), merchants*files)
		}
		b.Run(fmt.Sprintf("layout=%s/merchants=%d/files=%d", layout.name, merchants, merchants*files), func(b *testing.B) {
			for range b.N {
				if p := plan(snap); p.HasChanges() {
					b.Fatalf("changes in a no-op plan: %+v", p.Summary)
				}
			}
		})
	}
}
