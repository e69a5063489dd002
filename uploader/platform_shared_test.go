package uploader

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// A certificate download that fails with a retryable error (500) is made
// again by the upload's next attempt, which then succeeds.
func TestFirstDownloadRetriedAfterServerError(t *testing.T) {
	now := time.Now()
	a := newTestCert(t, 0, 0x5A5A02, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	cs, srv := newCertServer(t, a)
	cs.downloadFails = 2
	c := certClient(t, srv, t.TempDir(), nil)
	res, err := c.Upload(context.Background(), pngRequest("a.png"))
	if err != nil {
		t.Fatalf("Upload() = %v, want success after the download is retried", err)
	}
	if res.ID != "media-1" {
		t.Errorf("ID = %q, want media-1", res.ID)
	}
	if d, u := cs.counts(); d != 3 || u != 1 {
		t.Errorf("downloads, uploads = %d, %d; want 3, 1", d, u)
	}
}

// A download that fails for good (a wrong api_v3_key) is not made again
// by every upload: the others get its error, which says what went wrong.
func TestFirstDownloadFailureShared(t *testing.T) {
	now := time.Now()
	a := newTestCert(t, 0, 0x5A5A03, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	cs, srv := newCertServer(t, a)
	cs.apiV3Key = "vutsrqponmlkjihgfedcba9876543210"
	cs.downloadDelay = 100 * time.Millisecond
	c := certClient(t, srv, t.TempDir(), nil)
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.Upload(context.Background(), pngRequest(fmt.Sprintf("%d.png", i)))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, ErrCertificates) || IsRetryable(err) {
			t.Errorf("upload %d: %v; want a final ErrCertificates", i, err)
		} else if want := "check api_v3_key"; !strings.Contains(err.Error(), want) {
			t.Errorf("upload %d: %v; want it to say %q", i, err, want)
		}
	}
	if d, u := cs.counts(); d != 1 || u != 0 {
		t.Errorf("downloads, uploads = %d, %d; want 1, 0", d, u)
	}
}
