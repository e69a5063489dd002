package sandbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxmedia/wxmedia/uploader"
)

// dice returns fault rolls from a fixed sequence, then 0.99 (no fault).
func dice(rolls ...float64) func() float64 {
	var mu sync.Mutex
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		if len(rolls) == 0 {
			return 0.99
		}
		r := rolls[0]
		rolls = rolls[1:]
		return r
	}
}

func TestFaultBadSig(t *testing.T) {
	s, creds := openSandbox(t, t.TempDir())
	srv := start(t, s)
	s.SetFaults(Faults{BadSig: 1})
	req := request(uploader.APIMerchantImage, "a.png", pngBytes("badsig"))
	res, err := newClient(t, creds, srv.URL(), nil).Upload(context.Background(), req)
	if !errors.Is(err, uploader.ErrVerify) || res.ID != "" || res.Attempts != 1 {
		t.Fatalf("Upload() = %+v, %v; want ErrVerify", res, err)
	}
	if st := s.Stats(); st.Uploads != 1 || st.BySHA256[req.SHA256] != 1 {
		t.Errorf("a spoiled reply must still count: %+v", st)
	}
}

func TestFaultResetRetried(t *testing.T) {
	for _, proto := range []string{"HTTP/2", "HTTP/1.1"} {
		t.Run(proto, func(t *testing.T) {
			s, creds := openSandbox(t, t.TempDir())
			srv := start(t, s)
			s.roll = dice(0) // the first request is dropped
			s.SetFaults(Faults{Reset: 0.5})
			req := request(uploader.APIMerchantImage, "a.png", pngBytes("reset"))
			var retried []error
			res, err := newClient(t, creds, srv.URL(), func(c *uploader.Config) {
				c.OnRetry = func(_ int, err error, _ time.Duration) { retried = append(retried, err) }
				if proto == "HTTP/1.1" {
					tr := c.HTTPClient.Transport.(*http.Transport).Clone()
					tr.ForceAttemptHTTP2 = false
					tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
					tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
					c.HTTPClient = &http.Client{Transport: tr}
				}
			}).Upload(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			var netErr *uploader.NetworkError
			if res.Attempts != 2 || len(retried) != 1 || !errors.As(retried[0], &netErr) {
				t.Errorf("result %+v, retried after %v", res, retried)
			} else {
				t.Logf("dropped connection seen as: %v", retried[0])
			}
			if st := s.Stats(); st.Uploads != 1 {
				t.Errorf("a dropped connection must not count: %+v", st)
			}
		})
	}
}

func TestFault500And429Retried(t *testing.T) {
	s, creds := openSandbox(t, t.TempDir())
	srv := start(t, s)
	// Request 1: 500. Request 2: no 500, then 429. Request 3: clean.
	s.roll = dice(0, 0.99, 0)
	s.SetFaults(Faults{P500: 0.5, P429: 0.5, Delay: time.Millisecond})
	var codes []string
	res, err := newClient(t, creds, srv.URL(), func(c *uploader.Config) {
		c.OnRetry = func(_ int, err error, _ time.Duration) {
			var apiErr *uploader.APIError
			if errors.As(err, &apiErr) {
				codes = append(codes, strconv.Itoa(apiErr.StatusCode)+" "+apiErr.Code)
			}
		}
	}).Upload(context.Background(), request(uploader.APIMerchantImage, "a.png", pngBytes("faults")))
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 3 || strings.Join(codes, ",") != "500 SYSTEMERROR,429 FREQUENCY_LIMIT_EXCEED" {
		t.Errorf("attempts %d, retried after %v", res.Attempts, codes)
	}
	if st := s.Stats(); st.Uploads != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestRateLimit(t *testing.T) {
	s, creds := openSandbox(t, t.TempDir())
	s.SetFaults(Faults{RateLimit: 2})
	var codes []int
	for range 4 {
		w, _ := validRaw(t, creds).send(t, s)
		codes = append(codes, w.Code)
	}
	if fmt.Sprint(codes) != "[200 200 429 429]" {
		t.Errorf("codes = %v", codes)
	}
}

func TestParseFaults(t *testing.T) {
	f, err := ParseFaults("500=0.2,429=0.1,reset=0.05,badsig=0.02,delay=50ms")
	if err != nil {
		t.Fatal(err)
	}
	want := Faults{P500: 0.2, P429: 0.1, Reset: 0.05, BadSig: 0.02, Delay: 50 * time.Millisecond}
	if f != want {
		t.Errorf("ParseFaults = %+v, want %+v", f, want)
	}
	if back, err := ParseFaults(f.String()); err != nil || back != f {
		t.Errorf("round trip %q = %+v, %v", f.String(), back, err)
	}
	if f, err := ParseFaults(" rps=20 , "); err != nil || f.RateLimit != 20 {
		t.Errorf("rps: %+v, %v", f, err)
	}
	if f, err := ParseFaults(""); err != nil || f != (Faults{}) {
		t.Errorf("empty: %+v, %v", f, err)
	}
	for _, bad := range []string{"500=2", "500=-0.1", "429", "delay=fast", "delay=-1s", "teapot=0.1", "500=0.1,500=0.2", "rps=-1", "badsig=NaN"} {
		if _, err := ParseFaults(bad); err == nil {
			t.Errorf("ParseFaults(%q) = nil error", bad)
		}
	}
}
