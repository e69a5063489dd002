package apply

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/state"
	"github.com/wxmedia/wxmedia/uploader"
	"github.com/wxmedia/wxmedia/uploader/sandbox"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// An upload answered 429, retried, whose second request the server read and
// then stalled on until the endpoint was taken out of the run, was sent: it
// is not reported as "not sent" (the server may have accepted it), nothing
// is recorded for it, and the next apply sends it again. An upload of the
// same run after the endpoint was out is "not sent". The debug records of
// each request name the upload's address, escaped.
func TestSentThenStalledIsNotNotSent(t *testing.T) {
	dir := t.TempDir()
	sb, err := sandbox.Open(filepath.Join(dir, "sandbox"))
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	srv, err := sb.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	creds, err := sb.RegisterMerchant("1900000001")
	if err != nil {
		t.Fatal(err)
	}
	key, err := uploader.LoadPrivateKey(creds.PrivateKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := uploader.LoadPublicKey(creds.PlatformPublicKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	hc, err := uploader.NewHTTPClient(creds.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	var attempts atomic.Int64
	newClient := func() *uploader.Client {
		t.Helper()
		breakers := uploader.NewBreakers()
		breakers.Failures, breakers.Span = 1, 0 // out of the run at the first request without a reply
		c, err := uploader.NewClient(uploader.Config{
			MchID: creds.MchID, SerialNo: creds.SerialNo, PrivateKey: key,
			PlatformKeyID: creds.PlatformPublicKeyID, PlatformKey: pub, Endpoint: srv.URL(),
			HTTPClient: hc, Breakers: breakers, HeaderTimeout: 300 * time.Millisecond,
			BaseDelay: 10 * time.Millisecond, MaxDelay: 10 * time.Millisecond, RetryTimeout: time.Minute,
			Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			OnAttempt: func(error) {
				// The first request is answered 429; every later one is
				// read and then stalled on.
				if attempts.Add(1) == 1 {
					sb.SetFaults(sandbox.Faults{Stall: 1})
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	change := func(i int, key string) *plan.ResourceChange {
		name := fmt.Sprintf("img%05d.png", i)
		content := benchPNG(i)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256(content)
		return &plan.ResourceChange{
			Addr: `wechatpay_image.img["` + key + `"]`, Type: "wechatpay_image", Name: "img", Key: key,
			Merchant: "m", MchID: creds.MchID, Service: sb.ID(), API: string(uploader.APIMerchantImage),
			Action: plan.Upload, Path: p,
			After: &plan.Object{Source: name, Filename: name, SHA256: hex.EncodeToString(s[:]), Size: int64(len(content))},
		}
	}
	st, err := state.OpenLocal(filepath.Join(dir, "state.db"), state.Options{Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	sb.SetFaults(sandbox.Faults{P429: 1})
	c := newClient()
	// The key holds an escape sequence: the log shows it escaped.
	stalledKey := "img00014\x1b[2J.png"
	first := change(14, stalledKey)
	apply := func(c *uploader.Client, ch *plan.ResourceChange) *Result {
		t.Helper()
		res, err := Apply(context.Background(), planOf([]*plan.ResourceChange{ch}), Options{
			Store: st, Uploaders: map[string]Uploader{"m": c}, Parallelism: 1,
		})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := apply(c, first)
	if len(res.Failures) != 1 || res.Uploaded != 0 {
		t.Fatalf("apply: %d uploaded, failures %v; want the one upload to fail", res.Uploaded, res.Failures)
	}
	if n := attempts.Load(); n != 2 {
		t.Fatalf("%d requests, want 2 (a 429, then a stalled one)", n)
	}
	err = res.Failures[0].Err
	var down *uploader.EndpointDownError
	if !errors.As(err, &down) || !errors.Is(err, uploader.ErrEndpointDown) {
		t.Fatalf("failure: %v, want the endpoint out of the run", err)
	}
	if !down.Sent || !down.Unanswered || strings.Contains(err.Error(), "not sent") ||
		!strings.Contains(err.Error(), "sent but unanswered, the upload may have been accepted") {
		t.Errorf("a request that was read by the server and never answered is reported as: %v (sent %v, unanswered %v)", err, down.Sent, down.Unanswered)
	}
	// Nothing is recorded for it.
	if s, err := st.Snapshot(); err != nil || len(s.Resources) != 0 {
		t.Fatalf("state: %v, %d resources, want none", err, len(s.Resources))
	}

	// Each request's record names its upload, escaped.
	log := logs.String()
	if strings.Contains(log, "\x1b") {
		t.Errorf("the log holds a raw escape character:\n%s", log)
	}
	for _, msg := range []string{"msg=\"upload reply\"", "msg=\"upload request failed\""} {
		var line string
		for l := range strings.Lines(log) {
			if strings.Contains(l, msg) {
				line = l
			}
		}
		if !strings.Contains(line, `address="wechatpay_image.img[\"img00014\x1b[2J.png\"]"`) || !strings.Contains(line, "filename=img00014.png") {
			t.Errorf("%s names no address or filename: %q", msg, line)
		}
	}

	// Another upload of the run, once the endpoint is out, was never sent.
	res = apply(c, change(15, "img00015.png"))
	if len(res.Failures) != 1 || !errors.As(res.Failures[0].Err, &down) || down.Sent || !strings.Contains(res.Failures[0].Err.Error(), "not sent: endpoint") {
		t.Errorf("an upload after the endpoint was out: %v, want not sent", res.Failures)
	}

	// The next run sends the stalled upload again, and it is recorded.
	sb.SetFaults(sandbox.Faults{})
	attempts.Store(10)
	if res := apply(newClient(), first); res.Uploaded != 1 || len(res.Failures) != 0 {
		t.Fatalf("the next apply: %d uploaded, failures %v", res.Uploaded, res.Failures)
	}
	if s, err := st.Snapshot(); err != nil || len(s.Resources) != 1 {
		t.Fatalf("state: %v, %d resources, want 1", err, len(s.Resources))
	}
}
