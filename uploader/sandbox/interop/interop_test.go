package interop

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxmedia/wxmedia/uploader"
	"github.com/wxmedia/wxmedia/uploader/sandbox"
)

// Fixed inputs of the signing comparison: any key, timestamp and nonce do;
// these are the seed page's example values.
const (
	vectorTimestamp = 1566987169
	vectorNonce     = "12ced2db6f0193dda91ba86224ea1cd8"
)

// Test files: the smallest content each API's magic-byte rule accepts.
var testFiles = map[string][]byte{
	"logo.png":    []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR interop"),
	"banner.jpg":  []byte("\xff\xd8\xff\xe0\x00\x10JFIF interop"),
	"clip.mp4":    []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom interop"),
	"licence.pdf": []byte("%PDF-1.7\n% interop\n"),
}

// The v3 APIs of the seeds, and the file each SDK uploads to it.
var v3APIs = []struct {
	api  uploader.API
	file string
}{
	{uploader.APIMerchantImage, "logo.png"},
	{uploader.APIMerchantVideo, "clip.mp4"},
	{uploader.APIGlobalFile, "licence.pdf"},
	{uploader.APICouponImage, "banner.jpg"},
}

type vector struct {
	ID        string `json:"id"`
	Path      string `json:"path"`
	Timestamp int64  `json:"timestamp"`
	Nonce     string `json:"nonce"`
	Meta      string `json:"meta"`
	wxmedia   string // wxmedia's Authorization header
}

type v2Vector struct {
	Fields   map[string]string `json:"fields"` // the signed fields, sign excluded
	SignType string            `json:"sign_type"`
	wxmedia  string
}

type report struct {
	Calls []struct {
		SDK, Call, API, ID, Error string
		OK, Verified              bool
		Status                    int
	} `json:"calls"`
	Vectors []struct {
		SDK, Variant, ID, Path, Authorization string
	} `json:"vectors"`
	V2Signs []struct {
		SDK      string `json:"sdk"`
		SignType string `json:"sign_type"`
		Sign     string `json:"sign"`
	} `json:"v2_signs"`
	Shipped struct {
		UploadImages struct {
			Method           string   `json:"method"`
			URL              string   `json:"url"`
			ContentType      string   `json:"content_type"`
			BodyKeys         []string `json:"body_keys"`
			HasAuthorization bool     `json:"has_authorization"`
		} `json:"node_v3_upload_images"`
		PayRequestUpload struct {
			Returned    string `json:"returned"`
			DirectError string `json:"direct_error"`
		} `json:"node_v3_pay_request_upload"`
		AxiosDocumented  shippedCall `json:"axios_documented"`
		AxiosWithHeaders shippedCall `json:"axios_with getHeaders"`
	} `json:"shipped"`
}

type shippedCall struct {
	Status int    `json:"status"`
	Error  string `json:"error"`
}

// capture is a RoundTripper that keeps the requests wxmedia's client builds
// and answers each with a final 400, so nothing is sent anywhere.
type capture struct {
	mu     sync.Mutex
	header []http.Header
	body   [][]byte
}

func (c *capture) RoundTrip(r *http.Request) (*http.Response, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.header, c.body = append(c.header, r.Header.Clone()), append(c.body, b)
	c.mu.Unlock()
	return &http.Response{StatusCode: http.StatusBadRequest, Request: r,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   io.NopCloser(strings.NewReader(`{"code":"PARAM_ERROR","message":"captured"}`))}, nil
}

// parts returns the text of each form-data part of a captured body by name.
func parts(t *testing.T, h http.Header, body []byte) map[string]string {
	t.Helper()
	_, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		out[p.FormName()] = string(b)
	}
}

// wxmediaRequests builds, with wxmedia's own client and a fixed clock and
// nonce, the request of each v3 API and the v2 request of each sign type.
func wxmediaRequests(t *testing.T, creds sandbox.MerchantCreds) ([]vector, []v2Vector) {
	key, err := uploader.LoadPrivateKey(creds.PrivateKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := uploader.LoadPublicKey(creds.PlatformPublicKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	newClient := func(signType string) (*uploader.Client, *capture) {
		c := &capture{}
		hc := &http.Client{Transport: c}
		cl, err := uploader.NewClient(uploader.Config{
			MchID: creds.MchID, SerialNo: creds.SerialNo, PrivateKey: key,
			PlatformKeyID: creds.PlatformPublicKeyID, PlatformKey: pub,
			Endpoint: "https://127.0.0.1:1", HTTPClient: hc,
			APIv2Key: creds.APIv2Key, V2SignType: signType, V2Endpoint: "https://127.0.0.1:1", V2HTTPClient: hc,
			Now:   func() time.Time { return time.Unix(vectorTimestamp, 0) },
			Nonce: func() string { return vectorNonce },
		})
		if err != nil {
			t.Fatal(err)
		}
		return cl, c
	}
	var vs []vector
	add := func(api uploader.API, filename, file string) {
		cl, c := newClient("")
		content := testFiles[file]
		sum := sha256.Sum256(content)
		_, _ = cl.Upload(context.Background(), uploader.Request{API: api, Filename: filename, Content: content, SHA256: hex.EncodeToString(sum[:])})
		if len(c.body) == 0 {
			t.Fatalf("%s %s: wxmedia's client sent nothing", api, filename)
		}
		spec, _ := uploader.SpecForAPI(api)
		vs = append(vs, vector{ID: fmt.Sprintf("%s %s", api, filename), Path: spec.Path, Timestamp: vectorTimestamp, Nonce: vectorNonce,
			Meta: parts(t, c.header[0], c.body[0])["meta"], wxmedia: c.header[0].Get("Authorization")})
	}
	for _, a := range v3APIs {
		add(a.api, a.file, a.file)
	}
	// Filenames whose JSON differs between encoders that escape HTML or
	// non-ASCII text and those that do not (wxmedia and both SDKs escape
	// neither).
	add(uploader.APIMerchantImage, "商品图片 1.png", "logo.png")
	add(uploader.APIMerchantImage, "logo&<co>.png", "logo.png")
	var v2 []v2Vector
	for _, st := range []string{uploader.SignTypeMD5, uploader.SignTypeHMACSHA256} {
		cl, c := newClient(st)
		content := testFiles["banner.jpg"]
		sum := sha256.Sum256(content)
		_, _ = cl.Upload(context.Background(), uploader.Request{API: uploader.APIV2Image, Filename: "banner.jpg", Content: content, SHA256: hex.EncodeToString(sum[:])})
		if len(c.body) == 0 {
			t.Fatalf("v2 %s: wxmedia's client sent nothing", st)
		}
		f := parts(t, c.header[0], c.body[0])
		sign := f["sign"]
		delete(f, "sign")
		delete(f, "media")
		v2 = append(v2, v2Vector{Fields: f, SignType: st, wxmedia: sign})
	}
	return vs, v2
}

// TestPublishedSDKs uploads each API's media to the sandbox with
// wechatpay-axios-plugin 0.9.6 and wechatpay-node-v3 2.2.1, verifies every
// reply with the SDK's own verifier, and compares the SDKs' Authorization
// headers and v2 signs with wxmedia's for the same inputs.
func TestPublishedSDKs(t *testing.T) {
	if os.Getenv("WXMEDIA_INTEROP") == "" {
		t.Skip("WXMEDIA_INTEROP is not set: the published-SDK suite is off (.ci/run sets it after npm ci in uploader/sandbox/interop/testdata)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the published-SDK suite needs node and npm")
	}
	jsDir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"wechatpay-axios-plugin", "wechatpay-node-v3"} {
		if _, err := os.Stat(filepath.Join(jsDir, "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("%s is not installed: run `npm ci` in %s", pkg, jsDir)
		}
	}

	s, err := sandbox.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	creds, err := s.RegisterMerchant("1900000001")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	work := t.TempDir()
	files := map[string]string{}
	for name, content := range testFiles {
		p := filepath.Join(work, name)
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
		files[strings.TrimPrefix(filepath.Ext(name), ".")] = p
	}
	vectors, v2vectors := wxmediaRequests(t, creds)
	in, _ := json.Marshal(map[string]any{
		"url": srv.URL(), "mchid": creds.MchID, "serial": creds.SerialNo,
		"key_file": creds.PrivateKeyFile, "cert_file": creds.CertificateFile,
		"platform_key_id": creds.PlatformPublicKeyID, "platform_pub_file": creds.PlatformPublicKeyFile,
		"api_v2_key": creds.APIv2Key, "files": files, "vectors": vectors, "v2_vectors": v2vectors,
	})
	inFile := filepath.Join(work, "input.json")
	if err := os.WriteFile(inFile, in, 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(jsDir, "sdk.js"), inFile)
	cmd.Dir = jsDir
	cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+creds.CAFile)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("node sdk.js: %v\nstderr:\n%s", err, stderr.String())
	}
	t.Logf("node sdk.js ran in %v", time.Since(start).Round(time.Millisecond))
	var rep report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("node sdk.js output: %v\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}

	t.Run("Authorization", func(t *testing.T) { checkAuthorization(t, creds, vectors, rep) })
	t.Run("v2 sign", func(t *testing.T) {
		if len(rep.V2Signs) != len(v2vectors) {
			t.Fatalf("%d v2 signs from the SDKs, want %d", len(rep.V2Signs), len(v2vectors))
		}
		hash := md5.Sum(testFiles["banner.jpg"])
		for i, v := range v2vectors {
			if v.Fields["media_hash"] != hex.EncodeToString(hash[:]) || v.Fields["mch_id"] != creds.MchID {
				t.Errorf("wxmedia's v2 fields = %v", v.Fields)
			}
			if got := rep.V2Signs[i]; got.SignType != v.SignType || got.Sign != v.wxmedia {
				t.Errorf("%s %s sign = %q, wxmedia's = %q (fields %v)", got.SDK, v.SignType, got.Sign, v.wxmedia, v.Fields)
			}
		}
	})
	t.Run("uploads", func(t *testing.T) { checkUploads(t, s, rep) })
	t.Run("node-v3 upload_images as shipped", func(t *testing.T) { checkShipped(t, rep) })
	t.Run("axios-plugin documented upload as shipped", func(t *testing.T) { checkAxiosShipped(t, rep) })
}

func checkAuthorization(t *testing.T, creds sandbox.MerchantCreds, vectors []vector, rep report) {
	want := map[string]vector{}
	for _, v := range vectors {
		want[v.ID] = v
	}
	seen := map[string]int{}
	for _, got := range rep.Vectors {
		v, ok := want[got.ID]
		if !ok || v.Path != got.Path {
			t.Errorf("%s: a header for unknown vector %q %s", got.SDK, got.ID, got.Path)
			continue
		}
		seen[got.SDK+"/"+got.Variant]++
		wx := v.wxmedia
		switch {
		case got.SDK == "wechatpay-node-v3" && got.Variant == "serial_no given":
			// Byte for byte.
		case got.SDK == "wechatpay-node-v3":
			// The documented constructor takes the serial from the
			// certificate, in lowercase hex; the rest byte for byte.
			wx = strings.Replace(wx, `serial_no="`+creds.SerialNo+`"`, `serial_no="`+strings.ToLower(creds.SerialNo)+`"`, 1)
		case got.SDK == "wechatpay-axios-plugin":
			// The plugin writes the same five fields in another order
			// (mchid, serial_no, timestamp, nonce_str, signature): the same
			// values byte for byte, in its order.
			f, err := uploader.ParseAuthorization(v.wxmedia)
			if err != nil {
				t.Fatal(err)
			}
			wx = fmt.Sprintf(`%s mchid="%s",serial_no="%s",timestamp="%s",nonce_str="%s",signature="%s"`,
				uploader.AuthScheme, f["mchid"], f["serial_no"], f["timestamp"], f["nonce_str"], f["signature"])
		}
		if got.Authorization != wx {
			t.Errorf("%s (%s) %s:\n SDK:     %s\n wxmedia: %s", got.SDK, got.Variant, got.ID, got.Authorization, wx)
		}
	}
	for _, k := range []string{"wechatpay-axios-plugin/requestInterceptor", "wechatpay-node-v3/serial_no given", "wechatpay-node-v3/documented constructor"} {
		if seen[k] != len(vectors) {
			t.Errorf("%s: %d headers compared, want %d", k, seen[k], len(vectors))
		}
	}
}

func checkUploads(t *testing.T, s *sandbox.Sandbox, rep report) {
	wantCalls := map[string]bool{}
	for _, a := range v3APIs {
		spec, _ := uploader.SpecForAPI(a.api)
		wantCalls["wechatpay-axios-plugin v3 "+spec.Path] = true
		wantCalls["wechatpay-axios-plugin form-data v3 "+spec.Path] = true
		wantCalls["wechatpay-node-v3 v3 "+spec.Path] = true
	}
	wantCalls["wechatpay-axios-plugin v2.secapi.mch.uploadmedia MD5"] = true
	wantCalls["wechatpay-axios-plugin v2.secapi.mch.uploadmedia HMAC-SHA256"] = true
	issued := 0
	for _, c := range rep.Calls {
		name := c.SDK + " " + c.Call
		if strings.HasPrefix(c.Call, "control:") {
			// A verifier given another platform key must refuse the reply.
			if c.Verified {
				t.Errorf("%s: the SDK's verifier accepted a reply under the wrong platform key", name)
			}
			if c.Status == 200 {
				issued++
			}
			continue
		}
		if !wantCalls[name] {
			t.Errorf("unexpected call %s", name)
			continue
		}
		delete(wantCalls, name)
		if !c.OK || !c.Verified {
			t.Errorf("%s: ok=%v verified=%v status=%d %s", name, c.OK, c.Verified, c.Status, c.Error)
			continue
		}
		issued++
		rec, ok := s.Lookup(c.ID)
		if !ok || rec.API != c.API || rec.MchID != "1900000001" {
			t.Errorf("%s: the sandbox has no record of %q for %s: %+v", name, c.ID, c.API, rec)
			continue
		}
		name2 := map[uploader.API]string{}
		for _, a := range v3APIs {
			name2[a.api] = a.file
		}
		name2[uploader.APIV2Image] = "banner.jpg"
		file := name2[uploader.API(c.API)]
		sum := sha256.Sum256(testFiles[file])
		if rec.SHA256 != hex.EncodeToString(sum[:]) || rec.Filename != file {
			t.Errorf("%s: recorded %s %s, want %s %x", name, rec.Filename, rec.SHA256, file, sum)
		}
		t.Logf("pass: %s -> %s", name, c.ID)
	}
	for name := range wantCalls {
		t.Errorf("%s: not reported", name)
	}
	if st := s.Stats(); st.Uploads != issued {
		t.Errorf("sandbox counted %d uploads, the SDKs saw %d identifiers issued", st.Uploads, issued)
	}
}

// checkShipped records how wechatpay-node-v3 2.2.1's only upload helper is
// broken as shipped (the suite above tests what it was meant to send).
func checkShipped(t *testing.T, rep report) {
	u := rep.Shipped.UploadImages
	// upload_images posts to a path without a host (every other method of
	// Pay prefixes https://api.mch.weixin.qq.com), through httpService.post,
	// which sends its params as a JSON body, under a multipart Content-Type
	// with a boundary that body never has.
	if u.Method != "httpService.post" || strings.HasPrefix(u.URL, "https://") || u.ContentType != "multipart/form-data;boundary=boundary" ||
		strings.Join(u.BodyKeys, ",") != "fileinfo,pic_buffer" || !u.HasAuthorization {
		t.Errorf("upload_images no longer behaves as 2.2.1 shipped (fixed upstream?): %+v", u)
	}
	// PayRequest.upload, the multipart builder upload_images was meant to
	// use, calls .send() then .attach(): superagent refuses before sending,
	// and the helper's catch loses the message.
	p := rep.Shipped.PayRequestUpload
	if p.Returned != `{"errRaw":{}}` || !strings.Contains(p.DirectError, "can't mix .send() and .attach()") {
		t.Errorf("PayRequest.upload as shipped: %+v", p)
	}
}

// checkAxiosShipped records how wechatpay-axios-plugin 0.9.6's documented
// upload, wxpay.v3.merchant.media.upload.post(media), fails as shipped: the
// instance's default Content-Type application/json makes axios serialise
// the Multipart as JSON, which the sandbox refuses as the page's layout
// requires multipart/form-data. With media.getHeaders(), axios re-encodes
// the Multipart as its own FormData and sends meta as
// application/octet-stream, which the page's layout (meta is
// application/json) does not allow. The suite uploads the Multipart's own
// bytes instead, as the plugin allows for any body, and the form its README
// shows (the form-data package with meta and getHeaders()), which works.
func checkAxiosShipped(t *testing.T, rep report) {
	d, h := rep.Shipped.AxiosDocumented, rep.Shipped.AxiosWithHeaders
	if d.Status != 400 || !strings.Contains(d.Error, "must be multipart/form-data") {
		t.Errorf("documented .post(media): %+v", d)
	}
	if h.Status != 400 || !strings.Contains(h.Error, `meta has invalid format: its Content-Type \"application/octet-stream\"`) {
		t.Errorf(".post(media, {headers: media.getHeaders()}): %+v", h)
	}
}
