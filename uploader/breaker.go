package uploader

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Defaults of the per-attempt deadlines and of Breakers.
const (
	// DefaultHeaderTimeout bounds the wait for a reply's headers once the
	// request was written. WeChat Pay answers an upload within seconds.
	DefaultHeaderTimeout = 30 * time.Second
	// DefaultBodyTimeout bounds the reading of a reply's body once its
	// headers came; replies are a few hundred bytes.
	DefaultBodyTimeout = 15 * time.Second
	// BreakerFailures and BreakerSpan: an endpoint is taken out of the run
	// when this many requests in a row got no reply, the first of them
	// sent at least BreakerSpan before the last failed.
	BreakerFailures = 3
	BreakerSpan     = 10 * time.Second
)

// ErrEndpointDown is matched (errors.Is) by every *EndpointDownError.
var ErrEndpointDown = errors.New("endpoint is not answering")

// EndpointDownError is an upload given up on because its endpoint stopped
// answering (see Breakers). It is not retried. When Sent is false, the
// endpoint was never asked for this upload ("not sent"); when it is true,
// a request of the upload reached a connection, and when Unanswered is
// true too the server may have accepted it: nothing is recorded, and the
// next apply sends it again.
type EndpointDownError struct {
	Endpoint string
	Failures int           // requests in a row that got no reply
	Over     time.Duration // from the first of them being sent to the last failing
	Last     error         // the last failure, a *NetworkError
	// Sent says that a request of this upload, in any attempt, began to be
	// written to a connection; Unanswered that one of them got no reply, so
	// the server may have accepted the upload.
	Sent, Unanswered bool
}

func (e *EndpointDownError) Error() string {
	what := "not sent"
	switch {
	case e.Unanswered:
		what = "sent but unanswered, the upload may have been accepted"
	case e.Sent:
		what = "sent but refused, then not sent again"
	}
	return fmt.Sprintf("%s: endpoint %s stopped answering (%s in a row over %s got no reply, the last: %v); its other uploads in this run fail at once",
		what, e.Endpoint, count(e.Failures, "request"), e.Over.Round(time.Second), e.Last)
}

// Unwrap gives ErrEndpointDown and the last failure.
func (e *EndpointDownError) Unwrap() []error { return []error{ErrEndpointDown, e.Last} }

// Breakers is a circuit breaker per endpoint, shared by the clients of a
// run: once requests to an endpoint got no reply BreakerFailures times in
// a row (connection refused, timeouts, stalls), over at least BreakerSpan,
// the endpoint is open for the rest of the run: its uploads go to the
// fallback endpoint when one is configured, and fail at once with an
// *EndpointDownError otherwise. Any reply (an error status too) resets the
// count. A run against a dead or stalled host so ends in about BreakerSpan
// (or one header timeout), not a retry budget per file. It is safe for
// concurrent use.
type Breakers struct {
	// Failures and Span are the thresholds; NewBreakers sets them to
	// BreakerFailures and BreakerSpan.
	Failures int
	Span     time.Duration
	mu       sync.Mutex
	by       map[string]*breaker
}

type breaker struct {
	failures int
	first    time.Time // when the first failed request of the streak was sent
	last     time.Time // when the last one failed
	lastErr  error
	open     bool
}

// NewBreakers returns the breakers of a run.
func NewBreakers() *Breakers {
	return &Breakers{Failures: BreakerFailures, Span: BreakerSpan, by: map[string]*breaker{}}
}

// check returns an *EndpointDownError when endpoint is open.
func (b *Breakers) check(endpoint string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	br := b.by[endpoint]
	if br == nil || !br.open {
		return nil
	}
	return &EndpointDownError{Endpoint: endpoint, Failures: br.failures, Over: br.last.Sub(br.first), Last: br.lastErr}
}

// failed records a request sent at sent that got no reply.
func (b *Breakers) failed(endpoint string, sent time.Time, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	br := b.by[endpoint]
	if br == nil {
		br = &breaker{}
		b.by[endpoint] = br
	}
	now := time.Now()
	if br.failures == 0 || sent.Before(br.first) {
		br.first = sent
	}
	br.failures++
	br.last, br.lastErr = now, err
	if br.failures >= b.Failures && now.Sub(br.first) >= b.Span {
		br.open = true
	}
}

// answered records a reply from endpoint.
func (b *Breakers) answered(endpoint string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if br := b.by[endpoint]; br != nil && !br.open {
		br.failures = 0
	}
}

// StallError is a request whose reply did not come in time: no headers
// within Config.HeaderTimeout of the request being written, or a body not
// complete within Config.BodyTimeout of the headers. It comes wrapped in a
// *NetworkError.
type StallError struct {
	Phase string // "headers" or "body"
	After time.Duration
}

func (e *StallError) Error() string {
	if e.Phase == "body" {
		return fmt.Sprintf("the reply's body was not complete %s after its headers", e.After)
	}
	return fmt.Sprintf("no reply within %s of sending the request", e.After)
}

// Timeout reports true: a stall is a timeout.
func (e *StallError) Timeout() bool { return true }
