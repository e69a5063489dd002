package apply

import (
	"context"
	"errors"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/wxmedia/wxmedia/uploader"
)

// Limiter paces the requests of one merchant, all its uploads together,
// with AIMD: a rate-limit reply (HTTP 429, FREQUENCY_LIMITED) halves the
// rate (multiplicative decrease), and the rate then grows back by a fixed
// step per second (additive increase), never above the merchant's
// max_requests_per_second. Until the first rate-limit reply, a merchant
// without max_requests_per_second is not paced at all.
//
// Its Throttle and OnRetry methods are the uploader.Config hooks of the
// same names; one Limiter serves every client of one merchant. It is safe
// for concurrent use.
type Limiter struct {
	mu sync.Mutex
	// ceiling is max_requests_per_second; +Inf when not set.
	ceiling float64
	// rate is the current pace in requests per second; +Inf when not paced.
	rate float64
	// step is the additive increase, in requests per second per second.
	step float64
	// next is when the next request may be sent.
	next time.Time
	// grown is when rate last grew (or was cut).
	grown time.Time
	// cut is when rate was last cut; replies to requests sent before then
	// do not cut it again.
	cut time.Time
	// sent records recent request times, to estimate the rate a first
	// rate-limit reply interrupted.
	sent [64]time.Time
	n    int
	now  func() time.Time
	wait func(ctx context.Context, d time.Duration) error
}

// Limiter tuning.
const (
	// MinRequestsPerSecond is the floor of a Limiter's pace.
	MinRequestsPerSecond = 0.5
	// decreaseFactor is the multiplicative decrease on a rate-limit reply.
	decreaseFactor = 0.5
	// increaseFraction sets the additive step: this fraction of the rate
	// right after the first cut, per second, so a halved rate recovers in
	// about ten seconds without further rate-limit replies.
	increaseFraction = 0.1
)

// NewLimiter returns the limiter of one merchant; maxPerSecond is its
// max_requests_per_second, 0 for none.
func NewLimiter(maxPerSecond float64) *Limiter {
	l := &Limiter{ceiling: math.Inf(1), rate: math.Inf(1), now: time.Now, wait: uploader.Sleep}
	if maxPerSecond > 0 {
		l.ceiling = math.Max(maxPerSecond, MinRequestsPerSecond)
		l.rate = l.ceiling
		l.step = math.Max(1, l.ceiling*increaseFraction)
	}
	return l
}

// Rate is the current pace in requests per second; +Inf when not paced.
func (l *Limiter) Rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.grow(l.now())
	return l.rate
}

// Throttle waits until the next request may be sent; it is called before
// every HTTP request. It fails only with ctx's error.
func (l *Limiter) Throttle(ctx context.Context) error {
	l.mu.Lock()
	now := l.now()
	l.grow(now)
	l.sent[l.n%len(l.sent)] = now
	l.n++
	if math.IsInf(l.rate, 1) {
		l.mu.Unlock()
		return nil
	}
	at := l.next
	if at.Before(now) {
		at = now
	}
	l.next = at.Add(time.Duration(float64(time.Second) / l.rate))
	l.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		return l.wait(ctx, d)
	}
	return ctx.Err()
}

// OnRetry is called before each backoff sleep of an upload; a rate-limit
// error cuts the pace of every upload of the merchant. Several replies to
// requests in flight together cut it once.
func (l *Limiter) OnRetry(attempt int, err error, delay time.Duration) {
	if !RateLimited(err) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !l.cut.IsZero() && now.Sub(l.cut) < l.holdoff() {
		return
	}
	l.grow(now)
	r := l.rate
	if math.IsInf(r, 1) {
		r = l.observed(now)
	}
	l.rate = math.Max(MinRequestsPerSecond, r*decreaseFactor)
	// The additive step is fixed at the first cut (a tenth of the pace the
	// first rate limit interrupted, at least one request per second per
	// second): it must not shrink with every cut, or sporadic rate limits
	// would drive the pace to the floor and keep it there.
	if l.step == 0 {
		l.step = math.Max(1, l.rate*increaseFraction)
	}
	l.cut, l.grown = now, now
	// Requests already granted keep their slots; new ones are spaced from
	// now at the new pace.
	if l.next.Before(now) {
		l.next = now
	}
}

// holdoff is how long after a cut further rate-limit replies are taken to
// answer requests sent before it: one request interval, at least a second.
func (l *Limiter) holdoff() time.Duration {
	return max(time.Second, time.Duration(float64(time.Second)/l.rate))
}

// grow applies the additive increase since the last change.
func (l *Limiter) grow(now time.Time) {
	if math.IsInf(l.rate, 1) || l.grown.IsZero() {
		l.grown = now
		return
	}
	if dt := now.Sub(l.grown).Seconds(); dt > 0 {
		l.rate = math.Min(l.ceiling, l.rate+l.step*dt)
		l.grown = now
	}
}

// observed estimates the request rate of the last requests, in requests
// per second.
func (l *Limiter) observed(now time.Time) float64 {
	k := min(l.n, len(l.sent))
	if k < 2 {
		return 2 * MinRequestsPerSecond
	}
	oldest := l.sent[(l.n-k)%len(l.sent)]
	span := now.Sub(oldest).Seconds()
	if span <= 0 {
		return float64(k) // k requests in no measurable time: about k per second
	}
	return float64(k) / span
}

// RateLimited reports whether err is a "too many requests" reply that may
// succeed later: HTTP 429 or FREQUENCY_LIMITED, but not a day's quota.
func RateLimited(err error) bool {
	if err == nil || errors.Is(err, uploader.ErrDailyQuota) {
		return false
	}
	var apiErr *uploader.APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode == http.StatusTooManyRequests && !apiErr.DailyQuotaReached()
	}
	var v2Err *uploader.V2Error
	if errors.As(err, &v2Err) {
		return (v2Err.ErrCode == "FREQUENCY_LIMITED" || v2Err.StatusCode == http.StatusTooManyRequests) && !v2Err.DailyQuotaReached()
	}
	return false
}
