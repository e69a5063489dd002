package sandbox

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxmedia/wxmedia/uploader"
)

const testMchID = "1900000001"

func openSandbox(t *testing.T, dir string) (*Sandbox, MerchantCreds) {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	creds, err := s.RegisterMerchant(testMchID)
	if err != nil {
		t.Fatal(err)
	}
	return s, creds
}

func start(t *testing.T, s *Sandbox) *Server {
	t.Helper()
	srv, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func newClient(t *testing.T, creds MerchantCreds, url string, mod func(*uploader.Config)) *uploader.Client {
	t.Helper()
	key, err := uploader.LoadPrivateKey(creds.PrivateKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := uploader.LoadPublicKey(creds.PlatformPublicKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	hc, err := uploader.NewHTTPClient(creds.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := uploader.Config{
		MchID: creds.MchID, SerialNo: creds.SerialNo, PrivateKey: key,
		PlatformKeyID: creds.PlatformPublicKeyID, PlatformKey: pub,
		Endpoint: url, HTTPClient: hc, UserAgent: "wxmedia/test",
		BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := uploader.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pngBytes(tag string) []byte {
	return append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), tag...)
}

func request(api uploader.API, filename string, content []byte) uploader.Request {
	sum := sha256.Sum256(content)
	return uploader.Request{API: api, Filename: filename, Content: content, SHA256: hex.EncodeToString(sum[:])}
}

func TestOpenCreatesWorld(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "world")
	s, creds := openSandbox(t, dir)
	if !regexp.MustCompile(`^sandbox-[0-9a-f]{16}$`).MatchString(s.ID()) {
		t.Errorf("ID() = %q", s.ID())
	}
	if !regexp.MustCompile(`^PUB_KEY_ID_[0-9]+$`).MatchString(creds.PlatformPublicKeyID) {
		t.Errorf("platform key ID = %q", creds.PlatformPublicKeyID)
	}
	if !regexp.MustCompile(`^[0-9A-F]{40}$`).MatchString(creds.SerialNo) {
		t.Errorf("serial = %q", creds.SerialNo)
	}
	if got, err := uploader.CertificateSerial(creds.CertificateFile); err != nil || got != creds.SerialNo {
		t.Errorf("certificate serial = %q, %v; want %s", got, err, creds.SerialNo)
	}
	for _, p := range []string{creds.PrivateKeyFile, creds.PlatformPublicKeyFile, creds.CAFile, creds.CertificateFile} {
		if !filepath.IsAbs(p) {
			t.Errorf("path %q is not absolute", p)
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode = %v, %v", fi.Mode(), err)
	}
	for _, key := range []string{creds.PrivateKeyFile, filepath.Join(dir, platformKeyFile), filepath.Join(dir, caKeyFile), filepath.Join(dir, serverKeyFile)} {
		if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v, %v", key, fi.Mode(), err)
		}
	}
	again, err := s.RegisterMerchant(testMchID)
	if err != nil || again != creds {
		t.Errorf("second RegisterMerchant = %+v, %v", again, err)
	}
	if _, err := s.RegisterMerchant("../etc"); err == nil {
		t.Error("RegisterMerchant(../etc) = nil error")
	}
}

func TestUploadThroughSandbox(t *testing.T) {
	s, creds := openSandbox(t, t.TempDir())
	srv := start(t, s)
	c := newClient(t, creds, srv.URL(), nil)
	req := request(uploader.APIMerchantImage, "logo.png", pngBytes("logo"))
	res, err := c.Upload(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.ID == "" || res.Attempts != 1 || res.RequestID == "" {
		t.Fatalf("result = %+v", res)
	}
	rec, ok := s.Lookup(res.ID)
	if !ok || rec.SHA256 != req.SHA256 || rec.Filename != "logo.png" || rec.MchID != testMchID || rec.API != string(uploader.APIMerchantImage) {
		t.Errorf("Lookup = %+v, %v", rec, ok)
	}
	// The same bytes again: a fresh identifier, counted twice.
	res2, err := c.Upload(context.Background(), req)
	if err != nil || res2.ID == res.ID {
		t.Fatalf("second upload = %+v, %v", res2, err)
	}
	st := s.Stats()
	if st.Uploads != 2 || st.ByAPI["merchant_media_image"] != 2 || st.BySHA256[req.SHA256] != 2 {
		t.Errorf("stats = %+v", st)
	}
	// The same counters over HTTPS.
	hc, _ := uploader.NewHTTPClient(creds.CAFile)
	resp, err := hc.Get(srv.URL() + "/_sandbox/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var remote Stats
	if err := json.NewDecoder(resp.Body).Decode(&remote); err != nil || remote.Uploads != 2 || remote.BySHA256[req.SHA256] != 2 {
		t.Errorf("GET /_sandbox/stats = %+v, %v", remote, err)
	}
	resp2, err := hc.Get(srv.URL() + "/v3/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusNotFound {
		t.Errorf("unknown path: %d", resp2.StatusCode)
	}
}

func TestOtherV3APIs(t *testing.T) {
	s, creds := openSandbox(t, t.TempDir())
	srv := start(t, s)
	c := newClient(t, creds, srv.URL(), nil)
	for _, tt := range []struct {
		api      uploader.API
		filename string
		content  []byte
		idPrefix string
	}{
		{uploader.APIMerchantVideo, "clip.mp4", []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"), ""},
		{uploader.APIGlobalFile, "licence.pdf", []byte("%PDF-1.7\n%fake\n"), ""},
		{uploader.APICouponImage, "banner.png", pngBytes("banner"), srv.URL() + "/_sandbox/media/"},
	} {
		res, err := c.Upload(context.Background(), request(tt.api, tt.filename, tt.content))
		if err != nil {
			t.Errorf("%s: %v", tt.api, err)
			continue
		}
		if !strings.HasPrefix(res.ID, tt.idPrefix) || res.ID == tt.idPrefix {
			t.Errorf("%s: id %q", tt.api, res.ID)
		}
		if st := s.Stats(); st.ByAPI[string(tt.api)] != 1 {
			t.Errorf("%s: stats %+v", tt.api, st)
		}
	}
}

// raw builds upload requests by hand, to send what the Client refuses to.
type raw struct {
	api           uploader.API
	mchid, serial string
	key           *rsa.PrivateKey
	ts            int64
	nonce         string
	meta          []byte // default: MetaJSON of filename and the content's sha256
	filename      string // meta filename
	partFilename  string // file part filename; default filename
	content       []byte
	noAuth        bool
	body          []byte // replaces the whole multipart body
	contentType   string // replaces the request Content-Type
	platformID    string // Wechatpay-Serial header, when not empty
}

func (r raw) send(t *testing.T, s *Sandbox) (*httptest.ResponseRecorder, map[string]string) {
	t.Helper()
	spec, _ := uploader.SpecForAPI(r.api)
	if r.meta == nil {
		sum := sha256.Sum256(r.content)
		r.meta = uploader.MetaJSON(spec.DigestField, r.filename, hex.EncodeToString(sum[:]))
	}
	if r.partFilename == "" {
		r.partFilename = r.filename
	}
	body := r.body
	if body == nil {
		var b bytes.Buffer
		if err := uploader.WriteMultipart(&b, "b0undary", r.meta, r.partFilename, uploader.ContentType(r.partFilename), r.content); err != nil {
			t.Fatal(err)
		}
		body = b.Bytes()
	}
	req := httptest.NewRequest(http.MethodPost, spec.Path, bytes.NewReader(body))
	if r.contentType == "" {
		r.contentType = "multipart/form-data; boundary=b0undary"
	}
	req.Header.Set("Content-Type", r.contentType)
	if r.platformID != "" {
		req.Header.Set("Wechatpay-Serial", r.platformID)
	}
	if !r.noAuth {
		sig, err := uploader.Sign(r.key, uploader.SignatureMessage("POST", spec.Path, r.ts, r.nonce, r.meta))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", uploader.AuthorizationHeader(r.mchid, r.nonce, r.ts, r.serial, sig))
	}
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	var reply map[string]string
	_ = json.Unmarshal(w.Body.Bytes(), &reply)
	return w, reply
}

var nonceSeq int

func validRaw(t *testing.T, creds MerchantCreds) raw {
	key, err := uploader.LoadPrivateKey(creds.PrivateKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	nonceSeq++
	return raw{api: uploader.APIMerchantImage, mchid: creds.MchID, serial: creds.SerialNo, key: key, platformID: creds.PlatformPublicKeyID,
		ts: time.Now().Unix(), nonce: fmt.Sprintf("nonce%027d", nonceSeq), filename: "a.png", content: pngBytes("raw")}
}

func TestHandlerRefusals(t *testing.T) {
	s, creds := openSandbox(t, t.TempDir())
	otherKey, err := uploader.LoadPrivateKey(filepath.Join("..", "testdata", "merchant_test_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	big := append(pngBytes("big"), make([]byte, 2<<20)...)
	tests := []struct {
		name   string
		mod    func(r *raw)
		status int
		code   string
		msg    string // substring
	}{
		{"signed with another key", func(r *raw) { r.key = otherKey }, 401, "SIGN_ERROR", "signature does not verify"},
		{"no authorization", func(r *raw) { r.noAuth = true }, 401, "SIGN_ERROR", "Authorization"},
		{"unknown merchant", func(r *raw) { r.mchid = "1900009999" }, 403, "NO_AUTH", "not registered"},
		{"wrong serial", func(r *raw) { r.serial = strings.Repeat("A", 40) }, 401, "SIGN_ERROR", "serial_no"},
		{"stale timestamp", func(r *raw) { r.ts -= 301 }, 401, "SIGN_ERROR", "timestamp"},
		{"unknown platform key", func(r *raw) { r.platformID = "PUB_KEY_ID_0114232134912410000000000000" }, 400, "PARAM_ERROR", "Wechatpay-Serial"},
		{"future timestamp", func(r *raw) { r.ts += 400 }, 401, "SIGN_ERROR", "timestamp"},
		{"sha256 mismatch", func(r *raw) {
			r.meta = uploader.MetaJSON("sha256", "a.png", strings.Repeat("ab", 32))
		}, 400, "PARAM_ERROR", "sha256"},
		{"wrong suffix", func(r *raw) { r.filename = "a.gif" }, 400, "PARAM_ERROR", "Image format error"},
		{"text renamed png", func(r *raw) { r.content = []byte("just some text, not an image") }, 400, "PARAM_ERROR", "Image format error"},
		{"too big", func(r *raw) { r.content = big }, 400, "PARAM_ERROR", "FIle exceed the size limit"},
		{"empty", func(r *raw) { r.content = []byte{} }, 400, "PARAM_ERROR", "empty"},
		{"extra meta key", func(r *raw) {
			sum := sha256.Sum256(r.content)
			r.meta = []byte(`{"filename":"a.png","sha256":"` + hex.EncodeToString(sum[:]) + `","x":1}`)
		}, 400, "PARAM_ERROR", `exactly "filename" and "sha256"`},
		{"digest key instead of sha256", func(r *raw) {
			sum := sha256.Sum256(r.content)
			r.meta = uploader.MetaJSON("digest", "a.png", hex.EncodeToString(sum[:]))
		}, 400, "PARAM_ERROR", `exactly`},
		{"meta filename's suffix counts, not the file part's", func(r *raw) { r.filename, r.partFilename = "a.gif", "a.png" }, 400, "PARAM_ERROR", "Image format error"},
		{"not multipart", func(r *raw) { r.contentType = "application/json" }, 400, "PARAM_ERROR", "multipart"},
		{"no meta part", func(r *raw) {
			r.body = []byte("--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\nx\r\n--b0undary--\r\n")
		}, 400, "PARAM_ERROR", `meta is required`},
		{"no file part", func(r *raw) {
			sum := sha256.Sum256(r.content)
			r.meta = uploader.MetaJSON("sha256", r.filename, hex.EncodeToString(sum[:]))
			r.body = []byte("--b0undary\r\nContent-Disposition: form-data; name=\"meta\"\r\n\r\n" + string(r.meta) + "\r\n--b0undary--\r\n")
		}, 400, "PARAM_ERROR", `file is required`},
		{"global file uses its own code", func(r *raw) {
			r.api = uploader.APIGlobalFile
			r.meta = uploader.MetaJSON("digest", "a.png", strings.Repeat("ab", 32))
		}, 400, "INVALID_REQUEST", "inconsistent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validRaw(t, creds)
			tt.mod(&r)
			w, reply := r.send(t, s)
			if w.Code != tt.status || reply["code"] != tt.code || !strings.Contains(reply["message"], tt.msg) {
				t.Fatalf("got %d %s, want %d %s containing %q", w.Code, w.Body.String(), tt.status, tt.code, tt.msg)
			}
			if w.Header().Get("Request-ID") == "" || w.Header().Get("Wechatpay-Signature") == "" {
				t.Errorf("reply headers = %v", w.Header())
			}
		})
	}
	if st := s.Stats(); st.Uploads != 0 {
		t.Errorf("refused uploads were counted: %+v", st)
	}

	// The seed page's layout (trailing semicolons in Content-Disposition) is accepted,
	// and a replayed nonce is refused.
	r := validRaw(t, creds)
	sum := sha256.Sum256(r.content)
	r.meta = uploader.MetaJSON("sha256", "a.png", hex.EncodeToString(sum[:]))
	r.body = []byte("--b0undary\r\nContent-Disposition: form-data; name=\"meta\";\r\nContent-Type: application/json\r\n\r\n" + string(r.meta) +
		"\r\n--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\";\r\nContent-Type: image/jpg\r\n\r\n" + string(r.content) + "\r\n--b0undary--\r\n")
	if w, reply := r.send(t, s); w.Code != 200 || reply["media_id"] == "" {
		t.Fatalf("seed layout: %d %s", w.Code, w.Body.String())
	}
	if w, reply := r.send(t, s); w.Code != 401 || !strings.Contains(reply["message"], "nonce") {
		t.Fatalf("replayed nonce: %d %s", w.Code, w.Body.String())
	}
}

func TestReplySignatureVerifies(t *testing.T) {
	s, creds := openSandbox(t, t.TempDir())
	w, reply := validRaw(t, creds).send(t, s)
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body.String())
	}
	pub, err := uploader.LoadPublicKey(creds.PlatformPublicKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	h := w.Header()
	if h.Get("Wechatpay-Serial") != creds.PlatformPublicKeyID {
		t.Errorf("Wechatpay-Serial = %q", h.Get("Wechatpay-Serial"))
	}
	msg := uploader.ReplyMessage(h.Get("Wechatpay-Timestamp"), h.Get("Wechatpay-Nonce"), w.Body.Bytes())
	if err := uploader.Verify(pub, msg, h.Get("Wechatpay-Signature")); err != nil {
		t.Errorf("reply signature: %v", err)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{20,}$`).MatchString(reply["media_id"]) {
		t.Errorf("media_id = %q", reply["media_id"])
	}
}

func TestRestartKeepsWorld(t *testing.T) {
	dir := t.TempDir()
	s1, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	creds1, err := s1.RegisterMerchant(testMchID)
	if err != nil {
		t.Fatal(err)
	}
	srv := start(t, s1)
	req := request(uploader.APIMerchantImage, "a.png", pngBytes("restart"))
	res, err := newClient(t, creds1, srv.URL(), nil).Upload(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	ca1, _ := os.ReadFile(creds1.CAFile)
	id1 := s1.ID()
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}

	s2, creds2 := openSandbox(t, dir)
	if s2.ID() != id1 || creds2 != creds1 {
		t.Fatalf("restart changed identity: %s %+v, was %s %+v", s2.ID(), creds2, id1, creds1)
	}
	if ca2, _ := os.ReadFile(creds2.CAFile); !bytes.Equal(ca1, ca2) {
		t.Error("restart changed the CA")
	}
	if rec, ok := s2.Lookup(res.ID); !ok || rec.SHA256 != req.SHA256 {
		t.Errorf("issued ID lost: %+v %v", rec, ok)
	}
	if st := s2.Stats(); st.Uploads != 1 || st.BySHA256[req.SHA256] != 1 {
		t.Errorf("stats after restart = %+v", st)
	}
	// The old client keys and CA still work against the new server, and counting goes on.
	srv2 := start(t, s2)
	res2, err := newClient(t, creds1, srv2.URL(), nil).Upload(context.Background(), req)
	if err != nil || res2.ID == res.ID {
		t.Fatalf("upload after restart = %+v, %v", res2, err)
	}
	if st := s2.Stats(); st.Uploads != 2 || st.BySHA256[req.SHA256] != 2 {
		t.Errorf("stats = %+v", st)
	}
}

func TestDatabaseLockedByAnotherServer(t *testing.T) {
	old := LockTimeout
	LockTimeout = 100 * time.Millisecond
	t.Cleanup(func() { LockTimeout = old })
	dir := t.TempDir()
	s, creds := openSandbox(t, dir)
	srv := start(t, s)
	if _, err := newClient(t, creds, srv.URL(), nil).Upload(context.Background(), request(uploader.APIMerchantImage, "a.png", pngBytes("lock"))); err != nil {
		t.Fatal(err)
	}
	// A second sandbox on the same directory (flock locks are per open
	// file) waits LockTimeout, then fails instead of hanging.
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	begin := time.Now()
	done := make(chan struct{})
	var startErr error
	go func() {
		var srv2 *Server
		if srv2, startErr = s2.Start("127.0.0.1:0"); startErr == nil {
			srv2.Close()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a second server on the same directory hangs")
	}
	if startErr == nil || !strings.Contains(startErr.Error(), "in use by another process") {
		t.Errorf("second Start = %v after %s, want an in-use error", startErr, time.Since(begin))
	}
	// Once the first server stops, the counters are readable from the file.
	srv.Close()
	s.Close()
	s3, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	st, err := s3.ReadStats()
	if err != nil || st.Uploads != 1 || st.ByAPI["merchant_media_image"] != 1 {
		t.Errorf("ReadStats() = %+v, %v", st, err)
	}
}

// dice returns fault rolls from a fixed sequence, then 0.99 (no fault).
func dice(rolls ...float64) func() float64 {
	var mu sync.Mutex
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		if len(rolls) == 0 {
			return 0.99
		}
		r := rolls[0]
		rolls = rolls[1:]
		return r
	}
}

func TestFaultBadSig(t *testing.T) {
	s, creds := openSandbox(t, t.TempDir())
	srv := start(t, s)
	s.SetFaults(Faults{BadSig: 1})
	req := request(uploader.APIMerchantImage, "a.png", pngBytes("badsig"))
	res, err := newClient(t, creds, srv.URL(), nil).Upload(context.Background(), req)
	if !errors.Is(err, uploader.ErrVerify) || res.ID != "" || res.Attempts != 1 {
		t.Fatalf("Upload() = %+v, %v; want ErrVerify", res, err)
	}
	if st := s.Stats(); st.Uploads != 1 || st.BySHA256[req.SHA256] != 1 {
		t.Errorf("a spoiled reply must still count: %+v", st)
	}
}

func TestFaultResetRetried(t *testing.T) {
	for _, proto := range []string{"HTTP/2", "HTTP/1.1"} {
		t.Run(proto, func(t *testing.T) {
			s, creds := openSandbox(t, t.TempDir())
			srv := start(t, s)
			s.roll = dice(0) // the first request is dropped
			s.SetFaults(Faults{Reset: 0.5})
			req := request(uploader.APIMerchantImage, "a.png", pngBytes("reset"))
			var retried []error
			res, err := newClient(t, creds, srv.URL(), func(c *uploader.Config) {
				c.OnRetry = func(_ int, err error, _ time.Duration) { retried = append(retried, err) }
				if proto == "HTTP/1.1" {
					tr := c.HTTPClient.Transport.(*http.Transport).Clone()
					tr.ForceAttemptHTTP2 = false
					tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
					tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
					c.HTTPClient = &http.Client{Transport: tr}
				}
			}).Upload(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			var netErr *uploader.NetworkError
			if res.Attempts != 2 || len(retried) != 1 || !errors.As(retried[0], &netErr) {
				t.Errorf("result %+v, retried after %v", res, retried)
			} else {
				t.Logf("dropped connection seen as: %v", retried[0])
			}
			if st := s.Stats(); st.Uploads != 1 {
				t.Errorf("a dropped connection must not count: %+v", st)
			}
		})
	}
}

func TestFault500And429Retried(t *testing.T) {
	s, creds := openSandbox(t, t.TempDir())
	srv := start(t, s)
	// Request 1: 500. Request 2: no 500, then 429. Request 3: clean.
	s.roll = dice(0, 0.99, 0)
	s.SetFaults(Faults{P500: 0.5, P429: 0.5, Delay: time.Millisecond})
	var codes []string
	res, err := newClient(t, creds, srv.URL(), func(c *uploader.Config) {
		c.OnRetry = func(_ int, err error, _ time.Duration) {
			var apiErr *uploader.APIError
			if errors.As(err, &apiErr) {
				codes = append(codes, strconv.Itoa(apiErr.StatusCode)+" "+apiErr.Code)
			}
		}
	}).Upload(context.Background(), request(uploader.APIMerchantImage, "a.png", pngBytes("faults")))
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 3 || strings.Join(codes, ",") != "500 SYSTEMERROR,429 FREQUENCY_LIMIT_EXCEED" {
		t.Errorf("attempts %d, retried after %v", res.Attempts, codes)
	}
	if st := s.Stats(); st.Uploads != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestRateLimit(t *testing.T) {
	s, creds := openSandbox(t, t.TempDir())
	s.SetFaults(Faults{RateLimit: 2})
	var codes []int
	for range 4 {
		w, _ := validRaw(t, creds).send(t, s)
		codes = append(codes, w.Code)
	}
	if fmt.Sprint(codes) != "[200 200 429 429]" {
		t.Errorf("codes = %v", codes)
	}
}

func TestConcurrentUploads(t *testing.T) {
	s, creds := openSandbox(t, t.TempDir())
	srv := start(t, s)
	c := newClient(t, creds, srv.URL(), nil)
	const n = 16
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.Upload(context.Background(), request(uploader.APIMerchantImage, fmt.Sprintf("p%d.png", i), pngBytes(strconv.Itoa(i%4))))
			if err != nil {
				t.Error(err)
			}
			ids[i] = res.ID
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("identifier %q issued twice", id)
		}
		seen[id] = true
	}
	if st := s.Stats(); st.Uploads != n || len(st.BySHA256) != 4 {
		t.Errorf("stats = %+v", st)
	}
}

func TestParseFaults(t *testing.T) {
	f, err := ParseFaults("500=0.2,429=0.1,reset=0.05,badsig=0.02,delay=50ms")
	if err != nil {
		t.Fatal(err)
	}
	want := Faults{P500: 0.2, P429: 0.1, Reset: 0.05, BadSig: 0.02, Delay: 50 * time.Millisecond}
	if f != want {
		t.Errorf("ParseFaults = %+v, want %+v", f, want)
	}
	if back, err := ParseFaults(f.String()); err != nil || back != f {
		t.Errorf("round trip %q = %+v, %v", f.String(), back, err)
	}
	if f, err := ParseFaults(" rps=20 , "); err != nil || f.RateLimit != 20 {
		t.Errorf("rps: %+v, %v", f, err)
	}
	if f, err := ParseFaults(""); err != nil || f != (Faults{}) {
		t.Errorf("empty: %+v, %v", f, err)
	}
	for _, bad := range []string{"500=2", "500=-0.1", "429", "delay=fast", "delay=-1s", "teapot=0.1", "500=0.1,500=0.2", "rps=-1", "badsig=NaN"} {
		if _, err := ParseFaults(bad); err == nil {
			t.Errorf("ParseFaults(%q) = nil error", bad)
		}
	}
}

func TestWriteMerchantConfig(t *testing.T) {
	s, creds := openSandbox(t, t.TempDir())
	path := filepath.Join(s.Dir(), "merchant.wxm.hcl")
	if err := s.WriteMerchantConfig(path, "https://127.0.0.1:8787", testMchID); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{
		`merchant "sandbox" {`,
		`mchid                    = "` + testMchID + `"`,
		`serial_no                = "` + creds.SerialNo + `"`,
		`private_key_file         = "` + creds.PrivateKeyFile + `"`,
		`platform_public_key_id   = "` + creds.PlatformPublicKeyID + `"`,
		`platform_public_key_file = "` + creds.PlatformPublicKeyFile + `"`,
		`ca_certificate_file      = "` + creds.CAFile + `"`,
		`endpoint                 = "https://127.0.0.1:8787"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("config lacks %q:\n%s", want, text)
		}
	}
	if err := s.WriteMerchantConfig(path, "http://example.com", testMchID); err == nil {
		t.Error("WriteMerchantConfig(non-loopback http) = nil error")
	}
	if got := hclString(`a"b\c${x}%{y}`); got != `"a\"b\\c$${x}%%{y}"` {
		t.Errorf("hclString = %s", got)
	}
}

func TestClosedSandbox(t *testing.T) {
	s, creds := openSandbox(t, t.TempDir())
	srv := start(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Wait(); err != nil {
		t.Errorf("Wait() = %v", err)
	}
	if _, err := s.Start("127.0.0.1:0"); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close = %v", err)
	}
	if w, _ := validRaw(t, creds).send(t, s); w.Code != 500 {
		t.Errorf("upload after Close: %d", w.Code)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// The client reads the sandbox's instance header under the same name.
func TestInstanceHeaderName(t *testing.T) {
	if InstanceHeader != uploader.SandboxHeader {
		t.Fatalf("sandbox.InstanceHeader %q != uploader.SandboxHeader %q", InstanceHeader, uploader.SandboxHeader)
	}
}

// The sandbox never overwrites a file it did not write.
func TestSandboxOverwritesOnlyItsOwnFiles(t *testing.T) {
	dir := t.TempDir()
	user := []byte("# mine\nmerchant \"prod\" {}\n")
	hcl := filepath.Join(dir, "merchant.wxm.hcl")
	if err := os.WriteFile(hcl, user, 0o644); err != nil {
		t.Fatal(err)
	}
	sb, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if err := sb.WriteMerchantConfig(hcl, "https://127.0.0.1:1", "1900000001"); !errors.Is(err, ErrNotOwned) {
		t.Fatalf("WriteMerchantConfig over the user's file: %v, want ErrNotOwned", err)
	}
	if b, _ := os.ReadFile(hcl); string(b) != string(user) {
		t.Fatalf("the user's file changed:\n%s", b)
	}
	// Its own file it rewrites.
	own := filepath.Join(dir, "own.wxm.hcl")
	for range 2 {
		if err := sb.WriteMerchantConfig(own, "https://127.0.0.1:1", "1900000001"); err != nil {
			t.Fatal(err)
		}
	}
	// A new world is not made over a file of one of its names.
	other := t.TempDir()
	pem := []byte("-----BEGIN CERTIFICATE-----\nmine\n-----END CERTIFICATE-----\n")
	if err := os.WriteFile(filepath.Join(other, "ca.pem"), pem, 0o644); err != nil {
		t.Fatal(err)
	}
	if sb2, err := Open(other); !errors.Is(err, ErrNotOwned) {
		if sb2 != nil {
			sb2.Close()
		}
		t.Fatalf("Open over the user's ca.pem: %v, want ErrNotOwned", err)
	}
	if b, _ := os.ReadFile(filepath.Join(other, "ca.pem")); string(b) != string(pem) {
		t.Fatal("the user's ca.pem changed")
	}
	// An interrupted creation (its marker left) starts over.
	if err := os.WriteFile(filepath.Join(other, creatingFile), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	sb3, err := Open(other)
	if err != nil {
		t.Fatalf("Open after an interrupted creation: %v", err)
	}
	sb3.Close()
	if _, err := os.Stat(filepath.Join(other, creatingFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("creation marker left: %v", err)
	}
}
