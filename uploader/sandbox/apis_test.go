package sandbox

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wxmedia/wxmedia/uploader"
)

// vectors are the fixed signing vectors shared with package uploader's tests.
type vectors struct {
	V3Request struct {
		Path          string `json:"path"`
		Timestamp     string `json:"timestamp"`
		Nonce         string `json:"nonce"`
		Body          string `json:"body"`
		Signature     string `json:"signature_base64"`
		Authorization string `json:"authorization"`
	} `json:"v3_request"`
	V3Reply struct {
		Timestamp    string `json:"Wechatpay-Timestamp"`
		Nonce        string `json:"Wechatpay-Nonce"`
		Body         string `json:"body"`
		Signature    string `json:"Wechatpay-Signature"`
		TamperedBody string `json:"tampered_body_must_fail"`
	} `json:"v3_reply"`
	V2Sign struct {
		Params     map[string]string `json:"params"`
		Key        string            `json:"key"`
		MD5        string            `json:"MD5"`
		HMACSHA256 string            `json:"HMAC-SHA256"`
	} `json:"v2_sign"`
}

func TestWireVectors(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "signing.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	merchantPub, err := uploader.LoadPublicKey(filepath.Join("..", "testdata", "merchant_test_pub.pem"))
	if err != nil {
		t.Fatal(err)
	}
	platformKey, err := readRSAKey(filepath.Join("..", "testdata", "platform_test_key.pem"))
	if err != nil {
		t.Fatal(err)
	}

	// The vector's Authorization (fields in another order) parses, and its signature verifies.
	auth, err := parseAuth(v.V3Request.Authorization)
	if err != nil || auth["signature"] != v.V3Request.Signature || auth["nonce_str"] != v.V3Request.Nonce || auth["mchid"] != "1900231671" {
		t.Fatalf("parseAuth(vector) = %v, %v", auth, err)
	}
	vr := v.V3Request
	if !verifyRequest(merchantPub, "POST", vr.Path, vr.Timestamp, vr.Nonce, []byte(vr.Body), auth["signature"]) {
		t.Error("the vector's request signature does not verify")
	}
	if verifyRequest(merchantPub, "POST", vr.Path, vr.Timestamp, vr.Nonce, []byte(vr.Body+" "), auth["signature"]) ||
		verifyRequest(merchantPub, "POST", "/v3/merchant/media/video_upload", vr.Timestamp, vr.Nonce, []byte(vr.Body), auth["signature"]) {
		t.Error("a changed body or path verifies")
	}
	// Reply signing is deterministic: it must give the vector's signature.
	rp := v.V3Reply
	if sig, err := signReply(platformKey, rp.Timestamp, rp.Nonce, []byte(rp.Body)); err != nil || sig != rp.Signature {
		t.Errorf("signReply(vector) = %s, %v; want %s", sig, err, rp.Signature)
	}
	// v2 sign, both types.
	if got, ok := v2Sign(v.V2Sign.Params, v.V2Sign.Key, "MD5"); !ok || got != v.V2Sign.MD5 {
		t.Errorf("v2Sign(MD5) = %s", got)
	}
	if got, ok := v2Sign(v.V2Sign.Params, v.V2Sign.Key, "HMAC-SHA256"); !ok || got != v.V2Sign.HMACSHA256 {
		t.Errorf("v2Sign(HMAC-SHA256) = %s", got)
	}

	for _, bad := range []string{
		"", `WECHATPAY2-SHA256-RSA2048`, `Bearer mchid="1"`, `WECHATPAY2-SHA256-RSA2048mchid="1"`,
		`WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="n",timestamp="1",serial_no="s"`,
		`WECHATPAY2-SHA256-RSA2048 mchid="1",mchid="2",nonce_str="n",timestamp="1",serial_no="s",signature="x"`,
		`WECHATPAY2-SHA256-RSA2048 mchid=1,nonce_str="n",timestamp="1",serial_no="s",signature="x"`,
		`WECHATPAY2-SHA256-RSA2048 mchid="1" nonce_str="n",timestamp="1",serial_no="s",signature="x"`,
		`WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="n",timestamp="1",serial_no="s",signature="x",`,
	} {
		if _, err := parseAuth(bad); err == nil {
			t.Errorf("parseAuth(%q) = nil error", bad)
		}
	}
	// The page's own layout, with line breaks between the fields, parses.
	if _, err := parseAuth("WECHATPAY2-SHA256-RSA2048 mchid=\"1900231671\",\n nonce_str=\"N\",timestamp=\"1567067659\",\n serial_no=\"S\",\n signature=\"X\""); err != nil {
		t.Errorf("parseAuth(page layout) = %v", err)
	}
}

// TestAPITableAgreesWithClient compares the sandbox's table, written from
// the pages, with the client's: a disagreement is a bug on one side.
func TestAPITableAgreesWithClient(t *testing.T) {
	specs := uploader.Specs()
	if len(specs) != len(apiDefs) {
		t.Fatalf("client knows %d APIs, sandbox %d", len(specs), len(apiDefs))
	}
	for i, spec := range specs {
		d := apiDefs[i]
		digest := d.digestKey
		if d.v2 {
			digest = "media_hash"
		}
		if string(spec.API) != d.name || spec.Path != d.path || (spec.Protocol == uploader.ProtocolV2) != d.v2 ||
			!slices.Equal(spec.Suffixes, d.suffixes) || spec.MaxSize != d.maxSize || spec.MaxFilename != d.maxName ||
			spec.DigestField != digest || spec.IDField != d.idField {
			t.Errorf("%s: client %+v, sandbox %+v", spec.ResourceType, spec, *d)
		}
		c := spec.Codes
		if c.System != d.system || c.RateLimit != d.rate || c.Param != d.param || c.Sign != d.sign || c.NoAuth != d.noAuth {
			t.Errorf("%s: codes differ: client %+v, sandbox %s %s %s %s %s", spec.ResourceType, c, d.system, d.rate, d.param, d.sign, d.noAuth)
		}
	}
}

// TestMagicAgreesWithClient checks both sides' magic-byte rules on samples
// of every format, and on samples that must fail.
func TestMagicAgreesWithClient(t *testing.T) {
	good := map[string][]byte{
		"jpg": []byte("\xff\xd8\xff\xe0\x00\x10JFIF"), "jpeg": []byte("\xff\xd8\xff\xdb"), "png": []byte("\x89PNG\r\n\x1a\n\x00"),
		"bmp": []byte("BM6\x00\x00"), "pdf": []byte("%PDF-1.7\n"),
		"mp4": []byte("\x00\x00\x00\x18ftypmp42"), "mov": []byte("\x00\x00\x00\x08wide\x00\x00"), "m4v": []byte("\x00\x00\x00\x18ftypM4V "),
		"f4v": []byte("\x00\x00\x00\x18ftypF4V "), "avi": []byte("RIFF\x10\x00\x00\x00AVI LIST"),
		"wmv":  []byte("\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9\x00\xaa\x00\x62\xce\x6c\x00"),
		"mpeg": []byte("\x00\x00\x01\xba\x44"), "mkv": []byte("\x1a\x45\xdf\xa3\x9f"), "flv": []byte("FLV\x01\x05"), "rmvb": []byte(".RMF\x00\x00"),
	}
	bad := [][]byte{[]byte("just text"), {}, []byte("RIFF\x10\x00\x00\x00WAVEfmt "), []byte("\x00\x00\x01\xb9"), []byte("GIF89a")}
	for suffix, sample := range good {
		for _, d := range apiDefs {
			if !slices.Contains(d.suffixes, suffix) {
				continue
			}
			spec, _ := uploader.SpecForAPI(uploader.API(d.name))
			name := "f." + suffix
			if got := contentMatches(suffix, sample); !got {
				t.Errorf("sandbox refuses a %s sample", suffix)
			}
			if err := uploader.CheckFile(spec, name, int64(len(sample)), sample); err != nil {
				t.Errorf("client refuses a %s sample for %s: %v", suffix, d.name, err)
			}
			for _, b := range bad {
				if len(b) == 0 {
					continue
				}
				cerr := uploader.CheckFile(spec, name, int64(len(b)), b)
				if contentMatches(suffix, b) || cerr == nil {
					t.Errorf("%s %q: sandbox %v, client %v; both must refuse", suffix, b, contentMatches(suffix, b), cerr)
				}
			}
		}
	}
	for _, s := range []string{"a.PNG", "a.b.jpg"} {
		if !validName(apiDefs[0], s) {
			t.Errorf("validName(%q) = false", s)
		}
	}
	for _, s := range []string{"png", ".png", "a.gif", "a.", "a/b.png"} {
		if validName(apiDefs[0], s) {
			t.Errorf("validName(%q) = true", s)
		}
	}
}

func uploadReq(api uploader.API, filename string, content []byte) uploader.Request {
	sum := sha256.Sum256(content)
	return uploader.Request{API: api, Filename: filename, Content: content, SHA256: hex.EncodeToString(sum[:])}
}

func v2Client(t *testing.T, creds MerchantCreds, url, signType string) *uploader.Client {
	t.Helper()
	hc, err := uploader.NewHTTPClientCert(creds.CAFile, creds.CertificateFile, creds.PrivateKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := uploader.NewClient(uploader.Config{MchID: creds.MchID, APIv2Key: creds.APIv2Key, V2SignType: signType,
		V2Endpoint: url, V2HTTPClient: hc, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestV2ThroughSandbox(t *testing.T) {
	s, creds := openSandbox(t, t.TempDir())
	srv := start(t, s)
	for i, typ := range []string{"", "MD5", "HMAC-SHA256"} {
		res, err := v2Client(t, creds, srv.URL(), typ).Upload(context.Background(), uploadReq(uploader.APIV2Image, "licence.jpeg", []byte(fmt.Sprintf("\xff\xd8\xff\xe0 v2 %d", i))))
		if err != nil || res.ID == "" {
			t.Fatalf("sign type %q: %+v, %v", typ, res, err)
		}
		if rec, ok := s.Lookup(res.ID); !ok || rec.API != "v2_media_image" || rec.MchID != creds.MchID {
			t.Errorf("Lookup = %+v, %v", rec, ok)
		}
	}
	if st := s.Stats(); st.ByAPI["v2_media_image"] != 3 || st.Uploads != 3 {
		t.Errorf("stats = %+v", st)
	}
	// A spoiled reply sign is caught by the client, and still counted.
	s.SetFaults(Faults{BadSig: 1})
	_, err := v2Client(t, creds, srv.URL(), "HMAC-SHA256").Upload(context.Background(), uploadReq(uploader.APIV2Image, "a.png", pngBytes("v2 badsig")))
	if !errors.Is(err, uploader.ErrVerify) {
		t.Errorf("spoiled v2 reply: %v", err)
	}
	if st := s.Stats(); st.Uploads != 4 {
		t.Errorf("stats = %+v", st)
	}
}

// v2raw posts a hand-made v2 form over TLS and returns the reply's fields.
type v2raw struct {
	fields   map[string]string // mch_id, media_hash, sign_type; sign is computed unless given
	key      string            // API v2 key for the sign
	filename string
	content  []byte
	noCert   bool
	certOf   MerchantCreds // whose client certificate to present
	method   string
}

func (r v2raw) send(t *testing.T, url string, creds MerchantCreds) (int, map[string]string) {
	t.Helper()
	if r.fields["sign"] == "" {
		// The sign computed the way the page says, by hand here.
		var keys []string
		for k, v := range r.fields {
			if v != "" {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		var b strings.Builder
		for _, k := range keys {
			b.WriteString(k + "=" + r.fields[k] + "&")
		}
		b.WriteString("key=" + r.key)
		sum := md5.Sum([]byte(b.String()))
		r.fields["sign"] = strings.ToUpper(hex.EncodeToString(sum[:]))
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, k := range []string{"mch_id", "media_hash", "sign_type", "sign"} {
		if v, ok := r.fields[k]; ok {
			mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile("media", r.filename)
	fw.Write(r.content)
	mw.Close()
	var hc *http.Client
	var err error
	if r.noCert {
		hc, err = uploader.NewHTTPClient(creds.CAFile)
	} else {
		hc, err = uploader.NewHTTPClientCert(creds.CAFile, r.certOf.CertificateFile, r.certOf.PrivateKeyFile)
	}
	if err != nil {
		t.Fatal(err)
	}
	if r.method == "" {
		r.method = http.MethodPost
	}
	req, _ := http.NewRequest(r.method, url+"/secapi/mch/uploadmedia", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	fields, err := uploader.ParseV2XML(raw)
	if err != nil {
		t.Fatalf("reply %q: %v", raw, err)
	}
	return resp.StatusCode, fields
}

func TestV2Refusals(t *testing.T) {
	s, creds := openSandbox(t, t.TempDir())
	other, err := s.RegisterMerchant("1900000002")
	if err != nil {
		t.Fatal(err)
	}
	srv := start(t, s)
	img := pngBytes("v2 refusal")
	md := func(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }
	valid := func() v2raw {
		return v2raw{fields: map[string]string{"mch_id": creds.MchID, "media_hash": md(img), "sign_type": "MD5"}, key: creds.APIv2Key,
			filename: "a.png", content: img, certOf: creds}
	}
	big := append(pngBytes("big"), make([]byte, 2<<20)...)
	for _, tt := range []struct {
		name       string
		mod        func(r *v2raw)
		status     int
		returnCode string
		errCode    string
		msg        string
	}{
		{"valid", func(r *v2raw) {}, 200, "SUCCESS", "", ""},
		{"GET", func(r *v2raw) { r.method = http.MethodGet }, 200, "FAIL", "INVALID_REQUEST", "GET method not supported"},
		{"no client certificate", func(r *v2raw) { r.noCert = true }, 200, "FAIL", "INVALID_REQUEST", "Certificate is required"},
		{"another merchant's certificate", func(r *v2raw) { r.certOf = other }, 200, "FAIL", "INVALID_REQUEST", "Certificate verification is failed"},
		{"sign with another key", func(r *v2raw) { r.key = other.APIv2Key }, 200, "FAIL", "SIGNERROR", "Signature validation failed"},
		{"unknown merchant", func(r *v2raw) { r.fields["mch_id"] = "1900009999" }, 200, "FAIL", "PARAM_ERROR", "merchant ID is wrong"},
		{"bad sign type", func(r *v2raw) { r.fields["sign_type"] = "SHA1" }, 200, "FAIL", "PARAM_ERROR", "sign_type"},
		{"no media_hash", func(r *v2raw) { delete(r.fields, "media_hash") }, 200, "FAIL", "PARAM_ERROR", "media_hash has invalid format"},
		{"wrong media_hash", func(r *v2raw) { r.fields["media_hash"] = md([]byte("other")) }, 200, "SUCCESS", "PARAM_ERROR", "Hash value error"},
		{"gif", func(r *v2raw) { r.filename = "a.gif" }, 200, "SUCCESS", "PARAM_ERROR", "image format is wrong"},
		{"text renamed png", func(r *v2raw) { r.content = []byte("text"); r.fields["media_hash"] = md(r.content) }, 200, "SUCCESS", "PARAM_ERROR", "image format is wrong"},
		{"too big", func(r *v2raw) { r.content = big; r.fields["media_hash"] = md(big) }, 200, "FAIL", "PARAM_ERROR", "less than 2M"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := valid()
			tt.mod(&r)
			status, f := r.send(t, srv.URL(), creds)
			if status != tt.status || f["return_code"] != tt.returnCode || f["err_code"] != tt.errCode || !strings.Contains(f["err_code_des"], tt.msg) {
				t.Fatalf("got %d %v", status, f)
			}
			if f["return_code"] == "SUCCESS" {
				// Business replies carry a sign over their own fields.
				want, _ := v2Sign(f, creds.APIv2Key, "MD5")
				if f["sign"] != want {
					t.Errorf("reply sign %s, want %s", f["sign"], want)
				}
			}
		})
	}
	// The rate limit and the daily quota answer 429 FREQUENCY_LIMITED.
	s.SetFaults(Faults{RateLimit: 1})
	r := valid()
	r.send(t, srv.URL(), creds)
	r = valid()
	if status, f := r.send(t, srv.URL(), creds); status != 429 || f["err_code"] != "FREQUENCY_LIMITED" {
		t.Errorf("rate limit: %d %v", status, f)
	}
	s.SetFaults(Faults{Quota: 1})
	r = valid()
	if status, f := r.send(t, srv.URL(), creds); status != 429 || f["err_code"] != "FREQUENCY_LIMITED" || !strings.Contains(f["err_code_des"], "quota") {
		t.Errorf("quota: %d %v", status, f)
	}
	s.SetFaults(Faults{P500: 1})
	r = valid()
	if status, f := r.send(t, srv.URL(), creds); status != 500 || f["err_code"] != "SYSTEMERROR" {
		t.Errorf("system error: %d %v", status, f)
	}
}

// TestPageErrorRows sends, to each v3 API, every error of its page a client
// can cause, and checks the page's status, code and message.
func TestPageErrorRows(t *testing.T) {
	s, creds := openSandbox(t, t.TempDir())
	otherKey, err := uploader.LoadPrivateKey(filepath.Join("..", "testdata", "merchant_test_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		name   string
		mod    func(r *raw)
		faults Faults
		status int
		code   string
		msg    string
	}
	video := []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")
	pdf := []byte("%PDF-1.7\n")
	jpg := []byte("\xff\xd8\xff\xe0 jpeg")
	for _, tt := range []struct {
		api      uploader.API
		filename string
		content  []byte
		rows     []row
	}{
		{uploader.APIMerchantImage, "a.png", pngBytes("rows"), []row{
			{"filename length", func(r *raw) { r.filename = strings.Repeat("a", 125) + ".png" }, Faults{}, 400, "PARAM_ERROR", "at most 128 characters"},
			{"format", func(r *raw) { r.content = []byte("text") }, Faults{}, 400, "PARAM_ERROR", "Image format error"},
			{"size", func(r *raw) { r.content = append(pngBytes("x"), make([]byte, 2<<20)...) }, Faults{}, 400, "PARAM_ERROR", "FIle exceed the size limit"},
			{"no auth", func(r *raw) { r.mchid = "1900009999" }, Faults{}, 403, "NO_AUTH", "no permission"},
			{"frequency", nil, Faults{P429: 1}, 429, "FREQUENCY_LIMIT_EXCEED", "too fast"},
			{"system", nil, Faults{P500: 1}, 500, "SYSTEMERROR", "System error"},
			{"sign", func(r *raw) { r.key = otherKey }, Faults{}, 401, "SIGN_ERROR", "signature does not verify"},
		}},
		{uploader.APIMerchantVideo, "clip.mp4", video, []row{
			{"filename", func(r *raw) { r.filename = "clip.gif" }, Faults{}, 400, "PARAM_ERROR", "视频文件名称不正确"},
			{"filename length", func(r *raw) { r.filename = strings.Repeat("视", 125) + ".mp4" }, Faults{}, 400, "PARAM_ERROR", "视频文件名称不正确"},
			{"not a video", func(r *raw) { r.content = pngBytes("x") }, Faults{}, 400, "PARAM_ERROR", "文件二进制内容不是视频"},
			{"sha256", func(r *raw) { r.meta = uploader.MetaJSON("sha256", "clip.mp4", strings.Repeat("0", 64)) }, Faults{}, 400, "PARAM_ERROR", "视频sha256值有误"},
			{"size", func(r *raw) { r.content = append(append([]byte{}, video...), make([]byte, 5<<20)...) }, Faults{}, 400, "PARAM_ERROR", "文件大小不能超过5M"},
			{"empty", func(r *raw) { r.content = []byte{} }, Faults{}, 400, "PARAM_ERROR", "文件为空"},
			{"frequency", nil, Faults{RateLimit: 0.001}, 429, "FREQUENCY_LIMIT_EXCEED", "too fast"},
			{"no auth", func(r *raw) { r.mchid = "1900009999" }, Faults{}, 403, "NO_AUTH", ""},
			{"system", nil, Faults{P500: 1}, 500, "SYSTEM_ERROR", ""},
		}},
		{uploader.APIGlobalFile, "licence.pdf", pdf, []row{
			{"size", func(r *raw) { r.content = append(append([]byte{}, pdf...), make([]byte, 5<<20)...) }, Faults{}, 400, "INVALID_REQUEST", "cannot exceed 5 M"},
			{"digest", func(r *raw) { r.meta = uploader.MetaJSON("digest", "licence.pdf", strings.Repeat("0", 64)) }, Faults{}, 400, "INVALID_REQUEST", "(digest)"},
			{"sha256 key instead of digest", func(r *raw) {
				sum := sha256.Sum256(r.content)
				r.meta = uploader.MetaJSON("sha256", "licence.pdf", hex.EncodeToString(sum[:]))
			}, Faults{}, 400, "INVALID_REQUEST", `"digest"`},
			{"file type", func(r *raw) { r.filename = "licence.docx" }, Faults{}, 400, "INVALID_REQUEST", "not supported"},
			{"filename length", func(r *raw) { r.filename = strings.Repeat("a", 253) + ".pdf" }, Faults{}, 400, "INVALID_REQUEST", "not supported"},
			{"content type", func(r *raw) { r.content = []byte("not a pdf") }, Faults{}, 400, "INVALID_REQUEST", "not supported"},
			{"frequency", nil, Faults{P429: 1}, 429, "RATELIMIT_EXCEEDED", ""},
		}},
		{uploader.APICouponImage, "banner.jpg", jpg, []row{
			{"param", func(r *raw) { r.filename = strings.Repeat("b", 148) + ".jpg" }, Faults{}, 400, "PARAM_ERROR", "不超过150个字符"},
			{"size", func(r *raw) { r.content = append(append([]byte{}, jpg...), make([]byte, 2<<20)...) }, Faults{}, 400, "PARAM_ERROR", "不能超过2M"},
			{"invalid request", func(r *raw) { r.contentType = "application/json" }, Faults{}, 400, "INVALID_REQUEST", "multipart"},
			{"sign", func(r *raw) { r.serial = strings.Repeat("B", 40) }, Faults{}, 401, "SIGN_ERROR", "serial_no"},
			{"no auth", func(r *raw) { r.mchid = "1900009999" }, Faults{}, 403, "NO_AUTH", ""},
			{"ratelimit", nil, Faults{P429: 1}, 429, "RATELIMIT_EXCEEDED", ""},
			{"system", nil, Faults{P500: 1}, 500, "SYSTEM_ERROR", ""},
		}},
		{uploader.APIMarketingImage, "voucher.png", pngBytes("rows"), []row{
			{"suffix", func(r *raw) { r.filename = "voucher.gif" }, Faults{}, 400, "PARAM_ERROR", "必须以JPG、BMP、PNG为后缀"},
			{"filename length", func(r *raw) { r.filename = strings.Repeat("券", 125) + ".png" }, Faults{}, 400, "PARAM_ERROR", "不超过128个字符"},
			{"format", func(r *raw) { r.content = []byte("not an image") }, Faults{}, 400, "PARAM_ERROR", "只支持JPG、BMP、PNG格式"},
			{"sha256", func(r *raw) { r.meta = uploader.MetaJSON("sha256", "voucher.png", strings.Repeat("0", 64)) }, Faults{}, 400, "PARAM_ERROR", "sha256"},
			{"size", func(r *raw) { r.content = append(pngBytes("x"), make([]byte, 2<<20)...) }, Faults{}, 400, "PARAM_ERROR", "不能超过2M"},
			{"invalid request", func(r *raw) { r.contentType = "application/json" }, Faults{}, 400, "INVALID_REQUEST", "multipart"},
			{"sign", func(r *raw) { r.key = otherKey }, Faults{}, 401, "SIGN_ERROR", "signature does not verify"},
			{"no auth", func(r *raw) { r.mchid = "1900009999" }, Faults{}, 403, "NO_AUTH", "no permission"},
			{"ratelimit", nil, Faults{P429: 1}, 429, "RATELIMIT_EXCEEDED", ""},
			{"system", nil, Faults{P500: 1}, 500, "SYSTEM_ERROR", ""},
		}},
		{uploader.APIComplaintImage, "evidence.jpg", jpg, []row{
			{"suffix", func(r *raw) { r.filename = "evidence.pdf" }, Faults{}, 400, "PARAM_ERROR", "必须以jpg、png、bmp为后缀"},
			{"filename length", func(r *raw) { r.filename = strings.Repeat("e", 125) + ".jpg" }, Faults{}, 400, "PARAM_ERROR", "不超过128个字符"},
			{"format", func(r *raw) { r.content = pngBytes("x") }, Faults{}, 400, "PARAM_ERROR", "只支持jpg、png、bmp格式"},
			{"empty", func(r *raw) { r.content = []byte{} }, Faults{}, 400, "PARAM_ERROR", "图片文件为空"},
			{"size", func(r *raw) { r.content = append(append([]byte{}, jpg...), make([]byte, 2<<20)...) }, Faults{}, 400, "PARAM_ERROR", "不能超过2M"},
			{"invalid request", func(r *raw) { r.contentType = "text/plain" }, Faults{}, 400, "INVALID_REQUEST", "multipart"},
			{"sign", func(r *raw) { r.serial = strings.Repeat("C", 40) }, Faults{}, 401, "SIGN_ERROR", "serial_no"},
			{"no auth", func(r *raw) { r.mchid = "1900009999" }, Faults{}, 403, "NO_AUTH", ""},
			{"ratelimit", nil, Faults{P429: 1}, 429, "RATELIMIT_EXCEEDED", ""},
			{"system", nil, Faults{P500: 1}, 500, "SYSTEM_ERROR", ""},
		}},
	} {
		for _, rw := range tt.rows {
			t.Run(string(tt.api)+"/"+rw.name, func(t *testing.T) {
				s.SetFaults(rw.faults)
				defer s.SetFaults(Faults{})
				r := validRaw(t, creds)
				r.api, r.filename, r.content = tt.api, tt.filename, tt.content
				if rw.faults.RateLimit > 0 {
					r.send(t, s) // takes the only token
					r = validRaw(t, creds)
					r.api, r.filename, r.content = tt.api, tt.filename, tt.content
				}
				if rw.mod != nil {
					rw.mod(&r)
				}
				w, reply := r.send(t, s)
				if w.Code != rw.status || reply["code"] != rw.code || !strings.Contains(reply["message"], rw.msg) {
					t.Fatalf("got %d %s, want %d %s containing %q", w.Code, w.Body.String(), rw.status, rw.code, rw.msg)
				}
			})
		}
	}
}

func TestDailyQuota(t *testing.T) {
	s, creds := openSandbox(t, t.TempDir())
	srv := start(t, s)
	s.SetFaults(Faults{Quota: 1})
	c := newClient(t, creds, srv.URL(), nil)
	video := func(tag string) uploader.Request {
		return uploadReq(uploader.APIMerchantVideo, tag+".mp4", append([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00"), tag...))
	}
	if _, err := c.Upload(context.Background(), video("one")); err != nil {
		t.Fatal(err)
	}
	_, err := c.Upload(context.Background(), video("two"))
	var apiErr *uploader.APIError
	if !errors.Is(err, uploader.ErrDailyQuota) || !errors.As(err, &apiErr) || apiErr.StatusCode != 429 ||
		apiErr.Code != "FREQUENCY_LIMIT_EXCEED" || apiErr.Message != "当天上传文件数已达上限" {
		t.Fatalf("second video = %v", err)
	}
	res, err := c.Upload(context.Background(), video("three"))
	if !errors.Is(err, uploader.ErrDailyQuota) || res.Attempts != 0 {
		t.Fatalf("third video = %+v, %v; want a quota error without a request", res, err)
	}
	// Another API goes on.
	if _, err := c.Upload(context.Background(), uploadReq(uploader.APIMerchantImage, "a.png", pngBytes("after quota"))); err != nil {
		t.Fatalf("image after the video quota: %v", err)
	}
	if st := s.Stats(); st.ByAPI["merchant_media_video"] != 1 || st.Uploads != 2 {
		t.Errorf("stats = %+v", st)
	}
}

func TestPlatformCertificateMode(t *testing.T) {
	s, creds := openSandbox(t, t.TempDir())
	srv := start(t, s)
	serial, err := uploader.CertificateSerial(creds.PlatformCertificateFile)
	if err != nil || serial != s.PlatformCertificateSerial() || serial == creds.PlatformPublicKeyID {
		t.Fatalf("platform certificate serial = %q, %v", serial, err)
	}
	pub, err := uploader.LoadPublicKey(creds.PlatformCertificateFile)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, creds, srv.URL(), func(cfg *uploader.Config) { cfg.PlatformKeyID, cfg.PlatformKey = serial, pub })
	if _, err := c.Upload(context.Background(), uploadReq(uploader.APICouponImage, "b.png", pngBytes("cert mode"))); err != nil {
		t.Fatalf("upload verifying with the platform certificate: %v", err)
	}
	// A client expecting a certificate serial refuses a reply under the key ID.
	c2 := newClient(t, creds, srv.URL(), func(cfg *uploader.Config) { cfg.PlatformKeyID = strings.Repeat("C", 40) })
	if _, err := c2.Upload(context.Background(), uploadReq(uploader.APIMerchantImage, "c.png", pngBytes("wrong serial"))); err == nil {
		t.Error("upload under an unknown platform serial succeeded")
	}
}
