package uploader

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
)

const (
	testMchID    = "1900000001"
	testSerial   = "1FB89742D19F2BD30B69948D16DECA0FCB4481EB"
	testPlatform = "PUB_KEY_ID_0114232134912410000000000000"
)

// behaviour answers one request the fake server has already checked.
type behaviour func(w http.ResponseWriter, f *fakeWeChat)

// fakeWeChat is a minimal APIv3 upload endpoint: it checks the request's
// signature and layout like the real one and answers with queued behaviours
// (the last one repeats).
type fakeWeChat struct {
	t           *testing.T
	merchantPub *rsa.PublicKey
	platformKey *rsa.PrivateKey
	now         func() time.Time

	mu        sync.Mutex
	queue     []behaviour
	requests  int
	lastReq   *http.Request
	lastMeta  []byte
	lastFile  []byte
	lastAuth  map[string]string
	lastError string // what the check of the last request found wrong
}

func newFake(t *testing.T, queue ...behaviour) (*fakeWeChat, *httptest.Server) {
	f := &fakeWeChat{
		t:           t,
		merchantPub: mustPublicKey(t, "merchant_test_pub.pem"),
		platformKey: mustPrivateKey(t, "platform_test_key.pem"),
		now:         time.Now,
		queue:       queue,
	}
	srv := httptest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeWeChat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	b := f.queue[0]
	if len(f.queue) > 1 {
		f.queue = f.queue[1:]
	}
	f.mu.Unlock()
	problem := f.check(r)
	f.mu.Lock()
	f.lastError = problem
	f.mu.Unlock()
	if problem != "" {
		reply(w, f, http.StatusUnauthorized, `{"code":"SIGN_ERROR","message":"`+problem+`"}`, nil)
		return
	}
	b(w, f)
}

// check verifies the request as WeChat Pay would; "" means acceptable.
func (f *fakeWeChat) check(r *http.Request) string {
	auth, err := ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return err.Error()
	}
	for _, k := range authFields {
		if auth[k] == "" {
			return "missing " + k
		}
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v3/merchant/media/upload" {
		return "wrong method or path " + r.Method + " " + r.URL.Path
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return "not multipart"
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	meta, err := mr.NextRawPart()
	if err != nil || meta.FormName() != "meta" {
		return "no meta part"
	}
	metaBytes, _ := io.ReadAll(meta)
	file, err := mr.NextRawPart()
	if err != nil || file.FormName() != "file" {
		return "no file part"
	}
	fileBytes, _ := io.ReadAll(file)
	ts, _ := strconv.ParseInt(auth["timestamp"], 10, 64)
	if err := Verify(f.merchantPub, SignatureMessage("POST", r.URL.RequestURI(), ts, auth["nonce_str"], metaBytes), auth["signature"]); err != nil {
		return "signature: " + err.Error()
	}
	f.mu.Lock()
	f.lastReq, f.lastMeta, f.lastFile, f.lastAuth = r, metaBytes, fileBytes, auth
	f.mu.Unlock()
	return ""
}

// reply writes a signed JSON reply; spoil may alter the signed headers.
func reply(w http.ResponseWriter, f *fakeWeChat, status int, body string, spoil func(h http.Header)) {
	ts := strconv.FormatInt(f.now().Unix(), 10)
	nonce := "a4f5d2c1b0e9f8a7d6c5b4a3f2e1d0c9"
	sig, err := Sign(f.platformKey, ReplyMessage(ts, nonce, []byte(body)))
	if err != nil {
		f.t.Error(err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Request-ID", fmt.Sprintf("req-%d", f.requests))
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Serial", testPlatform)
	h.Set("Wechatpay-Signature", sig)
	h.Set("Wechatpay-Signature-Type", AuthScheme)
	if spoil != nil {
		spoil(h)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func ok(id string) behaviour {
	return func(w http.ResponseWriter, f *fakeWeChat) {
		reply(w, f, http.StatusOK, `{"media_id":"`+id+`"}`, nil)
	}
}

func fail(status int, code, message string) behaviour {
	return func(w http.ResponseWriter, f *fakeWeChat) {
		reply(w, f, status, `{"code":"`+code+`","message":"`+message+`"}`, nil)
	}
}

func spoiled(id string, spoil func(h http.Header)) behaviour {
	return func(w http.ResponseWriter, f *fakeWeChat) {
		reply(w, f, http.StatusOK, `{"media_id":"`+id+`"}`, spoil)
	}
}

func testClient(t *testing.T, srv *httptest.Server, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		MchID:         testMchID,
		SerialNo:      testSerial,
		PrivateKey:    mustPrivateKey(t, "merchant_test_key.pem"),
		PlatformKeyID: testPlatform,
		PlatformKey:   mustPublicKey(t, "platform_test_pub.pem"),
		Endpoint:      srv.URL,
		HTTPClient:    srv.Client(),
		UserAgent:     "wxmedia/0.0.0-test (linux; go1.26)",
		BaseDelay:     time.Millisecond,
		MaxDelay:      5 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pngRequest(name string) Request {
	content := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR fake image bytes")
	sum := sha256.Sum256(content)
	return Request{API: APIMerchantImage, Filename: name, Content: content, SHA256: hex.EncodeToString(sum[:])}
}

func TestUploadSuccess(t *testing.T) {
	f, srv := newFake(t, ok("6uqyGjvHzOhsLleGFQVRF"))
	c := testClient(t, srv, nil)
	req := pngRequest("logo.png")
	res, err := c.Upload(context.Background(), req)
	if err != nil {
		t.Fatalf("Upload() = %v (server saw: %s)", err, f.lastError)
	}
	if res.ID != "6uqyGjvHzOhsLleGFQVRF" || res.Attempts != 1 || res.RequestID != "req-1" || res.Endpoint != srv.URL {
		t.Errorf("result = %+v", res)
	}
	h := f.lastReq.Header
	for k, want := range map[string]string{
		"Accept":           "application/json",
		"User-Agent":       "wxmedia/0.0.0-test (linux; go1.26)",
		"Wechatpay-Serial": testPlatform,
	} {
		if got := h.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if !strings.HasPrefix(h.Get("Content-Type"), "multipart/form-data; boundary=") {
		t.Errorf("Content-Type = %q", h.Get("Content-Type"))
	}
	if a := f.lastAuth; a["mchid"] != testMchID || a["serial_no"] != testSerial || len(a["nonce_str"]) != 32 {
		t.Errorf("authorization fields = %v", a)
	}
	if !strings.HasPrefix(h.Get("Authorization"), AuthScheme+` mchid="`+testMchID+`",nonce_str="`) {
		t.Errorf("Authorization = %q", h.Get("Authorization"))
	}
	if want := `{"filename":"logo.png","sha256":"` + req.SHA256 + `"}`; string(f.lastMeta) != want {
		t.Errorf("meta = %s, want %s", f.lastMeta, want)
	}
	if string(f.lastFile) != string(req.Content) {
		t.Errorf("file part differs")
	}
}

func TestUploadRetriesServerError(t *testing.T) {
	f, srv := newFake(t, fail(500, "SYSTEMERROR", "System error"), ok("id-after-500"))
	var retries []int
	c := testClient(t, srv, func(c *Config) {
		c.OnRetry = func(attempt int, err error, d time.Duration) { retries = append(retries, attempt) }
	})
	res, err := c.Upload(context.Background(), pngRequest("a.png"))
	if err != nil {
		t.Fatal(err)
	}
	if res.ID != "id-after-500" || res.Attempts != 2 || f.requests != 2 || len(retries) != 1 {
		t.Errorf("result = %+v, server requests = %d, retries = %v", res, f.requests, retries)
	}
}

func TestUploadRetries429(t *testing.T) {
	f, srv := newFake(t, fail(429, "FREQUENCY_LIMIT_EXCEED", "Frequency limit"), fail(429, "FREQUENCY_LIMIT_EXCEED", "Frequency limit"), ok("id-after-429"))
	c := testClient(t, srv, nil)
	res, err := c.Upload(context.Background(), pngRequest("a.png"))
	if err != nil {
		t.Fatal(err)
	}
	if res.ID != "id-after-429" || res.Attempts != 3 || f.requests != 3 {
		t.Errorf("result = %+v, server requests = %d", res, f.requests)
	}
}

func TestUploadFinal400(t *testing.T) {
	f, srv := newFake(t, fail(400, "PARAM_ERROR", "image format error"), ok("never"))
	c := testClient(t, srv, nil)
	res, err := c.Upload(context.Background(), pngRequest("a.png"))
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("Upload() = %v, want *APIError", err)
	}
	if apiErr.StatusCode != 400 || apiErr.Code != "PARAM_ERROR" || apiErr.Message != "image format error" || apiErr.RequestID != "req-1" {
		t.Errorf("APIError = %+v", apiErr)
	}
	if got := apiErr.Error(); got != "PARAM_ERROR (HTTP 400): image format error" {
		t.Errorf("APIError.Error() = %q", got)
	}
	if IsRetryable(err) || res.Attempts != 1 || f.requests != 1 || res.ID != "" {
		t.Errorf("retryable=%v attempts=%d requests=%d id=%q", IsRetryable(err), res.Attempts, f.requests, res.ID)
	}
}

func TestUploadGivesUp(t *testing.T) {
	f, srv := newFake(t, fail(503, "SYSTEMERROR", "busy"))
	c := testClient(t, srv, func(c *Config) { c.MaxAttempts = 3 })
	res, err := c.Upload(context.Background(), pngRequest("a.png"))
	if err == nil || !IsRetryable(err) || res.Attempts != 3 || f.requests != 3 || !strings.Contains(err.Error(), "giving up after 3 attempts") {
		t.Fatalf("Upload() = %+v, %v (requests %d)", res, err, f.requests)
	}
}

func TestUploadDailyQuotaNotRetried(t *testing.T) {
	f, srv := newFake(t, fail(429, "FREQUENCY_LIMIT_EXCEED", "当天上传文件数已达上限"), ok("never"))
	c := testClient(t, srv, nil)
	_, err := c.Upload(context.Background(), pngRequest("a.png"))
	var apiErr *APIError
	if !errors.As(err, &apiErr) || !apiErr.DailyQuotaReached() || IsRetryable(err) || f.requests != 1 {
		t.Fatalf("Upload() = %v (requests %d)", err, f.requests)
	}
}

func TestUploadUnverifiedReplies(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(h http.Header)
		want  string
	}{
		{"bad signature", func(h http.Header) {
			sig := []byte(h.Get("Wechatpay-Signature"))
			sig[10] ^= 1
			h.Set("Wechatpay-Signature", string(sig))
		}, "Wechatpay-Signature"},
		{"signature of another body", func(h http.Header) {
			h.Set("Wechatpay-Signature", "k3t9mwDLOOefr81q2aheazDTUdOBNj5rJLr+hF6qyimfEzoe8ad6OK//3cJtAfnB7mbs3gg9mvKmnAkb7sOmPNGt0rJfxCDPmq6A0WqEihV/MyjbBupN7glqzktc7x2I4NllhZWBi07bkxLi1IDBZaCmBUQh388PJh0rDXnC3xroJ1ILhMLp0Z0IWcPCmehgpZENj6T7/Y9NX0gjM5ZrTz4SfTXh3oriGF6/Btj+fa2FLVDGQo/zQ4M7Kg2IcLmX8G0ENxba4+mowakjPKk04gqqQY/fYR2rP4GusxKM8rnxdxhSf1d1gadBkV9OwyCYK0G3QbkrmdDADZMWV/Mwyg==")
		}, "Wechatpay-Signature"},
		{"wrong serial", func(h http.Header) { h.Set("Wechatpay-Serial", "PUB_KEY_ID_9999") }, "Wechatpay-Serial"},
		{"missing serial", func(h http.Header) { h.Del("Wechatpay-Serial") }, "Wechatpay-Serial"},
		{"stale timestamp", nil, "Wechatpay-Timestamp"},
		{"missing signature", func(h http.Header) { h.Del("Wechatpay-Signature") }, "Wechatpay-Signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFake(t, spoiled("must-not-be-returned", tt.spoil), ok("never"))
			if tt.spoil == nil {
				// The server's clock is 301 s behind: its signature is valid, its timestamp stale.
				f.now = func() time.Time { return time.Now().Add(-301 * time.Second) }
			}
			c := testClient(t, srv, nil)
			res, err := c.Upload(context.Background(), pngRequest("a.png"))
			if !errors.Is(err, ErrVerify) {
				t.Fatalf("Upload() = %+v, %v; want ErrVerify", res, err)
			}
			if res.ID != "" || res.Attempts != 1 || f.requests != 1 || IsRetryable(err) {
				t.Errorf("result %+v, requests %d, retryable %v", res, f.requests, IsRetryable(err))
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "may have been accepted") {
				t.Errorf("error %q does not name %s", err, tt.want)
			}
			// Callers branch on the type: the protocol, and the skew when
			// the timestamp is the reason (the server is 301 s behind).
			var ve *VerifyError
			if !errors.As(err, &ve) || ve.Protocol != ProtocolV3 {
				t.Fatalf("error %v is not a v3 *VerifyError", err)
			}
			if stale := tt.spoil == nil; stale != (ve.Skew >= 301*time.Second && ve.Skew <= 303*time.Second) {
				t.Errorf("Skew = %s", ve.Skew)
			}
		})
	}
}

func TestUploadTimestampWithinSkewAccepted(t *testing.T) {
	f, srv := newFake(t, ok("skewed-but-fine"))
	f.now = func() time.Time { return time.Now().Add(-290 * time.Second) }
	c := testClient(t, srv, nil)
	if res, err := c.Upload(context.Background(), pngRequest("a.png")); err != nil || res.ID != "skewed-but-fine" {
		t.Fatalf("Upload() = %+v, %v", res, err)
	}
}

func closedPortURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "https://" + addr
}

func TestUploadFallbackEndpoint(t *testing.T) {
	f, srv := newFake(t, ok("from-fallback"))
	dead := closedPortURL(t)
	c := testClient(t, srv, func(c *Config) {
		c.Endpoint = dead
		c.FallbackEndpoint = srv.URL
		c.MaxAttempts = 1 // the fallback request belongs to the same attempt
	})
	res, err := c.Upload(context.Background(), pngRequest("a.png"))
	if err != nil {
		t.Fatal(err)
	}
	if res.ID != "from-fallback" || res.Endpoint != srv.URL || res.Attempts != 2 || f.requests != 1 {
		t.Errorf("result = %+v, fallback requests = %d", res, f.requests)
	}
	// The next upload goes to the fallback first.
	res, err = c.Upload(context.Background(), pngRequest("b.png"))
	if err != nil || res.Attempts != 1 || res.Endpoint != srv.URL {
		t.Errorf("second upload = %+v, %v", res, err)
	}
}

func TestUploadFallbackNotUsedForHTTPErrors(t *testing.T) {
	primary, psrv := newFake(t, fail(400, "PARAM_ERROR", "image format error"))
	fallback, fsrv := newFake(t, ok("never"))
	c := testClient(t, psrv, func(c *Config) { c.FallbackEndpoint = fsrv.URL })
	_, err := c.Upload(context.Background(), pngRequest("a.png"))
	var apiErr *APIError
	if !errors.As(err, &apiErr) || primary.requests != 1 || fallback.requests != 0 {
		t.Fatalf("Upload() = %v; primary %d, fallback %d requests", err, primary.requests, fallback.requests)
	}
}

func TestUploadConnectionErrorRetried(t *testing.T) {
	dead := closedPortURL(t)
	_, srv := newFake(t, ok("never"))
	c := testClient(t, srv, func(c *Config) { c.Endpoint = dead; c.MaxAttempts = 2 })
	res, err := c.Upload(context.Background(), pngRequest("a.png"))
	var netErr *NetworkError
	if !errors.As(err, &netErr) || !IsRetryable(err) || res.Attempts != 2 {
		t.Fatalf("Upload() = %+v, %v", res, err)
	}
}

func TestUploadRefusesBeforeSending(t *testing.T) {
	f, srv := newFake(t, ok("never"))
	c := testClient(t, srv, nil)
	req := pngRequest("a.png")
	req.SHA256 = strings.Repeat("0", 64)
	if _, err := c.Upload(context.Background(), req); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("digest mismatch: %v", err)
	}
	req = pngRequest("a.gif")
	var re *RuleError
	if _, err := c.Upload(context.Background(), req); !errors.As(err, &re) || re.Rule != RuleSuffix {
		t.Errorf("gif: %v", err)
	}
	req = pngRequest("a.png")
	req.API = APIV2Image
	if _, err := c.Upload(context.Background(), req); !errors.Is(err, ErrNotUploadable) {
		t.Errorf("v2: %v", err)
	}
	if f.requests != 0 {
		t.Errorf("server saw %d requests", f.requests)
	}
}

func TestUploadHonoursCancellation(t *testing.T) {
	_, srv := newFake(t, fail(500, "SYSTEMERROR", "System error"))
	c := testClient(t, srv, func(c *Config) { c.BaseDelay = time.Hour; c.MaxDelay = time.Hour; c.RetryTimeout = 3 * time.Hour })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Upload(ctx, pngRequest("a.png"))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second || IsRetryable(err) {
		t.Fatalf("Upload() = %v after %s", err, time.Since(start))
	}
}

func TestNewClientChecks(t *testing.T) {
	_, srv := newFake(t, ok("x"))
	for name, mod := range map[string]func(*Config){
		"http to a remote host": func(c *Config) { c.Endpoint = "http://api.mch.weixin.qq.com" },
		"no scheme":             func(c *Config) { c.Endpoint = "api.mch.weixin.qq.com" },
		"bad fallback":          func(c *Config) { c.FallbackEndpoint = "ftp://x" },
		"no mchid":              func(c *Config) { c.MchID = "" },
		"no platform key":       func(c *Config) { c.PlatformKey = nil },
	} {
		cfg := Config{MchID: testMchID, SerialNo: testSerial, PrivateKey: mustPrivateKey(t, "merchant_test_key.pem"),
			PlatformKeyID: testPlatform, PlatformKey: mustPublicKey(t, "platform_test_pub.pem"), Endpoint: srv.URL}
		mod(&cfg)
		if _, err := NewClient(cfg); err == nil {
			t.Errorf("%s: NewClient() = nil error", name)
		}
	}
	for _, good := range []string{"http://127.0.0.1:8787", "http://localhost:1/", "http://[::1]:2", "https://api.mch.weixin.qq.com/"} {
		if _, err := CheckEndpoint(good); err != nil {
			t.Errorf("CheckEndpoint(%q) = %v", good, err)
		}
	}
}

func TestIsRetryable(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&APIError{StatusCode: 500}, true},
		{&APIError{StatusCode: 502}, true},
		{&APIError{StatusCode: 429, Message: "Frequency limit"}, true},
		{&APIError{StatusCode: 429, Message: "当天上传文件数已达上限"}, false},
		{&APIError{StatusCode: 400}, false},
		{&APIError{StatusCode: 401}, false},
		{&APIError{StatusCode: 403}, false},
		{fmt.Errorf("wrapped: %w", &APIError{StatusCode: 503}), true},
		{&NetworkError{Endpoint: "x", Err: io.ErrUnexpectedEOF}, true},
		{fmt.Errorf("%w: x", ErrVerify), false},
		{context.Canceled, false},
		{nil, false},
	} {
		if got := IsRetryable(tt.err); got != tt.want {
			t.Errorf("IsRetryable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
	if got := (&APIError{StatusCode: 502, Body: "<html>bad gateway</html>"}).Error(); got != "HTTP 502: <html>bad gateway</html>" {
		t.Errorf("APIError without code: %q", got)
	}
}

func TestCanonicalEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"HTTPS://127.0.0.1:8787/":               "https://127.0.0.1:8787",
		"https://127.0.0.1:8787/.":              "https://127.0.0.1:8787",
		"https://API.Example.com:443//gw/./v3/": "https://api.example.com/gw/v3",
		"http://LOCALHOST:80":                   "http://localhost",
		"https://[::1]:443/":                    "https://[::1]",
		"https://[::1]:8443":                    "https://[::1]:8443",
		"sandbox-1234":                          "sandbox-1234",
		"https://x.example/?q":                  "https://x.example/?q",
	} {
		if got := CanonicalEndpoint(in); got != want {
			t.Errorf("CanonicalEndpoint(%q) = %q, want %q", in, got, want)
		}
	}
	// The client sends to the canonical URL.
	if got, err := CheckEndpoint("HTTPS://API.MCH.WEIXIN.QQ.COM:443/"); err != nil || got != "https://api.mch.weixin.qq.com" {
		t.Errorf("CheckEndpoint = %q, %v", got, err)
	}
}

// An endpoint's password is never echoed by its error.
func TestCheckEndpointHidesPassword(t *testing.T) {
	for _, raw := range []string{
		"https://user:hunter2secret@example.com/x",
		"ftp://user:hunter2secret@example.com",
		"https://user:hunter2secret@example.com:99999999/%zz",
		"http://user:hunter2secret@example.com",
	} {
		_, err := CheckEndpoint(raw)
		if err == nil {
			t.Fatalf("%s accepted", raw)
		}
		if strings.Contains(err.Error(), "hunter2secret") {
			t.Errorf("CheckEndpoint(%q): %v", raw, err)
		}
	}
}

// Format characters in a filename are refused: they make it read
// otherwise than it is.
func TestCheckFileFormatCharacters(t *testing.T) {
	spec, _ := SpecFor("wechatpay_image")
	png := []byte("\x89PNG\r\n\x1a\n0000000000")
	for _, name := range []string{"invoice\u202egnp.png", "a\u200bb.png", "\ufefflogo.png", "a\u2066b\u2069.png", "a\u200db.png", "a\u00adb.png"} {
		err := CheckFile(spec, name, 100, png)
		var re *RuleError
		if !errors.As(err, &re) || re.Rule != RuleFilename || !strings.Contains(err.Error(), "invisible format character") {
			t.Errorf("CheckFile(%q) = %v, want the format character refused", name, err)
		}
		if strings.ContainsFunc(err.Error(), func(r rune) bool { return unicode.Is(unicode.Cf, r) }) {
			t.Errorf("the message shows the character raw: %q", err)
		}
	}
	for _, name := range []string{"logo.png", "café.png", "横幅.png", "a b.png"} {
		if err := CheckFile(spec, name, 100, png); err != nil {
			t.Errorf("CheckFile(%q) = %v", name, err)
		}
	}
}
