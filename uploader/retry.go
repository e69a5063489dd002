package uploader

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryError is an upload whose retryable failures outlasted its retry
// budget (Config.RetryTimeout, apply's -retry-timeout) or MaxAttempts. Err
// is the last failure.
type RetryError struct {
	Attempts int
	Elapsed  time.Duration // from the first request to the end
	Budget   time.Duration // the retry budget
	Next     time.Duration // the wait the next retry needed
	Paced    bool          // the client-side pace had no slot left within the budget
	Err      error
}

// BudgetSpent reports whether the retry budget, not MaxAttempts, ended the upload.
func (e *RetryError) BudgetSpent() bool { return e.Paced || e.Elapsed+e.Next > e.Budget }

func (e *RetryError) Error() string {
	if !e.BudgetSpent() {
		return fmt.Sprintf("giving up after %s: %v", count(e.Attempts, "attempt"), e.Err)
	}
	why := ""
	switch {
	case e.Paced:
		why = ", the pace the server allows leaves no slot in it"
	case e.Next > time.Second:
		why = fmt.Sprintf(", the next in %s", e.Next.Round(100*time.Millisecond))
	}
	return fmt.Sprintf("giving up after %s in %s (retry budget %s%s): %v",
		count(e.Attempts, "attempt"), e.Elapsed.Round(100*time.Millisecond), e.Budget, why, e.Err)
}

func (e *RetryError) Unwrap() error { return e.Err }

// count says "1 attempt", "2 attempts" (noun "attempt").
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// errBudgetSpent is returned by throttle when the pace would send the
// request after the retry budget's end.
var errBudgetSpent = errors.New("the retry budget ends before the next request may be sent")

// throttle waits for the client-side pace (Config.Throttle), within the
// retry budget once the first request of the upload was sent.
func (c *Client) throttle(ctx context.Context, u *upload) error {
	if c.cfg.Throttle == nil {
		if u.budgetEnd.IsZero() {
			u.budgetEnd = time.Now().Add(c.cfg.RetryTimeout)
		}
		return nil
	}
	if u.budgetEnd.IsZero() {
		err := c.cfg.Throttle(ctx)
		u.budgetEnd = time.Now().Add(c.cfg.RetryTimeout)
		return err
	}
	tctx, cancel := context.WithDeadline(ctx, u.budgetEnd)
	defer cancel()
	err := c.cfg.Throttle(tctx)
	if err != nil && ctx.Err() == nil {
		return errBudgetSpent
	}
	return err
}

// retryAfterError carries a reply's Retry-After hint along with its error.
type retryAfterError struct {
	error
	after time.Duration
}

func (e *retryAfterError) Unwrap() error { return e.error }

func quotaReached(err error) bool {
	var apiErr *APIError
	var v2Err *V2Error
	return errors.As(err, &apiErr) && apiErr.DailyQuotaReached() || errors.As(err, &v2Err) && v2Err.DailyQuotaReached()
}

// retryAfter reads a Retry-After header: delay seconds, or an HTTP date
// (RFC 9110 §10.2.3), taken relative to now. A date in the past is no delay.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs >= 0 {
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// backoff returns the delay before retry n (n >= 1): full jitter over
// min(MaxDelay, BaseDelay*2^(n-1)), or a longer Retry-After.
func (c *Client) backoff(n int, err error) time.Duration {
	ceiling := c.cfg.MaxDelay
	if n-1 < 30 {
		if d := c.cfg.BaseDelay << (n - 1); d > 0 && d < ceiling {
			ceiling = d
		}
	}
	// A rate-limit reply through a client-side pace (Throttle) needs no
	// growing backoff: the pace already slows every request down to what
	// the server accepts, and a long sleep would only leave the pace idle.
	if c.cfg.Throttle != nil && TooManyRequests(err) {
		ceiling = c.cfg.BaseDelay
	}
	delay := time.Duration(mrand.Int64N(int64(ceiling) + 1))
	var ra *retryAfterError
	if errors.As(err, &ra) && ra.after > delay {
		delay = ra.after
	}
	return delay
}

// TooManyRequests reports whether err is a "too many requests" reply that
// may succeed later: HTTP 429 or the v2 FREQUENCY_LIMITED, not a day's quota.
func TooManyRequests(err error) bool {
	if err == nil || errors.Is(err, ErrDailyQuota) {
		return false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode == http.StatusTooManyRequests && !apiErr.DailyQuotaReached()
	}
	var v2Err *V2Error
	if errors.As(err, &v2Err) {
		return (v2Err.ErrCode == "FREQUENCY_LIMITED" || v2Err.StatusCode == http.StatusTooManyRequests) && !v2Err.DailyQuotaReached()
	}
	return false
}

// Sleep waits for d, or until ctx is done, and then returns ctx's error,
// if any.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
