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
	flag.Parse()
	if *dir == "" || *n < 1 || *perDir < 1 {
		flag.Usage()
		os.Exit(2)
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
	if err := os.WriteFile(filepath.Join(dir, "main.wxm.hcl"), fmt.Appendf(nil, config, mchid), 0o644); err != nil {
		return err
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
