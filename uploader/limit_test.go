package uploader

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"testing"
	"time"
)

// fakeClock drives a Limiter: waits advance the clock instead of sleeping.
type fakeClock struct {
	mu  sync.Mutex
	t   time.Time
	all time.Duration // total waited
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func testLimiter(max float64) (*Limiter, *fakeClock) {
	c := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := NewLimiter(max)
	l.now = c.now
	// A wait records how long the request waited and moves the clock.
	l.wait = func(ctx context.Context, d time.Duration) error {
		c.mu.Lock()
		c.all += d
		c.t = c.t.Add(d)
		c.mu.Unlock()
		return ctx.Err()
	}
	return l, c
}

var tooMany = fmt.Errorf("upload %q: %w", "a.png", &APIError{StatusCode: http.StatusTooManyRequests, Code: "FREQUENCY_LIMIT_EXCEED"})

func TestLimiterUnpacedUntilRateLimited(t *testing.T) {
	l, c := testLimiter(0)
	for range 100 {
		must(t, l.Throttle(context.Background()))
		l.OnAttempt(nil)
		c.advance(5 * time.Millisecond) // 200 requests per second
	}
	if c.all != 0 || !math.IsInf(l.Rate(), 1) {
		t.Fatalf("waited %v at rate %v before any 429", c.all, l.Rate())
	}
	// Half a second in, no second of replies measures the server yet: the
	// first 429 halves the rate the requests were sent at.
	l.OnAttempt(tooMany)
	if r := l.Rate(); r < 80 || r > 120 {
		t.Fatalf("rate after the first 429 at about 200/s: %v, want about 100", r)
	}
	// The next requests are spaced at the new pace.
	c.all = 0
	for range 10 {
		must(t, l.Throttle(context.Background()))
	}
	if c.all < 9*8*time.Millisecond {
		t.Errorf("10 requests right after a cut waited %v in total, want them spaced about 10ms apart", c.all)
	}
}

func TestLimiterHonoursMaxRequestsPerSecond(t *testing.T) {
	l, c := testLimiter(10)
	for range 5 {
		must(t, l.Throttle(context.Background()))
	}
	// Requests 0..4 sent back to back are 100 ms apart.
	if want := 400 * time.Millisecond; c.all < want-5*time.Millisecond || c.all > want+5*time.Millisecond {
		t.Fatalf("total wait %v, want %v", c.all, want)
	}
	if l.Rate() != 10 {
		t.Fatalf("rate %v, want the ceiling 10", l.Rate())
	}
	// Growth never passes the ceiling.
	l.OnAttempt(tooMany)
	c.advance(time.Minute)
	if r := l.Rate(); r != 10 {
		t.Fatalf("a minute after a cut: %v, want the ceiling 10", r)
	}
}

// bucketServer is a server that accepts rate requests per second, with a
// burst of as many (the sandbox's rps fault).
type bucketServer struct {
	rate, tokens float64
	last         time.Time
}

func (s *bucketServer) accept(now time.Time) bool {
	if s.last.IsZero() {
		s.tokens, s.last = s.rate, now
	}
	s.tokens = math.Min(s.rate, s.tokens+now.Sub(s.last).Seconds()*s.rate)
	s.last = now
	if s.tokens < 1 {
		return false
	}
	s.tokens--
	return true
}

// simulate sends requests one after another, each taking latency, to a
// server limited to serverRate, through a fresh limiter, for d; requests
// are paced by moving the clock. It returns the limiter, the times of
// accepted requests and the count of 429s.
func simulate(t *testing.T, serverRate float64, latency, d time.Duration) (*Limiter, []time.Time, []time.Time) {
	l, c := testLimiter(0)
	srv := &bucketServer{rate: serverRate}
	start := c.now()
	var ok, rejected []time.Time
	for c.now().Sub(start) < d {
		must(t, l.Throttle(context.Background()))
		c.advance(latency)
		if srv.accept(c.now()) {
			ok = append(ok, c.now())
			l.OnAttempt(nil)
		} else {
			rejected = append(rejected, c.now())
			l.OnAttempt(tooMany)
		}
	}
	return l, ok, rejected
}

// The pace converges to the server's rate within a few seconds and then
// keeps the server busy: at least 90% of its rate is used, with few 429s.
func TestLimiterConvergesToServerRate(t *testing.T) {
	for _, rps := range []float64{2, 10, 20, 100} {
		l, ok, rejected := simulate(t, rps, 2*time.Millisecond, 60*time.Second)
		start := ok[0]
		late := 0
		for _, at := range ok {
			if at.Sub(start) >= 3*time.Second {
				late++
			}
		}
		got := float64(late) / 57
		if got < 0.9*rps || got > 1.01*rps {
			t.Errorf("server at %v/s: %.2f accepted per second after the first 3s, want at least 90%%", rps, got)
		}
		if r := l.Rate(); r < 0.8*rps || r > 1.3*rps {
			t.Errorf("server at %v/s: pace %.2f at the end", rps, r)
		}
		// The 429s: in the first second, while the pace comes down from
		// 500/s, far fewer than the 500 of a client that does not adapt;
		// then a few per cut: a tenth of the accepted requests, or one per
		// 4 s at a slow server, at most.
		early := 0
		for _, at := range rejected {
			if at.Sub(start) < time.Second {
				early++
			}
		}
		if early > 80 || len(rejected)-early > max(len(ok)/10, 59/4) {
			t.Errorf("server at %v/s: %d 429s in the first second, %d later for %d accepted", rps, early, len(rejected)-early, len(ok))
		}
	}
}

func TestLimiterIgnoresOtherErrors(t *testing.T) {
	l, _ := testLimiter(10)
	for _, err := range []error{
		&APIError{StatusCode: 500, Code: "SYSTEM_ERROR"},
		&APIError{StatusCode: 400, Code: "PARAM_ERROR"},
		&APIError{StatusCode: 429, Code: "FREQUENCY_LIMIT_EXCEED", Message: "当天上传文件数已达上限"},
		&NetworkError{Endpoint: "https://x", Err: errors.New("connection reset")},
		errors.New("other"),
	} {
		l.OnAttempt(err)
		if r := l.Rate(); r != 10 {
			t.Fatalf("%v cut the rate to %v", err, r)
		}
	}
	if !RateLimited(&V2Error{ErrCode: "FREQUENCY_LIMITED"}) || !RateLimited(tooMany) {
		t.Fatal("v2 FREQUENCY_LIMITED and a wrapped 429 are rate limits")
	}
}

func TestLimiterThrottleStopsOnCancel(t *testing.T) {
	l := NewLimiter(1)
	must(t, l.Throttle(context.Background()))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := l.Throttle(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Throttle: %v", err)
	}
	if time.Since(start) > 500*time.Millisecond {
		t.Fatal("Throttle did not return on cancel")
	}
}

// TestLimiterPacesConcurrentRequests checks the real clock: 8 goroutines
// sharing a 200 requests/s limiter send 41 requests in about 200ms.
func TestLimiterPacesConcurrentRequests(t *testing.T) {
	l := NewLimiter(200)
	start := time.Now()
	var wg sync.WaitGroup
	var count sync.Mutex
	n := 0
	for range 8 {
		wg.Go(func() {
			for {
				count.Lock()
				if n == 41 {
					count.Unlock()
					return
				}
				n++
				count.Unlock()
				must(t, l.Throttle(context.Background()))
			}
		})
	}
	wg.Wait()
	if d := time.Since(start); d < 190*time.Millisecond || d > 2*time.Second {
		t.Fatalf("41 requests at 200/s took %v, want about 200ms", d)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
