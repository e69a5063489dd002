package sandbox

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
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

// The client reads the sandbox's instance header under the same name.
func TestInstanceHeaderName(t *testing.T) {
	if InstanceHeader != uploader.SandboxHeader {
		t.Fatalf("sandbox.InstanceHeader %q != uploader.SandboxHeader %q", InstanceHeader, uploader.SandboxHeader)
	}
}
