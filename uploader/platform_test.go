package uploader

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const testAPIv3Key = "0123456789abcdefghijklmnopqrstuv"

// TestDecryptVector decrypts a vector made with another implementation
// of AES-256-GCM (Python's cryptography), as WeChat Pay encrypts
// certificates: key = the API v3 key, a 12-character nonce, associated
// data "certificate".
func TestDecryptVector(t *testing.T) {
	const ciphertext = "bETtH5WSjBkgP7nJwW/Yt6KMI2cgjGGmEGZKfqZAetFXaxkENYZn/BZ8XrI++O7jPIR+bfv343SQnK96GAP+nd06cuCqZO29i+CpzlvSC73H4Q9vHzXn4pLf"
	plain, err := DecryptAEADAES256GCM(testAPIv3Key, "4aab3fd0d5e1", "certificate", ciphertext)
	if err != nil {
		t.Fatal(err)
	}
	if want := "-----BEGIN CERTIFICATE-----\nwxmedia test vector\n-----END CERTIFICATE-----\n"; string(plain) != want {
		t.Fatalf("plaintext = %q, want %q", plain, want)
	}
	// associated_data may be empty (the SDKs' models say so).
	if plain, err := DecryptAEADAES256GCM(testAPIv3Key, "0fe9b7a3c1d2", "", "pJdE7XWc+A5qMgq8YeWPWfVHroe5m9rlsF6xXDUuCAxELOEJ2A=="); err != nil || string(plain) != "empty associated data" {
		t.Errorf("empty associated data: %q, %v", plain, err)
	}
	for name, args := range map[string][4]string{
		"wrong key":             {"0123456789abcdefghijklmnopqrstuV", "4aab3fd0d5e1", "certificate", ciphertext},
		"wrong associated data": {testAPIv3Key, "4aab3fd0d5e1", "certificates", ciphertext},
		"wrong nonce":           {testAPIv3Key, "4aab3fd0d5e2", "certificate", ciphertext},
		"short key":             {"0123456789abcdef", "4aab3fd0d5e1", "certificate", ciphertext},
		"not base64":            {testAPIv3Key, "4aab3fd0d5e1", "certificate", "%%%"},
		"empty nonce":           {testAPIv3Key, "", "certificate", ciphertext},
	} {
		if _, err := DecryptAEADAES256GCM(args[0], args[1], args[2], args[3]); err == nil {
			t.Errorf("%s: decryption succeeded", name)
		} else if strings.Contains(err.Error(), args[0]) {
			t.Errorf("%s: error %q shows the key", name, err)
		}
	}
}

// testCert is a platform certificate of the fake server, with its key.
type testCert struct {
	cert   *x509.Certificate
	key    *rsa.PrivateKey
	serial string
}

var testKeys struct {
	once sync.Once
	keys []*rsa.PrivateKey
}

// platformTestKey returns one of four RSA keys made once per test binary.
func platformTestKey(t *testing.T, i int) *rsa.PrivateKey {
	testKeys.once.Do(func() {
		for range 4 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			testKeys.keys = append(testKeys.keys, k)
		}
	})
	return testKeys.keys[i]
}

func newTestCert(t *testing.T, keyIndex int, serial int64, notBefore, notAfter time.Time) *testCert {
	t.Helper()
	key := platformTestKey(t, keyIndex)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "test platform"},
		NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &testCert{cert: c, key: key, serial: strings.ToUpper(strconv.FormatInt(serial, 16))}
}

// certServer is a fake WeChat Pay endpoint serving GET /v3/certificates
// and the image upload, signing its replies with signer.
type certServer struct {
	t   *testing.T
	now func() time.Time

	mu              sync.Mutex
	apiV3Key        string
	listed          []*testCert
	signer          *testCert       // signs every reply; nil: the public key
	downloadSigner  *testCert       // signs the download when set
	pubKey          *rsa.PrivateKey // the platform public key, for signer == nil
	serialHeader    func(string) string
	plaintext       func(*testCert) []byte
	downloadStatus  int
	downloadFails   int           // the first downloadFails downloads answer 500
	downloadDelay   time.Duration // each download answers after this long
	downloads       int
	uploads         int
	uploadSerials   []string // Wechatpay-Serial of each upload request
	downloadSerials []string
}

func newCertServer(t *testing.T, listed ...*testCert) (*certServer, *httptest.Server) {
	cs := &certServer{t: t, now: time.Now, apiV3Key: testAPIv3Key, listed: listed, pubKey: mustPrivateKey(t, "platform_test_key.pem")}
	if len(listed) > 0 {
		cs.signer = listed[len(listed)-1]
	}
	srv := httptest.NewTLSServer(cs)
	t.Cleanup(srv.Close)
	return cs, srv
}

func (cs *certServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	signer := cs.signer
	var body []byte
	switch r.URL.Path {
	case CertificatesPath:
		cs.downloads++
		cs.downloadSerials = append(cs.downloadSerials, r.Header.Get("Wechatpay-Serial"))
		time.Sleep(cs.downloadDelay)
		if cs.downloads <= cs.downloadFails {
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`{"code":"SYSTEM_ERROR","message":"系统错误"}`))
			return
		}
		if cs.downloadStatus != 0 {
			w.WriteHeader(cs.downloadStatus)
			w.Write([]byte(`{"code":"RESOURCE_NOT_EXISTS","message":"无可用的平台证书,请在商户平台-API安全申请使用微信支付公钥"}`))
			return
		}
		if cs.downloadSigner != nil {
			signer = cs.downloadSigner
		}
		type enc struct {
			Algorithm      string `json:"algorithm"`
			Nonce          string `json:"nonce"`
			AssociatedData string `json:"associated_data"`
			Ciphertext     string `json:"ciphertext"`
		}
		type entry struct {
			SerialNo           string `json:"serial_no"`
			EffectiveTime      string `json:"effective_time"`
			ExpireTime         string `json:"expire_time"`
			EncryptCertificate enc    `json:"encrypt_certificate"`
		}
		var reply struct {
			Data []entry `json:"data"`
		}
		block, _ := aes.NewCipher([]byte(cs.apiV3Key))
		gcm, _ := cipher.NewGCM(block)
		for i, tc := range cs.listed {
			plain := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tc.cert.Raw})
			if cs.plaintext != nil {
				plain = cs.plaintext(tc)
			}
			nonce := "nonce" + strconv.Itoa(100000+i) + "x"
			reply.Data = append(reply.Data, entry{SerialNo: tc.serial, EffectiveTime: tc.cert.NotBefore.Format(time.RFC3339),
				ExpireTime: tc.cert.NotAfter.Format(time.RFC3339), EncryptCertificate: enc{Algorithm: "AEAD_AES_256_GCM",
					Nonce: nonce, AssociatedData: "certificate",
					Ciphertext: base64.StdEncoding.EncodeToString(gcm.Seal(nil, []byte(nonce), plain, []byte("certificate")))}})
		}
		body, _ = json.Marshal(reply)
	default:
		cs.uploads++
		cs.uploadSerials = append(cs.uploadSerials, r.Header.Get("Wechatpay-Serial"))
		body = []byte(`{"media_id":"media-` + strconv.Itoa(cs.uploads) + `"}`)
	}
	key, serial := cs.pubKey, testPlatform
	if signer != nil {
		key, serial = signer.key, signer.serial
	}
	if cs.serialHeader != nil {
		serial = cs.serialHeader(serial)
	}
	ts := strconv.FormatInt(cs.now().Unix(), 10)
	nonce := "reply-nonce"
	digest := sha256.Sum256([]byte(ts + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	w.Header().Set("Wechatpay-Timestamp", ts)
	w.Header().Set("Wechatpay-Nonce", nonce)
	w.Header().Set("Wechatpay-Serial", serial)
	w.Header().Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	w.Write(body)
}

// certClient is a client with only the API v3 key, its certificates cached in dir.
func certClient(t *testing.T, srv *httptest.Server, dir string, mod func(*Config)) *Client {
	return testClient(t, srv, func(c *Config) {
		c.PlatformKeyID, c.PlatformKey = "", nil
		c.APIv3Key = testAPIv3Key
		c.CertificateCache = FileCertificateCache{Path: filepath.Join(dir, "platform-certificates.json"), Key: "test/" + testMchID}
		if mod != nil {
			mod(c)
		}
	})
}

func (cs *certServer) counts() (downloads, uploads int) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.downloads, cs.uploads
}

func TestCertificatesDownloadedAndCached(t *testing.T) {
	now := time.Now()
	a := newTestCert(t, 0, 0x1A2B3C, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	cs, srv := newCertServer(t, a)
	// Serials are hex of any case on the wire (one SDK sent them lowercase).
	cs.serialHeader = strings.ToLower
	dir := t.TempDir()
	c := certClient(t, srv, dir, nil)
	res, err := c.Upload(context.Background(), pngRequest("a.png"))
	if err != nil || res.ID != "media-1" {
		t.Fatalf("Upload() = %+v, %v", res, err)
	}
	if d, u := cs.counts(); d != 1 || u != 1 {
		t.Fatalf("downloads, uploads = %d, %d; want 1, 1", d, u)
	}
	if got := cs.uploadSerials[0]; got != "1A2B3C" {
		t.Errorf("upload named Wechatpay-Serial %q, want the certificate's serial 1A2B3C", got)
	}
	data, err := os.ReadFile(filepath.Join(dir, "platform-certificates.json"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "platform-certificates.json")); fi.Mode().Perm() != 0o600 {
		t.Errorf("cache mode %o, want 0600", fi.Mode().Perm())
	}
	if strings.Count(string(data), "BEGIN CERTIFICATE") != 1 || strings.Contains(string(data), "PRIVATE") || strings.Contains(string(data), testAPIv3Key) {
		t.Errorf("cache holds more than the certificate:\n%s", data)
	}
	// A new client (the next run) verifies with the cached certificate.
	c2 := certClient(t, srv, dir, nil)
	if res, err := c2.Upload(context.Background(), pngRequest("b.png")); err != nil || res.ID != "media-2" {
		t.Fatalf("second run Upload() = %+v, %v", res, err)
	}
	if d, _ := cs.counts(); d != 1 {
		t.Fatalf("second run downloaded again (%d downloads)", d)
	}
}

func TestCertificateRotationRefreshesOnce(t *testing.T) {
	now := time.Now()
	a := newTestCert(t, 0, 0xA1, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	cs, srv := newCertServer(t, a)
	dir := t.TempDir()
	if _, err := certClient(t, srv, dir, nil).Upload(context.Background(), pngRequest("a.png")); err != nil {
		t.Fatal(err)
	}
	// WeChat Pay rotates: both certificates listed, replies signed with the new one.
	b := newTestCert(t, 1, 0xB2, now.Add(-time.Minute), now.AddDate(2, 0, 0))
	cs.mu.Lock()
	cs.listed, cs.signer = []*testCert{a, b}, b
	cs.mu.Unlock()
	c := certClient(t, srv, dir, nil)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.Upload(context.Background(), pngRequest("r"+strconv.Itoa(i)+".png"))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("Upload() after rotation = %v", err)
		}
	}
	if d, u := cs.counts(); d != 2 || u != 9 {
		t.Fatalf("downloads, uploads = %d, %d; want 2 (one refresh for the rotation), 9", d, u)
	}
	// The next request names the newest certificate.
	if _, err := c.Upload(context.Background(), pngRequest("z.png")); err != nil {
		t.Fatal(err)
	}
	if got := cs.uploadSerials[len(cs.uploadSerials)-1]; got != "B2" {
		t.Errorf("Wechatpay-Serial after rotation = %q, want B2", got)
	}
}

func TestUnknownCertificateRecordsNothing(t *testing.T) {
	now := time.Now()
	a := newTestCert(t, 0, 0xA1, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	stranger := newTestCert(t, 2, 0xC3, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	expired := newTestCert(t, 3, 0xE4, now.AddDate(-1, 0, 0), now.Add(-time.Minute))
	cs, srv := newCertServer(t, a, expired)
	cs.signer = a
	c := certClient(t, srv, t.TempDir(), nil)
	if _, err := c.Upload(context.Background(), pngRequest("a.png")); err != nil {
		t.Fatal(err)
	}
	for _, signer := range []*testCert{stranger, expired} {
		cs.mu.Lock()
		cs.signer = signer
		cs.mu.Unlock()
		d0, u0 := cs.counts()
		for i := range 2 {
			res, err := c.Upload(context.Background(), pngRequest("x.png"))
			if !errors.Is(err, ErrVerify) || res.ID != "" || IsRetryable(err) {
				t.Fatalf("reply signed by %s: Upload() = %+v, %v; want ErrVerify, no identifier, not retried", signer.serial, res, err)
			}
			d, u := cs.counts()
			if wantD := d0 + 1; d != wantD || u != u0+i+1 {
				t.Fatalf("reply signed by %s, try %d: downloads %d, uploads %d; want %d (one refresh per unknown serial), %d", signer.serial, i, d, u, wantD, u0+i+1)
			}
		}
	}
}

// A certificate that expires while the client holds it no longer verifies.
func TestExpiredCertificateRecordsNothing(t *testing.T) {
	now := time.Now()
	clock := now
	var mu sync.Mutex
	at := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	a := newTestCert(t, 0, 0xA1, now.Add(-time.Hour), now.Add(10*time.Minute))
	cs, srv := newCertServer(t, a)
	cs.now = at
	// In migration: a public key and the API v3 key; requests name the public key.
	c := testClient(t, srv, func(c *Config) { c.APIv3Key, c.Now = testAPIv3Key, at })
	if _, err := c.Upload(context.Background(), pngRequest("a.png")); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	clock = now.Add(20 * time.Minute)
	mu.Unlock()
	res, err := c.Upload(context.Background(), pngRequest("b.png"))
	if !errors.Is(err, ErrVerify) || res.ID != "" || !strings.Contains(err.Error(), "not now") {
		t.Fatalf("reply signed by an expired certificate: %+v, %v", res, err)
	}
	if d, _ := cs.counts(); d != 1 {
		t.Fatalf("%d downloads, want 1", d)
	}
}

func TestMigrationVerifiesBothKeys(t *testing.T) {
	now := time.Now()
	a := newTestCert(t, 0, 0xA1, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	cs, srv := newCertServer(t, a)
	cs.signer = nil // the public key signs
	c := testClient(t, srv, func(c *Config) { c.APIv3Key = testAPIv3Key })
	if _, err := c.Upload(context.Background(), pngRequest("a.png")); err != nil {
		t.Fatal(err)
	}
	if d, _ := cs.counts(); d != 0 {
		t.Fatalf("a reply signed with the public key downloaded certificates (%d)", d)
	}
	cs.mu.Lock()
	cs.signer = a
	cs.mu.Unlock()
	if _, err := c.Upload(context.Background(), pngRequest("b.png")); err != nil {
		t.Fatalf("reply signed with a certificate: %v", err)
	}
	if d, _ := cs.counts(); d != 1 {
		t.Fatalf("%d downloads, want 1", d)
	}
	for _, s := range cs.uploadSerials {
		if s != testPlatform {
			t.Errorf("request named %q, want the public key ID", s)
		}
	}
}

func TestRenewalBeforeExpiry(t *testing.T) {
	now := time.Now()
	old := newTestCert(t, 0, 0xA1, now.Add(-time.Hour), now.Add(time.Hour))
	next := newTestCert(t, 1, 0xB2, now.Add(-time.Minute), now.AddDate(1, 0, 0))
	cs, srv := newCertServer(t, old, next)
	cs.signer = old
	dir := t.TempDir()
	cache := FileCertificateCache{Path: filepath.Join(dir, "platform-certificates.json"), Key: "test/" + testMchID}
	if err := cache.Save([]*x509.Certificate{old.cert}); err != nil {
		t.Fatal(err)
	}
	c := certClient(t, srv, dir, nil)
	if _, err := c.Upload(context.Background(), pngRequest("a.png")); err != nil {
		t.Fatal(err)
	}
	if d, _ := cs.counts(); d != 1 || cs.uploadSerials[0] != "B2" {
		t.Fatalf("downloads %d, request serial %q; want a download before use and the newest certificate B2", d, cs.uploadSerials[0])
	}
}

func TestDownloadRefusals(t *testing.T) {
	now := time.Now()
	a := newTestCert(t, 0, 0xA1, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	other := newTestCert(t, 1, 0xA1, now.Add(-time.Hour), now.AddDate(1, 0, 0)) // same serial, another key
	for _, tt := range []struct {
		name   string
		setup  func(cs *certServer)
		mod    func(*Config)
		verify bool   // the error is also ErrVerify
		want   string // in the message
	}{
		{"plaintext with a private key", func(cs *certServer) {
			cs.plaintext = func(tc *testCert) []byte {
				der, _ := x509.MarshalPKCS8PrivateKey(tc.key)
				return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tc.cert.Raw}),
					pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})...)
			}
		}, nil, false, `"PRIVATE KEY" block`},
		{"wrong api_v3_key", func(cs *certServer) { cs.apiV3Key = "vutsrqponmlkjihgfedcba9876543210" }, nil, false, "check api_v3_key"},
		{"serial_no not the certificate's", func(cs *certServer) {
			cs.listed = []*testCert{{cert: a.cert, key: a.key, serial: "DEADBEEF"}}
		}, nil, false, "not the serial_no"},
		{"download signed by another key", func(cs *certServer) { cs.downloadSigner = other }, nil, true, "Wechatpay-Signature"},
		{"download names an unknown serial", func(cs *certServer) {
			cs.downloadSigner = newTestCert(t, 2, 0xC3, now.Add(-time.Hour), now.AddDate(1, 0, 0))
		}, nil, true, "none of the valid certificates"},
		{"no certificates for this merchant", func(cs *certServer) { cs.downloadStatus = http.StatusNotFound }, nil, false, "platform_public_key_id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cs, srv := newCertServer(t, a)
			tt.setup(cs)
			dir := t.TempDir()
			c := certClient(t, srv, dir, tt.mod)
			res, err := c.Upload(context.Background(), pngRequest("a.png"))
			if !errors.Is(err, ErrCertificates) || errors.Is(err, ErrVerify) != tt.verify || res.ID != "" || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Upload() = %+v, %v; want ErrCertificates (ErrVerify %v) saying %q", res, err, tt.verify, tt.want)
			}
			if strings.Contains(err.Error(), testAPIv3Key) {
				t.Errorf("error shows the API v3 key: %v", err)
			}
			if d, u := cs.counts(); d != 1 || u != 0 {
				t.Errorf("downloads, uploads = %d, %d; want 1, 0 (nothing sent without a trusted certificate)", d, u)
			}
			if _, err := os.Stat(filepath.Join(dir, "platform-certificates.json")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("cache written after a refused download: %v", err)
			}
		})
	}
}

func TestNewClientAPIv3Key(t *testing.T) {
	_, srv := newCertServer(t)
	for _, key := range []string{"short", testAPIv3Key + "x"} {
		cfg := Config{MchID: testMchID, SerialNo: testSerial, PrivateKey: mustPrivateKey(t, "merchant_test_key.pem"),
			APIv3Key: key, Endpoint: srv.URL}
		_, err := NewClient(cfg)
		if err == nil || !strings.Contains(err.Error(), "api_v3_key must be 32 characters") || strings.Contains(err.Error(), key) {
			t.Errorf("NewClient(api_v3_key of %d) = %v", len(key), err)
		}
	}
	// Without a platform key, the API v3 key alone is enough.
	if _, err := NewClient(Config{MchID: testMchID, SerialNo: testSerial, PrivateKey: mustPrivateKey(t, "merchant_test_key.pem"),
		APIv3Key: testAPIv3Key, Endpoint: srv.URL}); err != nil {
		t.Errorf("NewClient(api_v3_key only) = %v", err)
	}
}

// A server naming a new unknown serial in every reply gets a few downloads
// at most, not one per upload.
func TestUnknownSerialRefreshesBounded(t *testing.T) {
	now := time.Now()
	a := newTestCert(t, 0, 0xA1, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	cs, srv := newCertServer(t, a)
	c := certClient(t, srv, t.TempDir(), nil)
	if _, err := c.Upload(context.Background(), pngRequest("a.png")); err != nil {
		t.Fatal(err)
	}
	n := 0
	cs.mu.Lock()
	cs.serialHeader = func(string) string { n++; return "FFFF" + strconv.Itoa(n) }
	cs.mu.Unlock()
	for i := range 10 {
		if _, err := c.Upload(context.Background(), pngRequest("u"+strconv.Itoa(i)+".png")); !errors.Is(err, ErrVerify) {
			t.Fatalf("reply under an unknown serial: %v", err)
		}
	}
	if d, _ := cs.counts(); d != 1+3 {
		t.Fatalf("%d downloads, want 1 and at most 3 for unknown serials", d)
	}
}

// A cache that is not a regular file, or not valid, is downloaded over:
// it holds nothing that cannot be downloaded again.
func TestCertificateCacheDamaged(t *testing.T) {
	now := time.Now()
	a := newTestCert(t, 0, 0xA1, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	cs, srv := newCertServer(t, a)
	dir := t.TempDir()
	p := filepath.Join(dir, "platform-certificates.json")
	if err := os.WriteFile(p, []byte(`{"version":1,"merchants":{"test/1900000001":{"certificates":[{"serial_no":"A1","certificate":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}]}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (FileCertificateCache{Path: p, Key: "test/" + testMchID}).Load(); err == nil {
		t.Fatal("Load() accepted a private key block")
	}
	c := certClient(t, srv, dir, nil)
	if _, err := c.Upload(context.Background(), pngRequest("a.png")); err != nil {
		t.Fatal(err)
	}
	if d, _ := cs.counts(); d != 1 {
		t.Fatalf("%d downloads, want 1", d)
	}
	data, _ := os.ReadFile(p)
	if strings.Contains(string(data), "PRIVATE") || !strings.Contains(string(data), "BEGIN CERTIFICATE") {
		t.Fatalf("cache after download:\n%s", data)
	}
}

// Uploads in flight when no certificate is known wait for one download
// and all go through (a parallel first apply).
func TestFirstDownloadShared(t *testing.T) {
	now := time.Now()
	a := newTestCert(t, 0, 0xA1, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	cs, srv := newCertServer(t, a)
	c := certClient(t, srv, t.TempDir(), nil)
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.Upload(context.Background(), pngRequest("p"+strconv.Itoa(i)+".png"))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("upload %d: %v", i, err)
		}
	}
	if d, u := cs.counts(); d != 1 || u != 16 {
		t.Fatalf("downloads, uploads = %d, %d; want 1, 16", d, u)
	}
	// A failed download is not repeated by every upload.
	cs2, srv2 := newCertServer(t, a)
	cs2.downloadStatus = http.StatusNotFound
	c2 := certClient(t, srv2, t.TempDir(), nil)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c2.Upload(context.Background(), pngRequest("q"+strconv.Itoa(i)+".png"))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, ErrCertificates) {
			t.Fatalf("upload %d without certificates: %v", i, err)
		}
	}
	if d, u := cs2.counts(); d != 1 || u != 0 {
		t.Fatalf("downloads, uploads = %d, %d; want 1, 0", d, u)
	}
}
