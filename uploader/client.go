package uploader

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"path"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wxmedia/wxmedia/internal/safefile"
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

// ErrVerify is returned when a 2xx reply cannot be trusted: its
// Wechatpay-Serial is not the configured platform key ID nor a valid
// platform certificate (downloaded with Config.APIv3Key), its
// Wechatpay-Timestamp is missing or more than 300 s from the local clock, or
// its Wechatpay-Signature does not verify. The server may have accepted the
// upload; no identifier is returned, and the upload is not retried.
var ErrVerify = errors.New("reply verification failed")

// VerifyError is a 2xx reply that cannot be trusted, and says why in terms
// callers branch on. It wraps ErrVerify (errors.Is(err, ErrVerify) holds).
type VerifyError struct {
	// Protocol is ProtocolV3 (Wechatpay-* headers, platform key) or
	// ProtocolV2 (the reply's sign, API v2 key).
	Protocol string
	// Skew is how far the reply's timestamp is from the local clock, when
	// that is why it is not trusted; 0 otherwise.
	Skew time.Duration
	// Reason says what did not verify.
	Reason string
	// Err is the cause, when another error made the reply unverifiable
	// (a failed download of the platform certificates); it may be nil.
	Err error
}

func (e *VerifyError) Error() string { return ErrVerify.Error() + ": " + e.Reason }

// Unwrap returns ErrVerify, and the cause when there is one.
func (e *VerifyError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrVerify}
	}
	return []error{ErrVerify, e.Err}
}

func verifyErr(protocol, format string, args ...any) *VerifyError {
	return &VerifyError{Protocol: protocol, Reason: fmt.Sprintf(format, args...)}
}

// ErrBadReply is returned when a verified 2xx reply carries no usable
// identifier. The upload is not retried.
var ErrBadReply = errors.New("reply carries no identifier")

// ErrDigestMismatch is returned by Upload when Request.SHA256 is not the
// SHA-256 of Request.Content: the bytes changed since they were hashed.
var ErrDigestMismatch = errors.New("content does not match its sha256")

// ErrNotUploadable is returned by Upload for an API the Client does not
// know, or whose protocol (v3 or v2) it was not configured for.
var ErrNotUploadable = errors.New("api is not uploadable by this client")

// ErrDailyQuota is returned when an API answered that the merchant's upload
// quota for the day is reached. It is not retried, and every later upload
// to the same API through the same Client fails at once with it (wrapped),
// without a request: that API stops for the run, the others go on.
var ErrDailyQuota = errors.New("the day's upload quota of this API is reached")

// QuotaSkipError is an upload not attempted because its API's daily quota
// was reached earlier in the run. It wraps ErrDailyQuota; callers group
// these by API instead of reporting each file.
type QuotaSkipError struct {
	Filename     string
	ResourceType string
	API          API
	// Cause is the reply that said the quota was reached.
	Cause error
}

func (e *QuotaSkipError) Error() string {
	return fmt.Sprintf("upload %q to %s skipped: %v earlier in this run (%v); retry tomorrow", e.Filename, e.ResourceType, ErrDailyQuota, e.Cause)
}

func (e *QuotaSkipError) Unwrap() error { return ErrDailyQuota }

// APIError is a non-2xx reply. Code and Message come from the reply's JSON
// {"code":"…","message":"…"}; both are empty when the body was not such JSON,
// and Body then holds its beginning.
type APIError struct {
	StatusCode int    // HTTP status, never 2xx
	Code       string // e.g. "PARAM_ERROR"; may be empty
	Message    string // the server's message; may be empty
	RequestID  string // the Request-ID header, when present
	Body       string // the first bytes of a body that was not error JSON
	// Sandbox is the instance ID a wxmedia sandbox names in its replies'
	// SandboxHeader; "" for any other server.
	Sandbox string
}

// SandboxHeader is the reply header in which a wxmedia sandbox names its
// instance, so that errors can say what to do with the sandbox.
const SandboxHeader = "Wxmedia-Sandbox"

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = CodeDescription(e.Code)
	}
	if msg == "" {
		msg = e.Body
	}
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d: %s", e.StatusCode, msg)
	}
	return fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.StatusCode, msg)
}

// Retryable reports whether the same request may succeed later: 5xx, and 429
// unless the day's upload quota is reached.
func (e *APIError) Retryable() bool {
	if e.StatusCode == http.StatusTooManyRequests {
		return !e.DailyQuotaReached()
	}
	return e.StatusCode >= 500
}

// DailyQuotaReached reports a 429 saying the day's upload quota is reached
// (the video API's 当天上传文件数已达上限), as opposed to "too fast".
func (e *APIError) DailyQuotaReached() bool {
	if e.StatusCode != http.StatusTooManyRequests {
		return false
	}
	return quotaMessage(e.Message)
}

var codeDescriptions = map[string]string{
	"SYSTEMERROR":            "system error, retry later",
	"SYSTEM_ERROR":           "system error, retry later",
	"PARAM_ERROR":            "invalid parameter",
	"INVALID_REQUEST":        "request does not meet the API's rules",
	"SIGN_ERROR":             "signature verification failed",
	"SIGNERROR":              "signature verification failed",
	"NO_AUTH":                "no permission to call this API",
	"NOAUTH":                 "no permission to call this API",
	"FREQUENCY_LIMIT_EXCEED": "calls are too frequent, retry later",
	"FREQUENCY_LIMITED":      "calls are too frequent, retry later",
	"RATELIMIT_EXCEEDED":     "calls exceed the API's rate limit, retry later",
}

// CodeDescription describes a WeChat Pay error code any of the upload pages
// uses, or returns "" for an unknown code.
func CodeDescription(code string) string { return codeDescriptions[code] }

// NetworkError is a request that got no HTTP reply: the endpoint could not
// be reached, the connection broke, or it timed out. The upload may or may
// not have reached the server.
type NetworkError struct {
	Endpoint string // the endpoint base URL tried
	Err      error
}

func (e *NetworkError) Error() string { return fmt.Sprintf("%s: %v", e.Endpoint, e.Err) }
func (e *NetworkError) Unwrap() error { return e.Err }

// Retryable reports whether trying again may help: false for certificate
// and TLS configuration errors, true otherwise.
func (e *NetworkError) Retryable() bool {
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verification *tls.CertificateVerificationError
	var record tls.RecordHeaderError
	switch {
	case errors.As(e.Err, &unknownAuthority), errors.As(e.Err, &hostname), errors.As(e.Err, &invalid),
		errors.As(e.Err, &verification), errors.As(e.Err, &record):
		return false
	}
	return true
}

// IsRetryable reports whether an upload error may go away on its own: 5xx,
// 429 (unless the day's quota is reached), timeouts and connection errors.
// Verification failures, rule and digest errors, other 4xx and context
// cancellation are not retryable.
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, ErrVerify) || errors.Is(err, ErrBadReply) || errors.Is(err, ErrEndpointDown) {
		return false
	}
	if errors.Is(err, ErrDailyQuota) {
		return false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Retryable()
	}
	var v2Err *V2Error
	if errors.As(err, &v2Err) {
		return v2Err.Retryable()
	}
	var netErr *NetworkError
	if errors.As(err, &netErr) {
		return netErr.Retryable()
	}
	return false
}

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

// CheckEndpoint validates an endpoint base URL and returns its canonical
// form (see CanonicalEndpoint): https, or http when the host is loopback or
// localhost; no query, fragment or user info.
func CheckEndpoint(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error quotes the whole URL, password included.
		var ue *url.Error
		if errors.As(err, &ue) {
			return "", fmt.Errorf("not a valid URL: %w", ue.Err)
		}
		return "", errors.New("not a valid URL")
	}
	// The messages show the URL with its password hidden.
	shown := u.Redacted()
	if u.Host == "" {
		return "", fmt.Errorf("%q is not an absolute URL", shown)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.ForceQuery {
		return "", fmt.Errorf("%q must not have a query, fragment or user info", shown)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return "", fmt.Errorf("%q: plain http is only allowed to a loopback host", shown)
		}
	default:
		return "", fmt.Errorf("%q: scheme must be https", shown)
	}
	return canonicalURL(u), nil
}

// CanonicalEndpoint returns the canonical form of an endpoint base URL:
// scheme and host in lower case, the scheme's default port dropped, the
// path cleaned ("/v3/./x/" is "/v3/x", "/" and "/." are nothing) and no
// trailing slash. Two spellings of one endpoint have one canonical form,
// so it can identify a service. Text that is not an absolute http(s) URL
// without query, fragment or user info is returned unchanged.
func CanonicalEndpoint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.ForceQuery {
		return raw
	}
	if s := strings.ToLower(u.Scheme); s != "https" && s != "http" {
		return raw
	}
	return canonicalURL(u)
}

func canonicalURL(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "443" && scheme == "https" || port == "80" && scheme == "http" {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	c := url.URL{Scheme: scheme, Host: host}
	if p := path.Clean("/" + u.Path); p != "/" {
		c.Path = p
	}
	return c.String()
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// NewHTTPClient returns an HTTP client with sane timeouts (10 s to connect
// and handshake, 60 s for the reply headers, 3 min per request) that trusts
// the system roots plus, when caFile is not empty, the certificates of that
// PEM file (private endpoints, the sandbox).
func NewHTTPClient(caFile string) (*http.Client, error) {
	return newHTTPClient(caFile, nil)
}

// NewHTTPClientCert is NewHTTPClient presenting a client certificate: the
// merchant's API certificate (certFile, PEM) and its private key (keyFile,
// PEM, PKCS#8 or PKCS#1), as the v2 API requires.
func NewHTTPClientCert(caFile, certFile, keyFile string) (*http.Client, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("client certificate %s with key %s: %w", certFile, keyFile, err)
	}
	return newHTTPClient(caFile, &pair)
}

func newHTTPClient(caFile string, cert *tls.Certificate) (*http.Client, error) {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if cert != nil {
		tlsConf.Certificates = []tls.Certificate{*cert}
	}
	if caFile != "" {
		pem, err := safefile.ReadFile(caFile, maxPEMFile)
		if err != nil {
			return nil, fmt.Errorf("ca certificate: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca certificate %s: no PEM certificate found", caFile)
		}
		tlsConf.RootCAs = pool
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   32,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{Transport: tr, Timeout: 3 * time.Minute}, nil
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

	var res Result
	var last error // the last retryable failure
	for attempt := 1; ; attempt++ {
		id, err := c.attempt(ctx, u, &res)
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
		c.log("retrying upload", "filename", r.Filename, "api", string(spec.API), "attempt", attempt, "delay", delay, "error", err.Error())
		if err := Sleep(ctx, delay); err != nil {
			return res, fmt.Errorf("upload %q to %s: %w", r.Filename, spec.ResourceType, err)
		}
	}
}

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
		return fmt.Sprintf("giving up after %d attempts: %v", e.Attempts, e.Err)
	}
	why := ""
	switch {
	case e.Paced:
		why = ", the pace the server allows leaves no slot in it"
	case e.Next > time.Second:
		why = fmt.Sprintf(", the next in %s", e.Next.Round(100*time.Millisecond))
	}
	return fmt.Sprintf("giving up after %d attempts in %s (retry budget %s%s): %v",
		e.Attempts, e.Elapsed.Round(100*time.Millisecond), e.Budget, why, e.Err)
}

func (e *RetryError) Unwrap() error { return e.Err }

type upload struct {
	spec        Spec
	meta        []byte
	body        []byte
	contentType string
	// budgetEnd is the end of the retry budget, set when the first request
	// is sent: no later request waits for the client-side pace beyond it.
	budgetEnd time.Time
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
	stopHeaders := func() {
		mu.Lock()
		if headers != nil {
			headers.Stop()
		}
		headers = nil
		mu.Unlock()
	}
	trace := &httptrace.ClientTrace{
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
		return &NetworkError{Endpoint: endpoint, Err: err}
	}
	resp, err := hc.Do(req.WithContext(httptrace.WithClientTrace(ctx, trace)))
	stopHeaders()
	if err != nil {
		c.log("upload request failed", "endpoint", endpoint, "path", u.spec.Path, "attempt", res.Attempts, "error", err.Error())
		return nil, nil, netErr(err)
	}
	defer resp.Body.Close()
	bodyTimer := time.AfterFunc(c.cfg.BodyTimeout, func() {
		cancel(&StallError{Phase: "body", After: c.cfg.BodyTimeout})
	})
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBody))
	bodyTimer.Stop()
	if err != nil {
		c.log("upload reply failed", "endpoint", endpoint, "path", u.spec.Path, "attempt", res.Attempts, "error", err.Error())
		return nil, nil, netErr(fmt.Errorf("reading reply: %w", err))
	}
	c.breakers.answered(endpoint)
	res.RequestID = resp.Header.Get("Request-ID")
	c.log("upload reply", "endpoint", endpoint, "path", u.spec.Path, "attempt", res.Attempts,
		"status", resp.StatusCode, "request_id", res.RequestID, "elapsed", time.Since(start))
	return resp, body, nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, ue.URL, ue.Err)
	}
	return err
}

func parseAPIError(resp *http.Response, body []byte) *APIError {
	e := &APIError{StatusCode: resp.StatusCode, RequestID: resp.Header.Get("Request-ID"), Sandbox: resp.Header.Get(SandboxHeader)}
	var v struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &v) == nil && (v.Code != "" || v.Message != "") {
		e.Code, e.Message = v.Code, v.Message
		return e
	}
	b := strings.TrimSpace(string(body))
	if len(b) > 200 {
		b = b[:200] + "…"
	}
	e.Body = b
	return e
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

func (c *Client) log(msg string, args ...any) {
	if c.cfg.Logger != nil {
		c.cfg.Logger.Debug(msg, args...)
	}
}
