package uploader

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func tooFast(retryAfter string) behaviour {
	return func(w http.ResponseWriter, f *fakeWeChat) {
		reply(w, f, http.StatusTooManyRequests, `{"code":"FREQUENCY_LIMIT_EXCEED","message":"Frequency limit"}`, func(h http.Header) {
			if retryAfter != "" {
				h.Set("Retry-After", retryAfter)
			}
		})
	}
}

// The retry budget is a span of time, not a few quick attempts: a server
// that answers 429 eight times in a row is waited out.
func TestUploadRidesOutRateLimit(t *testing.T) {
	q := []behaviour{}
	for range 8 {
		q = append(q, tooFast(""))
	}
	f, srv := newFake(t, append(q, ok("id-after-8"))...)
	c := testClient(t, srv, nil)
	res, err := c.Upload(context.Background(), pngRequest("a.png"))
	if err != nil || res.ID != "id-after-8" || f.requests != 9 {
		t.Fatalf("Upload() = %+v, %v after %d requests", res, err, f.requests)
	}
}

// Past the budget, the upload gives up with a *RetryError that says so.
func TestUploadRetryBudget(t *testing.T) {
	f, srv := newFake(t, tooFast(""))
	c := testClient(t, srv, func(c *Config) { c.RetryTimeout = time.Second })
	start := time.Now()
	_, err := c.Upload(context.Background(), pngRequest("a.png"))
	took := time.Since(start)
	var re *RetryError
	if !errors.As(err, &re) || !IsRetryable(err) || !strings.Contains(err.Error(), "retry budget 1s") {
		t.Fatalf("Upload() = %v", err)
	}
	if took > 4*time.Second || took < 900*time.Millisecond || f.requests <= 5 {
		t.Errorf("gave up after %v and %d requests, want about a second of retries", took, f.requests)
	}
}

// Retry-After is honoured, in seconds and as an HTTP date, beyond the
// backoff's own ceiling.
func TestUploadHonoursRetryAfter(t *testing.T) {
	for _, ra := range []string{"1", "date"} {
		if ra == "date" {
			ra = time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat)
		}
		f, srv := newFake(t, tooFast(ra), ok("id"))
		var waited time.Duration
		c := testClient(t, srv, func(c *Config) {
			c.OnRetry = func(_ int, _ error, d time.Duration) { waited = d }
		})
		start := time.Now()
		res, err := c.Upload(context.Background(), pngRequest("a.png"))
		if err != nil || res.ID != "id" || f.requests != 2 {
			t.Fatalf("Retry-After %q: %+v, %v", ra, res, err)
		}
		// An HTTP date has whole seconds: 2 s ahead is at least 1 s away.
		if took := time.Since(start); waited < 900*time.Millisecond || took < 900*time.Millisecond || took > 4*time.Second {
			t.Errorf("Retry-After %q: waited %v (%v in all), want about a second or two", ra, waited, took)
		}
	}
}

// A Retry-After past the budget ends the upload at once.
func TestUploadRetryAfterPastBudget(t *testing.T) {
	_, srv := newFake(t, tooFast("3600"))
	c := testClient(t, srv, func(c *Config) { c.RetryTimeout = time.Minute })
	start := time.Now()
	_, err := c.Upload(context.Background(), pngRequest("a.png"))
	var re *RetryError
	if !errors.As(err, &re) || re.Next != time.Hour || time.Since(start) > 5*time.Second || !strings.Contains(err.Error(), "the next in 1h0m0s") {
		t.Fatalf("Upload() = %v after %v", err, time.Since(start))
	}
}

func TestRetryAfterParse(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"0":                              0,
		"99999999999999999":              24 * time.Hour, // bounded, then past any budget
		" 7 ":                            7 * time.Second,
		"Fri, 02 Jan 2026 03:04:35 GMT":  30 * time.Second,
		"Fri, 02 Jan 2026 03:00:00 GMT":  0, // in the past
		"Friday, 02-Jan-26 03:04:15 GMT": 10 * time.Second,
	} {
		if got, ok := retryAfter(v, now); !ok || got != want {
			t.Errorf("retryAfter(%q) = %v, %v; want %v", v, got, ok, want)
		}
	}
	for _, v := range []string{"", "-1", "soon", "1.5"} {
		if _, ok := retryAfter(v, now); ok {
			t.Errorf("retryAfter(%q) accepted", v)
		}
	}
}

// A retry error counts its attempts in words that agree with the number:
// one request stalled past the whole budget is "1 attempt", two refused
// ones are "2 attempts".
func TestRetryErrorCountsAttempts(t *testing.T) {
	srv, _ := stalled(t, false)
	c := testClient(t, srv, func(c *Config) {
		c.Endpoint, c.HTTPClient = srv.URL, srv.Client()
		c.HeaderTimeout = 300 * time.Millisecond
		c.RetryTimeout = 100 * time.Millisecond
	})
	_, err := c.Upload(context.Background(), pngRequest("a.png"))
	var re *RetryError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "giving up after 1 attempt in ") {
		t.Errorf("one stalled request past the budget: %v", err)
	}

	_, srv2 := newFake(t, tooFast(""))
	c = testClient(t, srv2, func(c *Config) { c.MaxAttempts = 2 })
	_, err = c.Upload(context.Background(), pngRequest("a.png"))
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "giving up after 2 attempts: ") {
		t.Errorf("two refused requests: %v", err)
	}
}
