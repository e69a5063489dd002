package apply

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/wxmedia/wxmedia/uploader"
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
	// A wait records how long the request waited; the test moves the clock.
	l.wait = func(ctx context.Context, d time.Duration) error {
		c.mu.Lock()
		c.all += d
		c.mu.Unlock()
		return ctx.Err()
	}
	return l, c
}

var tooMany = fmt.Errorf("upload %q: %w", "a.png", &uploader.APIError{StatusCode: http.StatusTooManyRequests, Code: "FREQUENCY_LIMIT_EXCEED"})

func TestLimiterUnpacedUntilRateLimited(t *testing.T) {
	l, c := testLimiter(0)
	for range 100 {
		must(t, l.Throttle(context.Background()))
		c.advance(10 * time.Millisecond) // 100 requests per second
	}
	if c.all != 0 || !math.IsInf(l.Rate(), 1) {
		t.Fatalf("waited %v at rate %v before any 429", c.all, l.Rate())
	}
	l.OnRetry(1, tooMany, time.Second)
	if r := l.Rate(); r < 40 || r > 60 {
		t.Fatalf("rate after the first 429 at about 100/s: %v, want about 50", r)
	}
	// The next requests are spaced at the new pace.
	c.all = 0
	for range 10 {
		must(t, l.Throttle(context.Background()))
	}
	if c.all < 9*15*time.Millisecond {
		t.Errorf("10 requests right after a cut waited %v in total, want them spaced about 20ms apart", c.all)
	}
}

func TestLimiterHonoursMaxRequestsPerSecond(t *testing.T) {
	l, c := testLimiter(10)
	for range 5 {
		must(t, l.Throttle(context.Background()))
	}
	// Requests 0..4 sent at once wait 0, 100, 200, 300, 400 ms.
	if want := 1000 * time.Millisecond; c.all != want {
		t.Fatalf("total wait %v, want %v", c.all, want)
	}
	if l.Rate() != 10 {
		t.Fatalf("rate %v, want the ceiling 10", l.Rate())
	}
}

func TestLimiterAIMD(t *testing.T) {
	l, c := testLimiter(10)
	l.OnRetry(1, tooMany, time.Second)
	if r := l.Rate(); r != 5 {
		t.Fatalf("after a 429: %v, want 5", r)
	}
	// Replies to requests in flight together cut once.
	c.advance(100 * time.Millisecond)
	l.OnRetry(1, tooMany, time.Second)
	l.OnRetry(2, tooMany, time.Second)
	if r := l.Rate(); r < 5 || r > 5.1 {
		t.Fatalf("after a burst of 429s: %v, want one cut (5)", r)
	}
	// Additive increase, one request per second per second here: back to
	// the ceiling in about five seconds, not above.
	c.advance(2500 * time.Millisecond)
	if r := l.Rate(); r < 7 || r > 8 {
		t.Fatalf("2.5s after the cut: %v, want about 7.5", r)
	}
	c.advance(time.Minute)
	if r := l.Rate(); r != 10 {
		t.Fatalf("a minute later: %v, want the ceiling 10", r)
	}
	// A later 429 cuts again.
	l.OnRetry(1, tooMany, time.Second)
	if r := l.Rate(); r != 5 {
		t.Fatalf("after another 429: %v, want 5", r)
	}
	// Sporadic 429s every 3s settle where the increase balances the cuts
	// (r = (r+3)/2, so 3/s), not at the floor: the step does not shrink.
	for range 20 {
		c.advance(3 * time.Second)
		l.OnRetry(1, tooMany, time.Second)
	}
	if r := l.Rate(); r < 2.5 || r > 3.5 {
		t.Fatalf("after many spaced 429s: %v, want about 3", r)
	}
	// A storm of 429s (one per hold-off) still drives the pace down fast.
	for range 20 {
		c.advance(time.Second + l.holdoff())
		l.OnRetry(1, tooMany, time.Second)
	}
	if r := l.Rate(); r > 3 {
		t.Fatalf("after a storm of 429s: %v, want it low", r)
	}
}

func TestLimiterIgnoresOtherErrors(t *testing.T) {
	l, _ := testLimiter(10)
	for _, err := range []error{
		&uploader.APIError{StatusCode: 500, Code: "SYSTEM_ERROR"},
		&uploader.APIError{StatusCode: 400, Code: "PARAM_ERROR"},
		&uploader.APIError{StatusCode: 429, Code: "FREQUENCY_LIMIT_EXCEED", Message: "当天上传文件数已达上限"},
		&uploader.NetworkError{Endpoint: "https://x", Err: errors.New("connection reset")},
		errors.New("other"),
	} {
		l.OnRetry(1, err, time.Second)
		if r := l.Rate(); r != 10 {
			t.Fatalf("%v cut the rate to %v", err, r)
		}
	}
	if !RateLimited(&uploader.V2Error{ErrCode: "FREQUENCY_LIMITED"}) || !RateLimited(tooMany) {
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
