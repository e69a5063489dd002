package uploader

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stalled is a real HTTPS server that reads each request and then never
// answers (headers), or answers with headers and a body of one byte every
// 100 ms that never ends (trickle), until the client goes away.
func stalled(t *testing.T, trickle bool) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	done := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		buf := make([]byte, 32<<10)
		for {
			if _, err := r.Body.Read(buf); err != nil {
				break
			}
		}
		if trickle {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
		}
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			var gone <-chan struct{}
			if !trickle {
				gone = r.Context().Done()
			}
			select {
			case <-gone:
				return
			case <-done:
				return
			case <-tick.C:
				// A trickle ends only when the client is gone: the
				// write fails.
				if trickle {
					if _, err := w.Write([]byte(" ")); err != nil || http.NewResponseController(w).Flush() != nil {
						return
					}
				}
			}
		}
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	return srv, &n
}

func quickBreakers() *Breakers {
	b := NewBreakers()
	b.Span = 300 * time.Millisecond
	return b
}

// A server that never sends headers, or trickles its body, is given up on
// per attempt; once it stalled three times in a row its endpoint is out of
// the run and the other uploads fail at once, without a request.
func TestStalledEndpoint(t *testing.T) {
	for _, trickle := range []bool{false, true} {
		srv, requests := stalled(t, trickle)
		c := testClient(t, srv, func(c *Config) {
			c.Endpoint, c.HTTPClient = srv.URL, srv.Client()
			c.HeaderTimeout, c.BodyTimeout = 200*time.Millisecond, 200*time.Millisecond
			c.RetryTimeout = time.Minute
			c.Breakers = quickBreakers()
		})
		start := time.Now()
		_, err := c.Upload(context.Background(), pngRequest("a.png"))
		var down *EndpointDownError
		var stall *StallError
		if !errors.As(err, &down) || !errors.As(err, &stall) || IsRetryable(err) {
			t.Fatalf("trickle=%v: Upload() = %v, want an *EndpointDownError after stalls", trickle, err)
		}
		if want := map[bool]string{false: "headers", true: "body"}[trickle]; stall.Phase != want {
			t.Errorf("stall in %s, want %s", stall.Phase, want)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("trickle=%v: gave up after %v", trickle, took)
		}
		if !strings.Contains(err.Error(), "stopped answering") || !down.Sent || !down.Unanswered || strings.Contains(err.Error(), "not sent") {
			t.Errorf("trickle=%v: its requests were sent and not answered, but: %v", trickle, err)
		}
		// The next upload fails at once, without a request.
		sent := requests.Load()
		start = time.Now()
		_, err = c.Upload(context.Background(), pngRequest("b.png"))
		if !errors.As(err, &down) || down.Sent || !strings.Contains(err.Error(), "not sent: ") || time.Since(start) > 100*time.Millisecond || requests.Load() != sent {
			t.Errorf("after the breaker opened: %v in %v, %d more requests", err, time.Since(start), requests.Load()-sent)
		}
	}
}

// With a fallback endpoint, uploads go there once the primary is out.
func TestStalledEndpointFallsBack(t *testing.T) {
	primary, requests := stalled(t, false)
	_, good := newFake(t, ok("from-fallback"))
	c := testClient(t, good, func(c *Config) {
		c.Endpoint, c.FallbackEndpoint = primary.URL, good.URL
		c.HTTPClient = good.Client() // trusts both: same httptest CA
		// Long enough for the good fallback to answer on a loaded machine
		// (-race): only the primary may stall.
		c.HeaderTimeout = time.Second
		c.Breakers = quickBreakers()
	})
	upload := func() {
		t.Helper()
		c.mu.Lock()
		c.preferFB = time.Time{} // no stickiness: only the breaker keeps the primary out
		c.mu.Unlock()
		res, err := c.Upload(context.Background(), pngRequest("a.png"))
		if err != nil || res.ID != "from-fallback" {
			t.Fatalf("upload: %+v, %v", res, err)
		}
	}
	for i := 0; c.breakers.check(c.endpoint) == nil; i++ {
		if i == 10 {
			t.Fatal("the stalled primary's breaker did not open")
		}
		upload()
	}
	sent := requests.Load()
	for range 3 {
		upload()
	}
	if requests.Load() != sent {
		t.Errorf("the stalled primary got %d more requests after its breaker opened", requests.Load()-sent)
	}
}

// Uploads in parallel to a dead endpoint (connection refused) all end soon
// after the breaker opens, each reported.
func TestDeadEndpointEndsSoon(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "https://" + l.Addr().String()
	l.Close()
	_, srv := newFake(t, ok("never"))
	c := testClient(t, srv, func(c *Config) {
		c.Endpoint = dead
		c.RetryTimeout = time.Hour
		c.Breakers = quickBreakers()
	})
	start := time.Now()
	var wg sync.WaitGroup
	var downs atomic.Int64
	for range 50 {
		wg.Go(func() {
			_, err := c.Upload(context.Background(), pngRequest("a.png"))
			if errors.Is(err, ErrEndpointDown) && strings.Contains(err.Error(), "connection refused") && strings.Contains(err.Error(), "not sent: ") {
				downs.Add(1)
			} else {
				t.Errorf("Upload() = %v", err)
			}
		})
	}
	wg.Wait()
	if took := time.Since(start); took > 10*time.Second || downs.Load() != 50 {
		t.Errorf("%d of 50 uploads to a dead endpoint ended with ErrEndpointDown, after %v", downs.Load(), took)
	}
}
