package sandbox

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wxmedia/wxmedia/uploader"
)

// certOnly configures a client with the API v3 key and no platform key.
func certOnly(creds MerchantCreds, dir string) func(*uploader.Config) {
	return func(cfg *uploader.Config) {
		cfg.PlatformKeyID, cfg.PlatformKey, cfg.APIv3Key = "", nil, creds.APIv3Key
		cfg.CertificateCache = uploader.FileCertificateCache{Path: filepath.Join(dir, "certs.json"), Key: "sandbox/" + creds.MchID}
	}
}

// TestCertificatesThroughSandbox: the client downloads and decrypts the
// sandbox's certificates (two implementations of the page, one each side),
// verifies with them, and after a rotation refreshes once.
func TestCertificatesThroughSandbox(t *testing.T) {
	s, creds := openSandbox(t, t.TempDir())
	srv := start(t, s)
	if len(creds.APIv3Key) != 32 {
		t.Fatalf("api_v3_key %q is not 32 characters", creds.APIv3Key)
	}
	cache := t.TempDir()
	c := newClient(t, creds, srv.URL(), certOnly(creds, cache))
	if _, err := c.Upload(context.Background(), request(uploader.APIMarketingImage, "a.png", pngBytes("cert a"))); err != nil {
		t.Fatalf("upload verifying with downloaded certificates: %v", err)
	}
	if st := s.Stats(); st.CertificateDownloads != 1 || st.Uploads != 1 {
		t.Fatalf("stats = %+v, want 1 download, 1 upload", st)
	}
	first := s.PlatformCertificateSerials()
	rotated, err := s.RotatePlatformCertificate()
	if err != nil {
		t.Fatal(err)
	}
	if got := s.PlatformCertificateSerials(); len(got) != 2 || got[0] != first[0] || got[1] != rotated {
		t.Fatalf("serials after rotation = %v, want [%s %s]", got, first[0], rotated)
	}
	// The next run: cached certificate, reply under the new one.
	c2 := newClient(t, creds, srv.URL(), certOnly(creds, cache))
	for i := range 3 {
		if _, err := c2.Upload(context.Background(), request(uploader.APIComplaintImage, "b"+strconv.Itoa(i)+".png", pngBytes("after rotation "+strconv.Itoa(i)))); err != nil {
			t.Fatalf("upload after rotation: %v", err)
		}
	}
	if st := s.Stats(); st.CertificateDownloads != 2 || st.Uploads != 4 {
		t.Fatalf("stats = %+v, want 2 downloads (one refresh), 4 uploads", st)
	}
	// A reopened world still has both certificates and the merchant's key.
	s.Close()
	s2, creds2 := openSandbox(t, s.Dir())
	if got := s2.PlatformCertificateSerials(); len(got) != 2 || got[1] != rotated || creds2.APIv3Key != creds.APIv3Key {
		t.Fatalf("reopened: serials %v, api_v3_key kept %v", got, creds2.APIv3Key == creds.APIv3Key)
	}
}

// TestSignWithCertificateFault: a merchant in migration (public key and
// API v3 key) verifies replies signed with either.
func TestSignWithCertificateFault(t *testing.T) {
	s, creds := openSandbox(t, t.TempDir())
	srv := start(t, s)
	c := newClient(t, creds, srv.URL(), func(cfg *uploader.Config) { cfg.APIv3Key = creds.APIv3Key })
	if _, err := c.Upload(context.Background(), request(uploader.APIMerchantImage, "a.png", pngBytes("by key"))); err != nil {
		t.Fatal(err)
	}
	f, err := ParseFaults("sign=certificate")
	if err != nil || f.Sign != "certificate" || f.String() != "sign=certificate" {
		t.Fatalf("ParseFaults(sign=certificate) = %+v, %v", f, err)
	}
	s.SetFaults(f)
	if _, err := c.Upload(context.Background(), request(uploader.APIMerchantImage, "b.png", pngBytes("by certificate"))); err != nil {
		t.Fatalf("reply signed with the certificate: %v", err)
	}
	if st := s.Stats(); st.CertificateDownloads != 1 {
		t.Fatalf("stats = %+v", st)
	}
	// Without the API v3 key, such a reply records nothing.
	plain := newClient(t, creds, srv.URL(), nil)
	if _, err := plain.Upload(context.Background(), request(uploader.APIMerchantImage, "c.png", pngBytes("no v3 key"))); !errors.Is(err, uploader.ErrVerify) {
		t.Fatalf("upload without api_v3_key = %v, want ErrVerify", err)
	}
	if _, err := ParseFaults("sign=both"); err == nil {
		t.Error("ParseFaults(sign=both) succeeded")
	}
	// A reply signed by a certificate the download does not list records
	// nothing, after one download.
	unknown, err := ParseFaults("sign=unknown")
	if err != nil || unknown.String() != "sign=unknown" {
		t.Fatalf("ParseFaults(sign=unknown) = %+v, %v", unknown, err)
	}
	s.SetFaults(unknown)
	before := s.Stats()
	c3 := newClient(t, creds, srv.URL(), func(cfg *uploader.Config) { cfg.APIv3Key = creds.APIv3Key })
	for i := range 2 {
		res, err := c3.Upload(context.Background(), request(uploader.APIMerchantImage, "u"+strconv.Itoa(i)+".png", pngBytes("unknown "+strconv.Itoa(i))))
		if !errors.Is(err, uploader.ErrVerify) || res.ID != "" {
			t.Fatalf("reply signed by an unlisted certificate: %+v, %v", res, err)
		}
	}
	if st := s.Stats(); st.CertificateDownloads != before.CertificateDownloads+1 || st.Uploads != before.Uploads+2 {
		t.Fatalf("stats %+v after %+v: want one more download, two more uploads", st, before)
	}
}

// TestCertificatesRequestChecks: GET /v3/certificates is signed like any
// v3 request, over an empty body.
func TestCertificatesRequestChecks(t *testing.T) {
	s, creds := openSandbox(t, t.TempDir())
	key, err := uploader.LoadPrivateKey(creds.PrivateKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	other, err := uploader.LoadPrivateKey(filepath.Join("..", "testdata", "merchant_test_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	send := func(method, mchid string, signWith *rsa.PrivateKey, msgMethod string) *httptest.ResponseRecorder {
		ts := time.Now().Unix()
		nonce := randomHex(16)
		k := key
		if signWith != nil {
			k = signWith
		}
		sig, err := uploader.Sign(k, uploader.SignatureMessage(msgMethod, "/v3/certificates", ts, nonce, nil))
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(method, "https://sandbox.test/v3/certificates", nil)
		r.Header.Set("Authorization", uploader.AuthorizationHeader(mchid, nonce, ts, creds.SerialNo, sig))
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		return w
	}
	code := func(w *httptest.ResponseRecorder) string {
		var v struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(w.Body.Bytes(), &v)
		return v.Code
	}
	if w := send(http.MethodGet, creds.MchID, nil, http.MethodGet); w.Code != 200 || !strings.Contains(w.Body.String(), `"AEAD_AES_256_GCM"`) ||
		w.Header().Get("Wechatpay-Serial") != s.PlatformCertificateSerial() || strings.Contains(w.Body.String(), "CERTIFICATE") {
		t.Fatalf("good request: %d %s (serial %s)", w.Code, w.Body, w.Header().Get("Wechatpay-Serial"))
	}
	if w := send(http.MethodGet, creds.MchID, other, http.MethodGet); w.Code != 401 || code(w) != "SIGN_ERROR" {
		t.Errorf("signed with another key: %d %s", w.Code, w.Body)
	}
	if w := send(http.MethodGet, creds.MchID, nil, http.MethodPost); w.Code != 401 {
		t.Errorf("string-to-sign with POST: %d %s", w.Code, w.Body)
	}
	if w := send(http.MethodGet, "1900009999", nil, http.MethodGet); w.Code != 403 || code(w) != "NO_AUTH" {
		t.Errorf("unknown merchant: %d %s", w.Code, w.Body)
	}
	if w := send(http.MethodPost, creds.MchID, nil, http.MethodPost); w.Code != 405 {
		t.Errorf("POST: %d %s", w.Code, w.Body)
	}
}

// TestWorldWithoutAPIv3Key: a merchant registered before certificates were
// served gets an API v3 key when the world is opened.
func TestWorldWithoutAPIv3Key(t *testing.T) {
	dir := t.TempDir()
	s, _ := openSandbox(t, dir)
	s.Close()
	p := filepath.Join(dir, worldFile)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var w map[string]any
	if err := json.Unmarshal(data, &w); err != nil {
		t.Fatal(err)
	}
	for _, m := range w["merchants"].(map[string]any) {
		delete(m.(map[string]any), "api_v3_key")
	}
	data, _ = json.Marshal(w)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, creds := openSandbox(t, dir)
	if len(creds.APIv3Key) != 32 {
		t.Fatalf("api_v3_key = %q", creds.APIv3Key)
	}
}
