package apply

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxmedia/wxmedia/internal/cputime"
	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/state"
	"github.com/wxmedia/wxmedia/uploader"
	"github.com/wxmedia/wxmedia/uploader/sandbox"
)

// benchFiles is how many images BenchmarkApply uploads per run;
// WXMEDIA_BENCH_UPLOADS overrides it (bench/run.sh uses 10000).
func benchFiles() int {
	if n, err := strconv.Atoi(os.Getenv("WXMEDIA_BENCH_UPLOADS")); err == nil && n > 0 {
		return n
	}
	return 2000
}

// BenchmarkApply uploads n new images to an in-process sandbox with
// parallelism 16: "apply" is Apply with a local state, one durable commit
// per identifier (grouped), the shared transport and the limiter;
// "baseline" is a plain loop of signed uploads over net/http at the same
// parallelism against the same sandbox, which records nothing. Both report
// files/s, whose ratio is the apply row of bench/run.sh, and the CPU time
// of the whole process (client and sandbox) per file.
func BenchmarkApply(b *testing.B) {
	const parallelism = 16
	n := benchFiles()
	dir := b.TempDir()
	sb, err := sandbox.Open(filepath.Join(dir, "sandbox"))
	if err != nil {
		b.Fatal(err)
	}
	defer sb.Close()
	srv, err := sb.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	creds, err := sb.RegisterMerchant("1900000001")
	if err != nil {
		b.Fatal(err)
	}
	key, err := uploader.LoadPrivateKey(creds.PrivateKeyFile)
	if err != nil {
		b.Fatal(err)
	}
	pub, err := uploader.LoadPublicKey(creds.PlatformPublicKeyFile)
	if err != nil {
		b.Fatal(err)
	}
	changes := make([]*plan.ResourceChange, n)
	for i := range changes {
		name := fmt.Sprintf("f%06d.png", i)
		content := benchPNG(i)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, content, 0o644); err != nil {
			b.Fatal(err)
		}
		s := sha256.Sum256(content)
		changes[i] = &plan.ResourceChange{
			Addr: fmt.Sprintf("wechatpay_image.img[%q]", name), Type: "wechatpay_image", Name: "img", Key: name,
			Merchant: "m", MchID: creds.MchID, Service: sb.ID(), API: string(uploader.APIMerchantImage),
			Action: plan.Upload, Path: p,
			After: &plan.Object{Source: name, Filename: name, SHA256: hex.EncodeToString(s[:]), Size: int64(len(content))},
		}
	}

	b.Run("apply", func(b *testing.B) {
		clients := uploader.NewHTTPClients(parallelism)
		hc, err := clients.Client(creds.CAFile)
		if err != nil {
			b.Fatal(err)
		}
		lim := uploader.NewLimiter(0)
		c, err := uploader.NewClient(uploader.Config{
			MchID: creds.MchID, SerialNo: creds.SerialNo, PrivateKey: key,
			PlatformKeyID: creds.PlatformPublicKeyID, PlatformKey: pub, Endpoint: srv.URL(),
			HTTPClient: hc, Throttle: lim.Throttle, OnAttempt: lim.OnAttempt,
		})
		if err != nil {
			b.Fatal(err)
		}
		var total time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			st, err := state.OpenLocal(filepath.Join(b.TempDir(), "state.db"), state.Options{Command: "apply"})
			if err != nil {
				b.Fatal(err)
			}
			var events atomic.Int64
			b.StartTimer()
			start := time.Now()
			c0 := cputime.Process()
			res, err := Apply(context.Background(), planOf(changes), Options{
				Store: st, Uploaders: map[string]Uploader{"m": c}, Parallelism: parallelism,
				OnEvent: func(Event) { events.Add(1) },
			})
			total += time.Since(start)
			b.ReportMetric(float64(cputime.Process()-c0)/float64(n)/1e3, "cpu-us/file")
			b.ReportMetric(float64(st.GroupCommits()), "commits")
			b.StopTimer()
			if err != nil || res.Uploaded != n || len(res.Failures) > 0 || events.Load() != int64(n) {
				b.Fatalf("apply: %v, %d uploaded, failures %v", err, res.Uploaded, res.Failures)
			}
			if s, err := st.Snapshot(); err != nil || len(s.Resources) != n {
				b.Fatalf("state: %v, %d resources", err, len(s.Resources))
			}
			st.Close()
			b.StartTimer()
		}
		b.ReportMetric(float64(n*b.N)/total.Seconds(), "files/s")
	})

	b.Run("baseline", func(b *testing.B) {
		hc, err := uploader.NewHTTPClient(creds.CAFile)
		if err != nil {
			b.Fatal(err)
		}
		hc.Transport.(*http.Transport).MaxIdleConnsPerHost = parallelism
		spec, _ := uploader.SpecForAPI(uploader.APIMerchantImage)
		var total time.Duration
		for i := 0; i < b.N; i++ {
			start := time.Now()
			c0 := cputime.Process()
			next := make(chan *plan.ResourceChange)
			errs := make(chan error, parallelism)
			var wg sync.WaitGroup
			for range parallelism {
				wg.Go(func() {
					failed := false
					for c := range next {
						if failed {
							continue
						}
						if err := plainUpload(hc, srv.URL(), spec, creds, key, c); err != nil {
							errs <- err
							failed = true
						}
					}
				})
			}
			for _, c := range changes {
				next <- c
			}
			close(next)
			wg.Wait()
			total += time.Since(start)
			b.ReportMetric(float64(cputime.Process()-c0)/float64(n)/1e3, "cpu-us/file")
			select {
			case err := <-errs:
				b.Fatal(err)
			default:
			}
		}
		b.ReportMetric(float64(n*b.N)/total.Seconds(), "files/s")
	})
}

// plainUpload reads one file and sends it as a signed v3 upload, checking
// only the HTTP status of the reply.
func plainUpload(hc *http.Client, endpoint string, spec uploader.Spec, creds sandbox.MerchantCreds, key *rsa.PrivateKey, c *plan.ResourceChange) error {
	content, err := os.ReadFile(c.Path)
	if err != nil {
		return err
	}
	meta := uploader.MetaJSON(spec.DigestField, c.After.Filename, c.After.SHA256)
	boundary := "bench-" + c.After.SHA256[:32]
	var body bytes.Buffer
	if err := uploader.WriteMultipart(&body, boundary, meta, c.After.Filename, uploader.ContentType(c.After.Filename), content); err != nil {
		return err
	}
	ts := time.Now().Unix()
	var nb [16]byte
	rand.Read(nb[:])
	nonce := hex.EncodeToString(nb[:])
	sig, err := uploader.Sign(key, uploader.SignatureMessage(http.MethodPost, spec.Path, ts, nonce, meta))
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, endpoint+spec.Path, &body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", uploader.AuthorizationHeader(creds.MchID, nonce, ts, creds.SerialNo, sig))
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Wechatpay-Serial", creds.PlatformPublicKeyID)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d: %s", c.After.Filename, resp.StatusCode, reply)
	}
	return nil
}

// benchPNG is a small PNG whose pixels depend on i.
func benchPNG(i int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for j := range img.Pix {
		img.Pix[j] = byte(i >> (8 * (j % 4)))
	}
	img.Pix[3], img.Pix[7] = 0xff, byte(i)
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}
