package uploader

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
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
