package uploader

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Config.
const (
	// DefaultRetryTimeout is how long one upload keeps retrying 429s, 5xx
	// and network errors: long enough to ride out a rate limit or a short
	// outage, short enough that a run against a dead server ends.
	DefaultRetryTimeout = 5 * time.Minute
	DefaultBaseDelay    = 200 * time.Millisecond
	DefaultMaxDelay     = 5 * time.Second
	// ReplyMaxSkew is how far a reply's Wechatpay-Timestamp may be from the local clock.
	ReplyMaxSkew = 300 * time.Second
	// FallbackStickiness is how long a Client sends to the fallback endpoint
	// first after the primary could not be reached.
	FallbackStickiness = time.Minute
	maxReplyBody       = 1 << 20
)

// Config configures a Client for one merchant. The v3 settings (SerialNo,
// PrivateKey, PlatformKeyID, PlatformKey, Endpoint) are needed for the v3
// APIs and the v2 settings (APIv2Key, V2Endpoint, V2HTTPClient) for the v2
// API; a Client has either set or both, and each set is all or nothing.
type Config struct {
	MchID    string // merchant ID; required
	SerialNo string // merchant API certificate serial, sent as serial_no; v3
	// PrivateKey is the merchant API private key that signs v3 requests; v3.
	PrivateKey *rsa.PrivateKey
	// PlatformKeyID is sent as Wechatpay-Serial and is the only reply serial
	// accepted: the platform public key ID, or the platform certificate's
	// serial when replies are verified with a platform certificate; v3.
	// With APIv3Key, both may be empty: replies are then verified with
	// downloaded platform certificates only.
	PlatformKeyID string
	PlatformKey   *rsa.PublicKey // verifies reply signatures; v3
	// APIv3Key (32 characters), optional, decrypts the platform
	// certificates downloaded from GET /v3/certificates: when set, a reply
	// naming a serial other than PlatformKeyID is verified with the
	// certificate of that serial (downloaded once when unknown); without a
	// PlatformKeyID, requests name the newest valid certificate; v3.
	APIv3Key string
	// CertificateCache, optional, keeps downloaded platform certificates
	// between runs; nil keeps them for the Client's life only.
	CertificateCache CertificateCache
	// Endpoint is the v3 base URL, e.g. https://api.mch.weixin.qq.com; v3.
	// http:// is refused unless the host is a loopback address or localhost.
	Endpoint string
	// FallbackEndpoint is optional: it is tried when Endpoint cannot be reached
	// (a connection-level error, not an HTTP error status), with the same rules.
	FallbackEndpoint string
	// HTTPClient sends the requests. nil: a default with sane timeouts and
	// the system roots (see NewHTTPClient). Redirects are never followed.
	HTTPClient *http.Client
	// APIv2Key signs v2 requests and verifies v2 replies; v2.
	APIv2Key string
	// V2SignType is the v2 sign type: SignTypeMD5 (default, "") or SignTypeHMACSHA256.
	V2SignType string
	// V2Endpoint is the v2 base URL, e.g. https://apihk.mch.weixin.qq.com; v2.
	V2Endpoint string
	// V2HTTPClient sends v2 requests; it must present the merchant's client
	// certificate (see NewHTTPClientCert); v2. Redirects are never followed.
	V2HTTPClient *http.Client
	// Boundary returns the multipart boundary of each upload; default
	// "wxmedia-" and 32 random hex characters.
	Boundary  func() string
	UserAgent string // e.g. "wxmedia/0.1.0 (linux; go1.26)"; default "wxmedia (GOOS; GOVERSION)"
	// RetryTimeout is the retry budget of one Upload, a span of time from
	// its first request: retryable failures (429, 5xx, network errors) are
	// retried until the next retry would start after it. 0: DefaultRetryTimeout.
	RetryTimeout time.Duration
	// MaxAttempts, when > 0, also bounds the attempts of one Upload. An
	// attempt is one request, plus one immediate request to the other
	// endpoint when the first cannot be reached and a fallback is
	// configured. 0: no bound but RetryTimeout.
	MaxAttempts int
	// BaseDelay and MaxDelay shape the backoff: before retry n (n >= 1) the
	// client sleeps a uniformly random duration in [0, min(MaxDelay,
	// BaseDelay*2^(n-1))] (full jitter), or a reply's Retry-After (seconds
	// or an HTTP date) when it is longer, within RetryTimeout.
	// 0: DefaultBaseDelay, DefaultMaxDelay.
	BaseDelay, MaxDelay time.Duration
	Now                 func() time.Time // default time.Now
	Nonce               func() string    // default 32 random hex characters
	// Logger receives debug records of attempts and retries; nil: silent.
	// Credentials and signatures are never logged.
	Logger *slog.Logger
	// Throttle, optional, is called before every HTTP request (client-side
	// rate limiting); an error from it ends the upload with that error.
	Throttle func(ctx context.Context) error
	// OnRetry, optional, is called before each backoff sleep with the attempt
	// that failed (1-based), its error and the delay chosen.
	OnRetry func(attempt int, err error, delay time.Duration)
	// HeaderTimeout bounds the wait for a reply's headers once the request
	// was written, BodyTimeout the reading of its body once the headers
	// came; 0: DefaultHeaderTimeout, DefaultBodyTimeout.
	HeaderTimeout, BodyTimeout time.Duration
	// Breakers, optional, are the per-endpoint circuit breakers of the run,
	// shared by its clients; nil: the Client has its own.
	Breakers *Breakers
	// OnAttempt, optional, is called after every attempt with its error,
	// nil when its reply verified (client-side rate limiting learns the
	// server's rate from it).
	OnAttempt func(err error)
}

// Client uploads to one merchant's endpoint. It is safe for concurrent use.
type Client struct {
	cfg        Config
	breakers   *Breakers
	v3, v2     bool // which protocols are configured
	endpoint   string
	fallback   string
	http       *http.Client
	v2endpoint string
	v2http     *http.Client
	mu         sync.Mutex
	preferFB   time.Time      // until then, try the fallback endpoint first
	quota      map[API]error  // APIs whose daily quota is reached, with the reply that said so
	pc         *platformCerts // downloaded platform certificates; nil without APIv3Key
}

// NewClient checks cfg, fills its defaults and returns a Client.
func NewClient(cfg Config) (*Client, error) {
	if cfg.MchID == "" {
		return nil, errors.New("uploader: mchid is required")
	}
	v2 := cfg.APIv2Key != "" || cfg.V2Endpoint != "" || cfg.V2HTTPClient != nil
	v3 := !v2 || cfg.SerialNo != "" || cfg.PlatformKeyID != "" || cfg.PlatformKey != nil || cfg.Endpoint != ""
	var endpoint, fallback, v2endpoint string
	if v3 {
		switch {
		case cfg.SerialNo == "":
			return nil, errors.New("uploader: merchant certificate serial_no is required")
		case cfg.PrivateKey == nil:
			return nil, errors.New("uploader: merchant private key is required")
		case cfg.APIv3Key != "" && len(cfg.APIv3Key) != APIv3KeyLength:
			return nil, fmt.Errorf("uploader: api_v3_key must be %d characters", APIv3KeyLength)
		case cfg.PlatformKeyID == "" && cfg.PlatformKey == nil && cfg.APIv3Key != "":
		case cfg.PlatformKeyID == "":
			return nil, errors.New("uploader: platform public key ID is required (or api_v3_key, to download platform certificates)")
		case cfg.PlatformKey == nil:
			return nil, errors.New("uploader: platform public key is required")
		}
		var err error
		if endpoint, err = CheckEndpoint(cfg.Endpoint); err != nil {
			return nil, fmt.Errorf("uploader: endpoint: %w", err)
		}
		if cfg.FallbackEndpoint != "" {
			if fallback, err = CheckEndpoint(cfg.FallbackEndpoint); err != nil {
				return nil, fmt.Errorf("uploader: fallback endpoint: %w", err)
			}
		}
	}
	if v2 {
		switch {
		case cfg.APIv2Key == "":
			return nil, errors.New("uploader: api_v2_key is required for the v2 API")
		case cfg.V2HTTPClient == nil:
			return nil, errors.New("uploader: an HTTP client with the merchant's client certificate is required for the v2 API")
		case cfg.V2SignType != "" && cfg.V2SignType != SignTypeMD5 && cfg.V2SignType != SignTypeHMACSHA256:
			return nil, fmt.Errorf("uploader: v2 sign type %q is not MD5 or HMAC-SHA256", cfg.V2SignType)
		}
		var err error
		if v2endpoint, err = CheckEndpoint(cfg.V2Endpoint); err != nil {
			return nil, fmt.Errorf("uploader: v2 endpoint: %w", err)
		}
	}
	if cfg.RetryTimeout <= 0 {
		cfg.RetryTimeout = DefaultRetryTimeout
	}
	if cfg.HeaderTimeout <= 0 {
		cfg.HeaderTimeout = DefaultHeaderTimeout
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = DefaultBodyTimeout
	}
	if cfg.Breakers == nil {
		cfg.Breakers = NewBreakers()
	}
	if cfg.BaseDelay <= 0 {
		cfg.BaseDelay = DefaultBaseDelay
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = DefaultMaxDelay
	}
	if cfg.MaxDelay < cfg.BaseDelay {
		cfg.MaxDelay = cfg.BaseDelay
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Nonce == nil {
		cfg.Nonce = randomHex32
	}
	if cfg.Boundary == nil {
		cfg.Boundary = func() string { return "wxmedia-" + randomHex32() }
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = fmt.Sprintf("wxmedia (%s; %s)", runtime.GOOS, runtime.Version())
	}
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var hc http.Client
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	} else {
		def, err := NewHTTPClient("")
		if err != nil {
			return nil, err
		}
		hc = *def
	}
	hc.CheckRedirect = noRedirect
	c := &Client{cfg: cfg, breakers: cfg.Breakers, v3: v3, v2: v2, endpoint: endpoint, fallback: fallback, http: &hc,
		v2endpoint: v2endpoint, quota: map[API]error{}}
	if v3 && cfg.APIv3Key != "" {
		c.pc = newPlatformCerts()
	}
	if v2 {
		v2hc := *cfg.V2HTTPClient
		v2hc.CheckRedirect = noRedirect
		c.v2http = &v2hc
	}
	return c, nil
}

func randomHex32() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// Request is one upload.
type Request struct {
	API      API    // which upload API; its spec must be Uploadable
	Filename string // the filename sent in meta and in the file part
	Content  []byte // exact bytes to send
	// SHA256 is the lowercase hex SHA-256 of Content, as planned; the client
	// re-checks it and refuses a mismatch with ErrDigestMismatch.
	SHA256 string
	// Address names the upload in log records (a resource instance
	// address); it is not sent. The log handler escapes it.
	Address string
}

// Result is a verified upload.
type Result struct {
	ID        string // the identifier from the reply's IDField; never empty on success
	Attempts  int    // HTTP requests made, fallback requests included; also set on error
	Endpoint  string // the endpoint that answered last
	RequestID string // the reply's Request-ID header, when present
}

// Upload validates r against its API's rules, then signs and sends it,
// retrying retryable failures, and returns the identifier from a verified
// reply. Errors are *RuleError, ErrDigestMismatch, ErrNotUploadable, an
// *APIError, a *NetworkError, ErrVerify, ErrBadReply or the context's error,
// wrapped with what was being uploaded; IsRetryable classifies them.
func (c *Client) Upload(ctx context.Context, r Request) (Result, error) {
	spec, ok := SpecForAPI(r.API)
	if !ok {
		return Result{}, fmt.Errorf("upload %q: %w: unknown api %q", r.Filename, ErrNotUploadable, r.API)
	}
	switch {
	case !spec.Uploadable:
		return Result{}, fmt.Errorf("upload %q: %w: %s", r.Filename, ErrNotUploadable, spec.ResourceType)
	case spec.Protocol == ProtocolV3 && !c.v3:
		return Result{}, fmt.Errorf("upload %q: %w: %s needs the merchant's v3 credentials and platform key", r.Filename, ErrNotUploadable, spec.ResourceType)
	case spec.Protocol == ProtocolV2 && !c.v2:
		return Result{}, fmt.Errorf("upload %q: %w: %s needs the merchant's api_v2_key and client certificate", r.Filename, ErrNotUploadable, spec.ResourceType)
	}
	c.mu.Lock()
	stopped := c.quota[spec.API]
	c.mu.Unlock()
	if stopped != nil {
		return Result{}, &QuotaSkipError{Filename: r.Filename, ResourceType: spec.ResourceType, API: spec.API, Cause: stopped}
	}
	if err := CheckFile(spec, r.Filename, int64(len(r.Content)), r.Content); err != nil {
		return Result{}, fmt.Errorf("upload %q to %s: %w", r.Filename, spec.ResourceType, err)
	}
	sum := sha256.Sum256(r.Content)
	digest := hex.EncodeToString(sum[:])
	if r.SHA256 != digest {
		return Result{}, fmt.Errorf("upload %q: %w: planned %s, content has %s", r.Filename, ErrDigestMismatch, r.SHA256, digest)
	}
	var u *upload
	if spec.Protocol == ProtocolV2 {
		var err error
		if u, err = c.v2Upload(spec, r, r.Content); err != nil {
			return Result{}, fmt.Errorf("upload %q: %w", r.Filename, err)
		}
	} else {
		meta := MetaJSON(spec.DigestField, r.Filename, digest)
		boundary := c.cfg.Boundary()
		var body bytes.Buffer
		if err := WriteMultipart(&body, boundary, meta, r.Filename, ContentType(r.Filename), r.Content); err != nil {
			return Result{}, fmt.Errorf("upload %q: %w", r.Filename, err)
		}
		u = &upload{spec: spec, meta: meta, body: body.Bytes(), contentType: "multipart/form-data; boundary=" + boundary}
	}
	u.filename, u.address = r.Filename, r.Address

	var res Result
	var last error // the last retryable failure
	for attempt := 1; ; attempt++ {
		id, err := c.attempt(ctx, u, &res)
		// Whether the endpoint was asked for this upload comes from every
		// attempt, not only the last: a request sent earlier may have been
		// accepted even when the endpoint was taken out of the run since.
		var down *EndpointDownError
		if errors.As(err, &down) {
			down.Sent, down.Unanswered = u.started.Load(), u.unanswered.Load()
		}
		if errors.Is(err, errBudgetSpent) {
			if last == nil {
				last = err
			}
			return res, fmt.Errorf("upload %q to %s: %w", r.Filename, spec.ResourceType,
				&RetryError{Attempts: attempt - 1, Elapsed: c.cfg.RetryTimeout - time.Until(u.budgetEnd), Budget: c.cfg.RetryTimeout, Paced: true, Err: last})
		}
		if c.cfg.OnAttempt != nil {
			c.cfg.OnAttempt(err)
		}
		if err == nil {
			res.ID = id
			return res, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return res, fmt.Errorf("upload %q to %s: %w", r.Filename, spec.ResourceType, ctxErr)
		}
		if quotaReached(err) {
			c.mu.Lock()
			if c.quota[spec.API] == nil {
				c.quota[spec.API] = err
			}
			c.mu.Unlock()
			c.log("daily upload quota reached, the API stops for this run", "api", string(spec.API), "error", err.Error())
			return res, fmt.Errorf("upload %q to %s: %w: %w", r.Filename, spec.ResourceType, ErrDailyQuota, err)
		}
		if !IsRetryable(err) {
			return res, fmt.Errorf("upload %q to %s: %w", r.Filename, spec.ResourceType, err)
		}
		last = err
		delay := c.backoff(attempt, err)
		left := time.Until(u.budgetEnd)
		if c.cfg.MaxAttempts > 0 && attempt >= c.cfg.MaxAttempts || delay > left {
			return res, fmt.Errorf("upload %q to %s: %w", r.Filename, spec.ResourceType,
				&RetryError{Attempts: attempt, Elapsed: c.cfg.RetryTimeout - left, Budget: c.cfg.RetryTimeout, Next: delay, Err: err})
		}
		if c.cfg.OnRetry != nil {
			c.cfg.OnRetry(attempt, err, delay)
		}
		c.log("retrying upload", "address", r.Address, "filename", r.Filename, "api", string(spec.API), "attempt", attempt, "delay", delay, "error", err.Error())
		if err := Sleep(ctx, delay); err != nil {
			return res, fmt.Errorf("upload %q to %s: %w", r.Filename, spec.ResourceType, err)
		}
	}
}

type upload struct {
	spec        Spec
	meta        []byte
	body        []byte
	contentType string
	// budgetEnd is the end of the retry budget, set when the first request
	// is sent: no later request waits for the client-side pace beyond it.
	budgetEnd time.Time
	// filename and address name the upload in log records.
	filename, address string
	// started is set once a request of the upload got a connection to be
	// written to (httptrace GotConn): from then on the server may have
	// received it.
	started atomic.Bool
	// unanswered is set once such a request got no reply.
	unanswered atomic.Bool
}

// attempt sends the upload once, to the preferred endpoint and, on a
// connection-level failure, immediately to the other one (v3 only).
func (c *Client) attempt(ctx context.Context, u *upload, res *Result) (string, error) {
	if u.spec.Protocol == ProtocolV2 {
		return c.sendV2(ctx, u, res)
	}
	endpoints := []string{c.endpoint}
	if c.fallback != "" {
		c.mu.Lock()
		preferFB := c.cfg.Now().Before(c.preferFB)
		c.mu.Unlock()
		if preferFB {
			endpoints = []string{c.fallback, c.endpoint}
		} else {
			endpoints = append(endpoints, c.fallback)
		}
	}
	var err error
	for i, ep := range endpoints {
		if down := c.breakers.check(ep); down != nil {
			if err == nil {
				err = down
			}
			continue
		}
		var id string
		id, err = c.send(ctx, ep, u, res)
		var netErr *NetworkError
		if err == nil || !errors.As(err, &netErr) || ctx.Err() != nil {
			return id, err
		}
		if c.fallback != "" {
			c.mu.Lock()
			if ep == c.endpoint {
				c.preferFB = c.cfg.Now().Add(FallbackStickiness)
			} else {
				c.preferFB = time.Time{}
			}
			c.mu.Unlock()
			if i+1 < len(endpoints) {
				c.log("endpoint unreachable, trying the other", "endpoint", ep, "error", err.Error())
			}
		}
	}
	// When the last request took the last endpoint out of the run, say so.
	if down := c.breakers.check(endpoints[0]); down != nil && !errors.Is(err, ErrEndpointDown) {
		all := true
		for _, ep := range endpoints[1:] {
			all = all && c.breakers.check(ep) != nil
		}
		if all {
			err = down
		}
	}
	return "", err
}

// send makes one HTTP request and interprets its reply.
func (c *Client) send(ctx context.Context, endpoint string, u *upload, res *Result) (string, error) {
	if err := c.throttle(ctx, u); err != nil {
		return "", err
	}
	serial, err := c.requestSerial(ctx)
	if err != nil {
		return "", err
	}
	res.Attempts++
	res.Endpoint = endpoint
	res.RequestID = ""
	ts := c.cfg.Now().Unix()
	nonce := c.cfg.Nonce()
	sig, err := Sign(c.cfg.PrivateKey, SignatureMessage(http.MethodPost, u.spec.Path, ts, nonce, u.meta))
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+u.spec.Path, bytes.NewReader(u.body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", AuthorizationHeader(c.cfg.MchID, nonce, ts, c.cfg.SerialNo, sig))
	req.Header.Set("Content-Type", u.contentType)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	req.Header.Set("Wechatpay-Serial", serial)

	resp, body, err := c.roundTrip(c.http, req, endpoint, u, res)
	if err != nil {
		return "", err
	}

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		apiErr := parseAPIError(resp, body)
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok && apiErr.Retryable() {
			return "", &retryAfterError{error: apiErr, after: d}
		}
		return "", apiErr
	}
	if err := c.verifyReply(ctx, resp.Header, body); err != nil {
		return "", fmt.Errorf("HTTP %d reply from %s (Request-ID %q) cannot be trusted, the upload may have been accepted: %w",
			resp.StatusCode, endpoint, res.RequestID, err)
	}
	var reply map[string]any
	if err := json.Unmarshal(body, &reply); err != nil {
		return "", fmt.Errorf("%w: reply is not a JSON object: %v", ErrBadReply, err)
	}
	id, _ := reply[u.spec.IDField].(string)
	if id == "" {
		return "", fmt.Errorf("%w: reply has no %q", ErrBadReply, u.spec.IDField)
	}
	if err := CheckIdentifier(u.spec, id); err != nil {
		return "", err
	}
	return id, nil
}

// roundTrip sends one upload request and reads its reply (bounded),
// logging both; the reply's body is closed when it returns. Transport
// failures are *NetworkError; a reply whose headers do not come within
// HeaderTimeout of the request being written, or whose body is not complete
// within BodyTimeout of them, is a *NetworkError wrapping a *StallError.
// Both count against the endpoint's breaker; any reply resets it.
func (c *Client) roundTrip(hc *http.Client, req *http.Request, endpoint string, u *upload, res *Result) (*http.Response, []byte, error) {
	start := time.Now()
	ctx, cancel := context.WithCancelCause(req.Context())
	defer cancel(nil)
	var mu sync.Mutex
	var headers *time.Timer
	var gotConn atomic.Bool // this request began to be written
	stopHeaders := func() {
		mu.Lock()
		if headers != nil {
			headers.Stop()
		}
		headers = nil
		mu.Unlock()
	}
	trace := &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { gotConn.Store(true); u.started.Store(true) },
		WroteRequest: func(httptrace.WroteRequestInfo) {
			mu.Lock()
			defer mu.Unlock()
			if headers != nil {
				headers.Stop()
			}
			headers = time.AfterFunc(c.cfg.HeaderTimeout, func() {
				cancel(&StallError{Phase: "headers", After: c.cfg.HeaderTimeout})
			})
		},
	}
	netErr := func(err error) error {
		var stall *StallError
		if cause := context.Cause(ctx); errors.As(cause, &stall) {
			err = stall
		} else {
			err = unwrapURLError(err)
		}
		c.breakers.failed(endpoint, start, err)
		if gotConn.Load() {
			u.unanswered.Store(true)
		}
		return &NetworkError{Endpoint: endpoint, Err: err}
	}
	resp, err := hc.Do(req.WithContext(httptrace.WithClientTrace(ctx, trace)))
	stopHeaders()
	if err != nil {
		err = netErr(err)
		c.log("upload request failed", "address", u.address, "filename", u.filename, "endpoint", endpoint, "path", u.spec.Path, "attempt", res.Attempts, "error", err.Error())
		return nil, nil, err
	}
	defer resp.Body.Close()
	bodyTimer := time.AfterFunc(c.cfg.BodyTimeout, func() {
		cancel(&StallError{Phase: "body", After: c.cfg.BodyTimeout})
	})
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBody))
	bodyTimer.Stop()
	if err != nil {
		err = netErr(fmt.Errorf("reading reply: %w", err))
		c.log("upload reply failed", "address", u.address, "filename", u.filename, "endpoint", endpoint, "path", u.spec.Path, "attempt", res.Attempts, "error", err.Error())
		return nil, nil, err
	}
	c.breakers.answered(endpoint)
	res.RequestID = resp.Header.Get("Request-ID")
	c.log("upload reply", "address", u.address, "filename", u.filename, "endpoint", endpoint, "path", u.spec.Path, "attempt", res.Attempts,
		"status", resp.StatusCode, "request_id", res.RequestID, "elapsed", time.Since(start))
	return resp, body, nil
}

// verifyReply checks a 2xx reply's headers, then its signature with the
// key its Wechatpay-Serial names (see replyKey). Errors wrap ErrVerify.
func (c *Client) verifyReply(ctx context.Context, h http.Header, body []byte) error {
	if err := c.checkReplyHeaders(h); err != nil {
		return err
	}
	key, err := c.replyKey(ctx, h.Get("Wechatpay-Serial"))
	if err != nil {
		return err
	}
	return c.checkReplySignature(h, body, key)
}

func (c *Client) log(msg string, args ...any) {
	if c.cfg.Logger != nil {
		c.cfg.Logger.Debug(msg, args...)
	}
}
