package uploader

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter paces the requests of one merchant ID, all its uploads
// together, at the rate the server allows. Until the first rate-limit
// reply (HTTP 429, FREQUENCY_LIMITED) it does not pace at all, or paces at
// max_requests_per_second when the merchant sets it. A rate-limit reply
// then sets the pace to what the server was measured to accept over the
// last second (a server that limits sends 429s exactly when it is asked
// for more than it accepts, so the replies it did accept are its rate),
// or, before a second of replies is known, to half the rate the requests
// were sent at; later rate-limit replies cut the pace by a tenth, and it
// grows back by a twentieth of the accepted rate per second
// (AIMD), never above max_requests_per_second. So the pace settles within
// about a second at the server's rate and stays just under it.
//
// Its Throttle and OnAttempt methods are the Config hooks of the
// same names; one Limiter serves every client of one merchant ID. The
// spacing of requests is x/time/rate's; the Limiter only sets its rate. It
// is safe for concurrent use.
type Limiter struct {
	mu sync.Mutex
	// pace spaces the requests (burst 1); rate.Inf while not paced.
	pace *rate.Limiter
	// ceiling is max_requests_per_second; +Inf when not set.
	ceiling float64
	// cur is the pace in requests per second; +Inf when not paced.
	cur float64
	// step is the additive increase, in requests per second per second.
	step float64
	// grown is when cur last grew (or was cut); cut is when it was last
	// cut: rate-limit replies within a hold-off after it do not cut again.
	grown, cut time.Time
	// start is the first request, limited the first rate-limit reply;
	// sent and accepted are recent request and accepted-reply times.
	start, limited time.Time
	measured       bool // the server's rate was measured
	sent, accepted ring
	now            func() time.Time
	wait           func(ctx context.Context, d time.Duration) error
}

// Limiter tuning.
const (
	// MinRequestsPerSecond is the floor of a Limiter's pace.
	MinRequestsPerSecond = 0.5
	// firstCut is the multiplicative decrease of a first rate-limit reply
	// that comes before a second of replies measures the server's rate.
	firstCut = 0.5
	// laterCut is the multiplicative decrease of later rate-limit replies.
	laterCut = 0.9
	// increaseFraction sets the additive step: this fraction of the
	// measured accepted rate, per second, so a cut pace is back in about
	// two seconds and probes slowly above it.
	increaseFraction = 0.05
	// measureWindow is how far back accepted replies are counted when
	// fewer than measureCount came in it.
	measureWindow = time.Second
	measureCount  = 20
	// maxHold is the furthest ahead a waiting request holds its slot.
	maxHold = 100 * time.Millisecond
	// minStep is the least additive increase, per second per second.
	minStep = 0.1
)

// NewLimiter returns the limiter of one merchant ID; maxPerSecond is its
// max_requests_per_second, 0 for none.
func NewLimiter(maxPerSecond float64) *Limiter {
	l := &Limiter{ceiling: math.Inf(1), cur: math.Inf(1), pace: rate.NewLimiter(rate.Inf, 1), now: time.Now, wait: Sleep}
	if maxPerSecond > 0 {
		l.ceiling = math.Max(maxPerSecond, MinRequestsPerSecond)
		l.cur = l.ceiling
		l.step = math.Max(minStep, l.ceiling*increaseFraction)
		l.pace.SetLimit(rate.Limit(l.cur))
	}
	return l
}

// Rate is the current pace in requests per second; +Inf when not paced.
func (l *Limiter) Rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.grow(l.now())
	return l.cur
}

// Throttle waits until the next request may be sent; it is called before
// every HTTP request. It fails only with ctx's error. A request does not
// hold a slot further ahead than maxHold: it waits and asks again, so that
// a pace that grows (or was cut too far) applies to the requests already
// waiting, not only to later ones.
func (l *Limiter) Throttle(ctx context.Context) error {
	for {
		l.mu.Lock()
		now := l.now()
		if l.start.IsZero() {
			l.start = now
		}
		l.grow(now)
		r := l.pace.ReserveN(now, 1)
		d := r.DelayFrom(now)
		if d > maxHold {
			r.CancelAt(now)
		} else {
			l.sent.add(now)
		}
		l.mu.Unlock()
		if err := l.wait(ctx, min(d, maxHold)); err != nil {
			if d <= maxHold {
				l.mu.Lock()
				r.CancelAt(l.now())
				l.mu.Unlock()
			}
			return err
		}
		if d <= maxHold {
			return ctx.Err()
		}
	}
}

// OnAttempt is told the outcome of every request: a rate-limit reply cuts
// the pace of every upload of the merchant (several replies to requests in
// flight together cut it once); any other reply counts as accepted; a
// request that got no reply says nothing about the server's rate.
func (l *Limiter) OnAttempt(err error) {
	var netErr *NetworkError
	if errors.As(err, &netErr) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !RateLimited(err) {
		l.accepted.add(now)
		return
	}
	if !l.cut.IsZero() && now.Sub(l.cut) < l.holdoff() {
		return
	}
	l.grow(now)
	if l.limited.IsZero() {
		l.limited = now
	}
	// Replies accepted since the first rate-limit reply (the server's
	// burst, if any, was spent before it) measure the server's rate: the
	// last measureCount of them, or those of the last second when fewer
	// came, once they span a second or a quarter of one with five replies.
	n, from := l.accepted.last(measureCount, l.limited)
	if w := now.Add(-measureWindow); n < measureCount && w.After(from) {
		n, from = l.accepted.since(w), w
	}
	span := now.Sub(from)
	var next float64
	switch {
	case n > 0 && (span >= measureWindow || span >= measureWindow/4 && n >= 5):
		acc := float64(n) / span.Seconds()
		next = math.Min(l.cur*laterCut, acc)
		l.step = math.Max(minStep, acc*increaseFraction)
		l.measured = true
	case math.IsInf(l.cur, 1):
		next = l.sentRate(now) * firstCut
	default:
		// Not measured yet: halve, but not below the rate accepted since
		// the first rate-limit reply, which the server allows.
		next = l.cur * firstCut
		if span >= measureWindow/10 {
			next = math.Max(next, float64(n)/span.Seconds())
		}
	}
	if l.step == 0 {
		l.step = math.Max(minStep, next*increaseFraction)
	}
	l.cur = math.Min(l.ceiling, math.Max(MinRequestsPerSecond, next))
	l.pace.SetLimitAt(now, rate.Limit(l.cur))
	l.cut, l.grown = now, now
}

// holdoff is how long after a cut further rate-limit replies are taken to
// answer requests sent before it: two request intervals, and at least a
// quarter of the measuring window once the server's rate was measured, a
// tenth of it before (when the pace is still far too high).
func (l *Limiter) holdoff() time.Duration {
	least := measureWindow / 10
	if l.measured {
		least = measureWindow / 4
	}
	return max(least, time.Duration(2*float64(time.Second)/l.cur))
}

// grow applies the additive increase since the last change.
func (l *Limiter) grow(now time.Time) {
	if math.IsInf(l.cur, 1) || l.grown.IsZero() {
		l.grown = now
		return
	}
	if dt := now.Sub(l.grown).Seconds(); dt > 0 {
		if c := math.Min(l.ceiling, l.cur+l.step*dt); c != l.cur {
			l.cur = c
			l.pace.SetLimitAt(now, rate.Limit(c))
		}
		l.grown = now
	}
}

// sentRate estimates the rate of the last requests, in requests per second.
func (l *Limiter) sentRate(now time.Time) float64 {
	k, oldest := l.sent.recent()
	if k < 2 {
		return 2 * MinRequestsPerSecond
	}
	span := now.Sub(oldest).Seconds()
	if span <= 0 {
		return float64(k) // k requests in no measurable time: about k per second
	}
	return float64(k) / span
}

// ring holds the last times something happened.
type ring struct {
	t [256]time.Time
	n int
}

func (r *ring) add(t time.Time) {
	r.t[r.n%len(r.t)] = t
	r.n++
}

// recent returns how many times are held and the oldest of them.
func (r *ring) recent() (int, time.Time) {
	k := min(r.n, len(r.t))
	if k == 0 {
		return 0, time.Time{}
	}
	return k, r.t[(r.n-k)%len(r.t)]
}

// last returns how many of the last k held times are after t (at most
// k), and the time before the first of them: the k+1-th last held time
// when it is after t, else t.
func (r *ring) last(k int, t time.Time) (int, time.Time) {
	held := min(r.n, len(r.t))
	c := 0
	for i := 1; i <= held; i++ {
		at := r.t[(r.n-i)%len(r.t)]
		if !at.After(t) {
			break
		}
		if c == k {
			return c, at
		}
		c++
	}
	return c, t
}

// since counts the held times after t.
func (r *ring) since(t time.Time) int {
	k := min(r.n, len(r.t))
	c := 0
	for i := 1; i <= k; i++ {
		if !r.t[(r.n-i)%len(r.t)].After(t) {
			break
		}
		c++
	}
	return c
}

// RateLimited reports whether err is a "too many requests" reply that may
// succeed later: HTTP 429 or FREQUENCY_LIMITED, but not a day's quota.
func RateLimited(err error) bool { return TooManyRequests(err) }
