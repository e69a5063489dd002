package schema

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestModuleFilesetsListedAhead: the instances of a module whose
// filesets are listed ahead give what they give without that, and what
// the general evaluator gives, when the guesses are right and when they
// are wrong (a null argument that takes the default, a missing directory,
// a file where a directory is expected, two instances sharing a
// directory, a directory that changes under the other argument).
func TestModuleFilesetsListedAhead(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var shops []string
	for i := range 40 {
		d := fmt.Sprintf("d%02d", i)
		switch {
		case i == 3: // no directory
		case i == 4:
			write("img/"+d, "a file")
		default:
			for j := range i % 5 {
				write(fmt.Sprintf("img/%s/f%d.png", d, j), "")
			}
			write("img/"+d+"/other.txt", "")
		}
		dirArg := fmt.Sprintf("%q", d)
		switch i {
		case 5:
			dirArg = "null" // the default: d00
		case 6:
			dirArg = `"d07"` // shared with d07
		}
		shops = append(shops, fmt.Sprintf("    %s = { mchid = \"19000000%02d\", dir = %s }", d, i, dirArg))
	}
	write("merchants.json", "")
	write("main.wxm.hcl", `locals {
  shops = {
`+strings.Join(shops, "\n")+`
  }
}
module "store" {
  source   = "./modules/store"
  for_each = local.shops
  mchid    = each.value.mchid
  dir      = each.value.dir
}
module "counted" {
  source = "./modules/store"
  count  = 150
  mchid  = "1900000001"
  dir    = count.index
}
`)
	write("modules/store/main.wxm.hcl", `variable "mchid" {
  type = string
}
variable "dir" {
  type    = string
  default = "d00"
}
merchant "shop" {
  mchid   = var.mchid
  sandbox = true
}
resource "wechatpay_image" "img" {
  for_each = fileset("${path.root}/img/${var.dir}", "*.png")
  source   = "${path.root}/img/${var.dir}/${each.value}"
}
resource "wechatpay_image" "txt" {
  for_each = fileset("${path.module}/../../img/${var.dir}", "*.txt")
  source   = "${path.root}/img/${var.dir}/${each.value}"
}
`)
	for i := range 150 { // more than prefetchWindow
		write(fmt.Sprintf("img/%d/c.png", i), "")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(1) // nothing listed ahead
	alone := evaluateFor(t, dir, true)
	runtime.GOMAXPROCS(4)
	ahead := evaluateFor(t, dir, true)
	general := evaluateFor(t, dir, false)
	if ahead != alone || ahead != general {
		t.Fatalf("the evaluations differ:\nahead:\n%s\nalone:\n%s\ngeneral:\n%s", ahead, alone, general)
	}
	// 36 stores of i%5 PNG and one text file, less d03, d04 (not
	// directories), d05 (d00: 1), d06 (d07: 3); 150 counted of one PNG.
	if n := strings.Count(ahead, "Addr:"); n != 262 {
		t.Fatalf("%d instances, want 262:\n%s", n, ahead)
	}
	before := listedAhead.Load()
	evaluateFor(t, dir, true)
	if listedAhead.Load() == before {
		t.Fatal("no fileset was listed ahead")
	}
}
