package uploader

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

type v2Vector struct {
	V2Sign struct {
		Params       map[string]string `json:"params"`
		Key          string            `json:"key"`
		StringToSign string            `json:"string_to_sign"`
		MD5          string            `json:"MD5"`
		HMACSHA256   string            `json:"HMAC-SHA256"`
	} `json:"v2_sign"`
}

func TestV2SignVector(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "signing.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v v2Vector
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	vec := v.V2Sign
	if got := V2StringToSign(vec.Params, vec.Key); got != vec.StringToSign {
		t.Errorf("V2StringToSign() = %q, want %q", got, vec.StringToSign)
	}
	for typ, want := range map[string]string{"": vec.MD5, SignTypeMD5: vec.MD5, SignTypeHMACSHA256: vec.HMACSHA256} {
		if got, err := V2Sign(vec.Params, vec.Key, typ); err != nil || got != want {
			t.Errorf("V2Sign(%q) = %s, %v; want %s", typ, got, err, want)
		}
	}
	// Empty values, sign and media take no part.
	extra := map[string]string{"sign": "X", "media": "m.png", "empty": ""}
	for k, val := range vec.Params {
		extra[k] = val
	}
	if got, _ := V2Sign(extra, vec.Key, SignTypeMD5); got != vec.MD5 {
		t.Errorf("V2Sign with sign, media and an empty field = %s, want %s", got, vec.MD5)
	}
	if _, err := V2Sign(vec.Params, vec.Key, "SHA1"); err == nil {
		t.Error("V2Sign(SHA1) = nil error")
	}
}

func TestParseV2XML(t *testing.T) {
	got, err := ParseV2XML([]byte("<xml>\n<return_code><![CDATA[SUCCESS]]></return_code>\n<media_id>9UYfXi-WMUhg</media_id>\n<empty></empty></xml>"))
	if err != nil || got["return_code"] != "SUCCESS" || got["media_id"] != "9UYfXi-WMUhg" || got["empty"] != "" || len(got) != 3 {
		t.Fatalf("ParseV2XML() = %v, %v", got, err)
	}
	for _, bad := range []string{"", "{}", "<root><a>1</a></root>", "<xml><a>1</a><a>2</a></xml>", "<xml><a><b>1</b></a></xml>", "<xml><a>1</a>"} {
		if _, err := ParseV2XML([]byte(bad)); err == nil {
			t.Errorf("ParseV2XML(%q) = nil error", bad)
		}
	}
}

// selfSignedClientCert makes a client certificate for the merchant test key.
func selfSignedClientCert(t *testing.T) tls.Certificate {
	t.Helper()
	key := mustPrivateKey(t, "merchant_test_key.pem")
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0x1FB8), Subject: pkix.Name{CommonName: testMchID},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

const testV2Key = "192006250b4c09247ec02edce69f6a2d"

// fakeV2 is a minimal v2 upload endpoint requiring a client certificate. It
// checks the sign with its own MD5/HMAC code path and answers queued XML replies.
type fakeV2 struct {
	mu       sync.Mutex
	replies  []func(fields map[string]string) (int, string)
	requests int
	lastForm map[string]string
	lastFile []byte
	problem  string
}

func v2sum(fields map[string]string, signType string) string {
	var keys []string
	for k, v := range fields {
		if v != "" && k != "sign" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + fields[k] + "&")
	}
	b.WriteString("key=" + testV2Key)
	if signType == "HMAC-SHA256" {
		return strings.ToUpper(hmacHex(b.String()))
	}
	d := md5.Sum([]byte(b.String()))
	return strings.ToUpper(hex.EncodeToString(d[:]))
}

func signedXML(signType string, fields map[string]string) string {
	fields["sign"] = v2sum(fields, signType)
	var b strings.Builder
	b.WriteString("<xml>")
	for k, v := range fields {
		b.WriteString("<" + k + "><![CDATA[" + v + "]]></" + k + ">")
	}
	b.WriteString("</xml>")
	return b.String()
}

func (f *fakeV2) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	reply := f.replies[0]
	if len(f.replies) > 1 {
		f.replies = f.replies[1:]
	}
	f.mu.Unlock()
	problem := ""
	form := map[string]string{}
	var file []byte
	switch {
	case r.TLS == nil || len(r.TLS.PeerCertificates) == 0:
		problem = "no client certificate"
	case r.URL.Path != "/secapi/mch/uploadmedia":
		problem = "path " + r.URL.Path
	}
	if problem == "" {
		_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			b, _ := io.ReadAll(p)
			if p.FormName() == "media" {
				file = b
			} else {
				form[p.FormName()] = string(b)
			}
		}
		if form["sign"] != v2sum(form, form["sign_type"]) {
			problem = "sign does not verify"
		}
		if sum := md5.Sum(file); form["media_hash"] != hex.EncodeToString(sum[:]) {
			problem = "media_hash"
		}
	}
	f.mu.Lock()
	f.problem, f.lastForm, f.lastFile = problem, form, file
	f.mu.Unlock()
	if problem != "" {
		w.Write([]byte("<xml><return_code>FAIL</return_code><return_msg>" + problem + "</return_msg></xml>"))
		return
	}
	status, body := reply(form)
	w.WriteHeader(status)
	w.Write([]byte(body))
}

func v2OK(id string) func(map[string]string) (int, string) {
	return func(form map[string]string) (int, string) {
		return 200, signedXML(form["sign_type"], map[string]string{"return_code": "SUCCESS", "return_msg": "OK", "result_code": "SUCCESS", "media_id": id, "nonce_str": "n0nce"})
	}
}

func v2Fail(status int, code, des string) func(map[string]string) (int, string) {
	return func(form map[string]string) (int, string) {
		return status, signedXML(form["sign_type"], map[string]string{"return_code": "SUCCESS", "result_code": "FAIL", "err_code": code, "err_code_des": des})
	}
}

func newV2Client(t *testing.T, signType string, replies ...func(map[string]string) (int, string)) (*Client, *fakeV2) {
	t.Helper()
	f := &fakeV2{replies: replies}
	srv := httptest.NewUnstartedServer(f)
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	hc := srv.Client()
	tr := hc.Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.Certificates = []tls.Certificate{selfSignedClientCert(t)}
	hc = &http.Client{Transport: tr}
	c, err := NewClient(Config{MchID: testMchID, APIv2Key: testV2Key, V2SignType: signType, V2Endpoint: srv.URL,
		V2HTTPClient: hc, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c, f
}

func v2Request() Request {
	content := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR v2 image")
	sum := sha256.Sum256(content)
	return Request{API: APIV2Image, Filename: "licence.png", Content: content, SHA256: hex.EncodeToString(sum[:])}
}

func TestV2UploadSuccess(t *testing.T) {
	for _, typ := range []string{"", SignTypeMD5, SignTypeHMACSHA256} {
		c, f := newV2Client(t, typ, v2OK("9UYfXi-WMUhgWXvJtEw4_gBle_EfrD_pIL0bS8GAsK8"))
		res, err := c.Upload(context.Background(), v2Request())
		if err != nil || res.ID != "9UYfXi-WMUhgWXvJtEw4_gBle_EfrD_pIL0bS8GAsK8" || res.Attempts != 1 {
			t.Fatalf("sign type %q: Upload() = %+v, %v (server: %s)", typ, res, err, f.problem)
		}
		want := typ
		if want == "" {
			want = SignTypeMD5
		}
		md := md5.Sum(v2Request().Content)
		if f.lastForm["mch_id"] != testMchID || f.lastForm["sign_type"] != want || f.lastForm["media_hash"] != hex.EncodeToString(md[:]) ||
			!bytes.Equal(f.lastFile, v2Request().Content) {
			t.Errorf("form = %v", f.lastForm)
		}
		if typ == SignTypeHMACSHA256 && len(f.lastForm["sign"]) != 64 {
			t.Errorf("HMAC-SHA256 sign = %q", f.lastForm["sign"])
		}
	}
}

func TestV2UploadErrors(t *testing.T) {
	for _, tt := range []struct {
		name      string
		reply     func(map[string]string) (int, string)
		attempts  int
		retryable bool
		verify    bool
		msg       string
	}{
		{"param error is final", v2Fail(200, "PARAM_ERROR", "Image Hash value error, please check and retry."), 1, false, false, "PARAM_ERROR: Image Hash value error"},
		{"sign error is final", v2Fail(200, "SIGNERROR", "Signature validation failed"), 1, false, false, "SIGNERROR"},
		{"merchant id error is final", v2Fail(200, "PARAM_ERROR", "The merchant ID is wrong, please check"), 1, false, false, "merchant ID is wrong"},
		{"no permission is final", v2Fail(200, "INVALID_REQUEST", "No permissions. Check and try again."), 1, false, false, "INVALID_REQUEST"},
		{"system error is retried", v2Fail(200, "SYSTEMERROR", "System error"), 3, true, false, "SYSTEMERROR"},
		{"frequency limit is retried", v2Fail(200, "FREQUENCY_LIMITED", "Operation is too fast, please retry later"), 3, true, false, "FREQUENCY_LIMITED"},
		{"return_code FAIL is final", func(map[string]string) (int, string) {
			return 200, "<xml><return_code>FAIL</return_code><return_msg>Signature failure</return_msg></xml>"
		}, 1, false, false, "Signature failure"},
		{"tampered media_id", func(form map[string]string) (int, string) {
			_, body := v2OK("good-id")(form)
			return 200, strings.Replace(body, "good-id", "evil-id", 1)
		}, 1, false, true, "does not verify"},
		{"unsigned success", func(map[string]string) (int, string) {
			return 200, "<xml><return_code>SUCCESS</return_code><result_code>SUCCESS</result_code><media_id>x</media_id></xml>"
		}, 1, false, true, "no sign"},
		{"not XML", func(map[string]string) (int, string) { return 200, `{"media_id":"x"}` }, 1, false, true, "<xml>"},
		{"HTTP 502 page", func(map[string]string) (int, string) { return 502, "<html>bad gateway</html>" }, 3, true, false, "HTTP 502"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, f := newV2Client(t, SignTypeHMACSHA256, tt.reply)
			c.cfg.MaxAttempts = 3
			res, err := c.Upload(context.Background(), v2Request())
			if err == nil || res.ID != "" {
				t.Fatalf("Upload() = %+v, nil error", res)
			}
			if f.problem != "" {
				t.Fatalf("server found: %s", f.problem)
			}
			if res.Attempts != tt.attempts || errors.Is(err, ErrVerify) != tt.verify || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Upload() after %d attempts: %v", res.Attempts, err)
			}
			var ve *VerifyError
			if tt.verify && (!errors.As(err, &ve) || ve.Protocol != ProtocolV2) {
				t.Errorf("error %v is not a v2 *VerifyError", err)
			}
			var v2e *V2Error
			if errors.As(err, &v2e) && v2e.Retryable() != tt.retryable {
				t.Errorf("Retryable() = %v", v2e.Retryable())
			}
		})
	}
}

func TestV2UploadNeedsClientCertificate(t *testing.T) {
	f := &fakeV2{replies: []func(map[string]string) (int, string){v2OK("x")}}
	srv := httptest.NewUnstartedServer(f)
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	defer srv.Close()
	c, err := NewClient(Config{MchID: testMchID, APIv2Key: testV2Key, V2Endpoint: srv.URL, V2HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Upload(context.Background(), v2Request()); err == nil || !strings.Contains(err.Error(), "no client certificate") {
		t.Errorf("Upload() without a client certificate = %v", err)
	}
	// A v2-only client refuses v3 uploads before sending, and the other way round.
	if _, err := c.Upload(context.Background(), pngRequest("a.png")); !errors.Is(err, ErrNotUploadable) {
		t.Errorf("v3 upload through a v2-only client = %v", err)
	}
	_, v3 := newFake(t, ok("x"))
	if _, err := testClient(t, v3, nil).Upload(context.Background(), v2Request()); !errors.Is(err, ErrNotUploadable) {
		t.Errorf("v2 upload through a v3-only client = %v", err)
	}
	for name, cfg := range map[string]Config{
		"no key":          {MchID: testMchID, V2Endpoint: srv.URL, V2HTTPClient: srv.Client()},
		"no http client":  {MchID: testMchID, APIv2Key: testV2Key, V2Endpoint: srv.URL},
		"remote http":     {MchID: testMchID, APIv2Key: testV2Key, V2Endpoint: "http://apihk.mch.weixin.qq.com", V2HTTPClient: srv.Client()},
		"bad sign type":   {MchID: testMchID, APIv2Key: testV2Key, V2Endpoint: srv.URL, V2HTTPClient: srv.Client(), V2SignType: "SHA1"},
		"no endpoint":     {MchID: testMchID, APIv2Key: testV2Key, V2HTTPClient: srv.Client()},
		"nothing at all":  {MchID: testMchID},
		"half of v3 too ": {MchID: testMchID, APIv2Key: testV2Key, V2Endpoint: srv.URL, V2HTTPClient: srv.Client(), SerialNo: testSerial},
	} {
		if _, err := NewClient(cfg); err == nil {
			t.Errorf("%s: NewClient() = nil error", name)
		}
	}
}

func TestDailyQuotaStopsTheAPI(t *testing.T) {
	f, srv := newFake(t, fail(429, "FREQUENCY_LIMIT_EXCEED", "当天上传文件数已达上限"), ok("later"))
	c := testClient(t, srv, nil)
	_, err := c.Upload(context.Background(), pngRequest("a.png"))
	if !errors.Is(err, ErrDailyQuota) || IsRetryable(err) || !strings.Contains(err.Error(), "当天上传文件数已达上限") {
		t.Fatalf("first upload = %v", err)
	}
	res, err := c.Upload(context.Background(), pngRequest("b.png"))
	if !errors.Is(err, ErrDailyQuota) || res.Attempts != 0 || !strings.Contains(err.Error(), "skipped") {
		t.Fatalf("second upload = %+v, %v; want an immediate quota error", res, err)
	}
	if f.requests != 1 {
		t.Errorf("server saw %d requests, want 1", f.requests)
	}
	// Other APIs are not stopped: the global file API still sends.
	pdf := []byte("%PDF-1.4\nx")
	sum := sha256.Sum256(pdf)
	_, err = c.Upload(context.Background(), Request{API: APIGlobalFile, Filename: "a.pdf", Content: pdf, SHA256: hex.EncodeToString(sum[:])})
	if errors.Is(err, ErrDailyQuota) || f.requests != 2 {
		t.Errorf("other API after the quota: %v, %d requests", err, f.requests)
	}

	// v2 says it with FREQUENCY_LIMITED and a quota message.
	c2, f2 := newV2Client(t, "", v2Fail(200, "FREQUENCY_LIMITED", "the day's upload quota is reached"), v2OK("x"))
	if _, err := c2.Upload(context.Background(), v2Request()); !errors.Is(err, ErrDailyQuota) {
		t.Fatalf("v2 quota = %v", err)
	}
	if _, err := c2.Upload(context.Background(), v2Request()); !errors.Is(err, ErrDailyQuota) || f2.requests != 1 {
		t.Fatalf("v2 after the quota = %v, %d requests", err, f2.requests)
	}
}

func hmacHex(msg string) string {
	m := hmac.New(sha256.New, []byte(testV2Key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}
