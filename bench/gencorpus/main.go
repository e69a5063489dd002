// Command gencorpus writes a corpus of real PNG images and a wxmedia
// configuration that uploads them all to a sandbox merchant, for the
// performance measurements described in the README.
//
//	go run ./bench/gencorpus -dir /tmp/corpus -n 100000            # small images
//	go run ./bench/gencorpus -dir /tmp/big -n 1024 -size 1048576   # 1 MiB images
//
// Images are spread over subdirectories of at most 1,000 files each
// (img/d000/f000000.png, …) and every image has distinct pixels, so every
// file has distinct bytes. The configuration is main.wxm.hcl in dir:
//
//	resource "wechatpay_image" "img" {
//	  for_each = fileset("img", "**/*.png")
//	  source   = "img/${each.value}"
//	}
//
// With -merchants=M the images are spread over M subdirectories, one per
// merchant (n/M images each, in the same files as without it), listed in
// merchants.json ({"d000": {"mchid": "1900000001", "first": 0}, …}), and
// -layout says how the configuration declares them:
//
//	flat       the resource above, with one merchant (the baseline)
//	module     a module with for_each over merchants.json: each instance
//	           declares its merchant and its directory's images
//	merchants  a merchant block with for_each over merchants.json and n/M
//	           resource blocks with for_each over it, one per image of a
//	           directory, without modules
//
//	go run ./bench/gencorpus -dir /tmp/mod -n 10000 -merchants 1000 -layout module
package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"hash/fnv"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

const config = `merchant "bench" {
  mchid   = %q
  sandbox = true
}

resource "wechatpay_image" "img" {
  for_each = fileset("img", "**/*.png")
  source   = "img/${each.value}"
}
`

func main() {
	dir := flag.String("dir", "", "directory to write the corpus into (created)")
	n := flag.Int("n", 1000, "number of images")
	size := flag.Int("size", 0, "approximate size of each image in bytes; 0 writes small images (about 100 bytes)")
	mchid := flag.String("mchid", "1900000001", "merchant ID of the sandbox merchant in the configuration")
	perDir := flag.Int("per-dir", 1000, "images per subdirectory")
	merchants := flag.Int("merchants", 0, "spread the images over this many merchants' subdirectories (n/merchants each), listed in merchants.json")
	layout := flag.String("layout", "flat", "how the configuration declares the images of -merchants: flat, module or merchants")
	flag.Parse()
	if *dir == "" || *n < 1 || *perDir < 1 || *merchants < 0 || *merchants > 0 && *n%*merchants != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if *merchants > 0 {
		*perDir = *n / *merchants
		if err := writeMerchants(*dir, *merchants, *perDir, *layout); err != nil {
			fmt.Fprintln(os.Stderr, "gencorpus:", err)
			os.Exit(1)
		}
	}
	if err := run(*dir, *n, *size, *perDir, *mchid); err != nil {
		fmt.Fprintln(os.Stderr, "gencorpus:", err)
		os.Exit(1)
	}
}

func run(dir string, n, size, perDir int, mchid string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "main.wxm.hcl")); os.IsNotExist(err) {
		if err := os.WriteFile(filepath.Join(dir, "main.wxm.hcl"), fmt.Appendf(nil, config, mchid), 0o644); err != nil {
			return err
		}
	}
	for d := 0; d*perDir < n; d++ {
		if err := os.MkdirAll(filepath.Join(dir, "img", fmt.Sprintf("d%03d", d)), 0o755); err != nil {
			return err
		}
	}
	// A square RGBA image of side w stored uncompressed takes about 4*w*w
	// bytes; small images are 4x4 and compressed.
	side, enc := 4, png.Encoder{CompressionLevel: png.DefaultCompression}
	if size > 0 {
		side = max(4, int(math.Sqrt(float64(size)/4)))
		enc.CompressionLevel = png.NoCompression
	}
	next := make(chan int, 64)
	errs := make(chan error, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			img := image.NewRGBA(image.Rect(0, 0, side, side))
			var buf bytes.Buffer
			for i := range next {
				fill(img.Pix, i)
				buf.Reset()
				if err := enc.Encode(&buf, img); err != nil {
					errs <- err
					return
				}
				p := filepath.Join(dir, "img", fmt.Sprintf("d%03d", i/perDir), fmt.Sprintf("f%06d.png", i))
				if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case err := <-errs:
			close(next)
			return err
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	return nil
}

// fill paints pix with a pseudo-random pattern seeded by i, opaque.
func fill(pix []byte, i int) {
	h := fnv.New64a()
	binary.Write(h, binary.LittleEndian, int64(i))
	x := h.Sum64() | 1
	for j := 0; j+8 <= len(pix); j += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		binary.LittleEndian.PutUint64(pix[j:], x)
	}
	for j := 3; j < len(pix); j += 4 {
		pix[j] = 0xff
	}
}

// The module layout: the root calls the module once per merchant.
const moduleRoot = `locals {
  shops = jsondecode(file("merchants.json"))
}

module "store" {
  source   = "./modules/store"
  for_each = local.shops
  mchid    = each.value.mchid
  dir      = each.key
}
`

const moduleStore = `variable "mchid" {
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

// The merchants layout: merchant for_each, one resource block per image
// of a merchant's directory.
const merchantsRoot = `locals {
  shops = jsondecode(file("merchants.json"))
}

merchant "shop" {
  for_each = local.shops
  mchid    = each.value.mchid
  sandbox  = true
}
`

const merchantsResource = `
resource "wechatpay_image" "f%[1]d" {
  for_each = local.shops
  merchant = merchant.shop[each.key]
  source   = format("img/%%s/f%%06d.png", each.key, each.value.first + %[1]d)
}
`

// writeMerchants writes merchants.json and the configuration of layout
// for m merchants of perDir images each.
func writeMerchants(dir string, m, perDir int, layout string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("{\n")
	for i := range m {
		sep := ","
		if i == m-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "  \"d%03d\": {\"mchid\": \"%d\", \"first\": %d}%s\n", i, 1900000001+i, i*perDir, sep)
	}
	b.WriteString("}\n")
	if err := os.WriteFile(filepath.Join(dir, "merchants.json"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	var root string
	switch layout {
	case "flat":
		return nil
	case "module":
		root = moduleRoot
		if err := os.MkdirAll(filepath.Join(dir, "modules", "store"), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "modules", "store", "main.wxm.hcl"), []byte(moduleStore), 0o644); err != nil {
			return err
		}
	case "merchants":
		root = merchantsRoot
		for j := range perDir {
			root += fmt.Sprintf(merchantsResource, j)
		}
	default:
		return fmt.Errorf("-layout %q: want flat, module or merchants", layout)
	}
	return os.WriteFile(filepath.Join(dir, "main.wxm.hcl"), []byte(root), 0o644)
}
