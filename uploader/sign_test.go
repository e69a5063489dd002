package uploader

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

type vectors struct {
	V3Request struct {
		MerchantPrivateKeyFile string `json:"merchant_private_key_file"`
		MerchantPublicKeyFile  string `json:"merchant_public_key_file"`
		Method                 string `json:"method"`
		Path                   string `json:"path"`
		Timestamp              string `json:"timestamp"`
		Nonce                  string `json:"nonce"`
		Body                   string `json:"body"`
		Message                string `json:"message"`
		SignatureBase64        string `json:"signature_base64"`
		Authorization          string `json:"authorization"`
	} `json:"v3_request"`
	V3Reply struct {
		PlatformPublicKeyFile  string `json:"platform_public_key_file"`
		PlatformPrivateKeyFile string `json:"platform_private_key_file"`
		Timestamp              string `json:"Wechatpay-Timestamp"`
		Nonce                  string `json:"Wechatpay-Nonce"`
		Body                   string `json:"body"`
		Message                string `json:"message"`
		Signature              string `json:"Wechatpay-Signature"`
		TamperedBody           string `json:"tampered_body_must_fail"`
	} `json:"v3_reply"`
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "signing.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if v.V3Request.SignatureBase64 == "" || v.V3Reply.Signature == "" {
		t.Fatal("signing.json lacks signatures")
	}
	return v
}

func mustPrivateKey(t *testing.T, name string) *rsa.PrivateKey {
	t.Helper()
	k, err := LoadPrivateKey(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustPublicKey(t *testing.T, name string) *rsa.PublicKey {
	t.Helper()
	k, err := LoadPublicKey(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRequestSignatureVector(t *testing.T) {
	v := loadVectors(t).V3Request
	ts, _ := strconv.ParseInt(v.Timestamp, 10, 64)
	msg := SignatureMessage(v.Method, v.Path, ts, v.Nonce, []byte(v.Body))
	if string(msg) != v.Message {
		t.Fatalf("SignatureMessage() = %q, want %q", msg, v.Message)
	}
	// The body of the vector is the meta JSON that MetaJSON produces.
	var meta struct{ Filename, Sha256 string }
	if err := json.Unmarshal([]byte(v.Body), &meta); err != nil {
		t.Fatal(err)
	}
	if got := MetaJSON("sha256", meta.Filename, meta.Sha256); string(got) != v.Body {
		t.Errorf("MetaJSON() = %s, want %s", got, v.Body)
	}
	key := mustPrivateKey(t, v.MerchantPrivateKeyFile)
	sig, err := Sign(key, msg)
	if err != nil {
		t.Fatal(err)
	}
	if sig != v.SignatureBase64 {
		t.Fatalf("Sign() = %s\nwant     %s", sig, v.SignatureBase64)
	}
	pub := mustPublicKey(t, v.MerchantPublicKeyFile)
	if err := Verify(pub, msg, sig); err != nil {
		t.Errorf("Verify(own signature) = %v", err)
	}
	if err := Verify(pub, append(msg[:len(msg):len(msg)], 'x'), sig); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Verify(altered message) = %v, want ErrBadSignature", err)
	}
}

func TestReplySignatureVector(t *testing.T) {
	v := loadVectors(t).V3Reply
	msg := ReplyMessage(v.Timestamp, v.Nonce, []byte(v.Body))
	if string(msg) != v.Message {
		t.Fatalf("ReplyMessage() = %q, want %q", msg, v.Message)
	}
	pub := mustPublicKey(t, v.PlatformPublicKeyFile)
	if err := Verify(pub, msg, v.Signature); err != nil {
		t.Fatalf("Verify(reply vector) = %v", err)
	}
	tampered := ReplyMessage(v.Timestamp, v.Nonce, []byte(v.TamperedBody))
	if err := Verify(pub, tampered, v.Signature); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("Verify(tampered body) = %v, want ErrBadSignature", err)
	}
	if err := Verify(pub, msg, "not base64!"); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Verify(garbage) = %v, want ErrBadSignature", err)
	}
	sig, err := Sign(mustPrivateKey(t, v.PlatformPrivateKeyFile), msg)
	if err != nil || sig != v.Signature {
		t.Errorf("Sign(platform key) = %s, %v; want the vector's signature", sig, err)
	}
}

func TestAuthorizationHeader(t *testing.T) {
	v := loadVectors(t).V3Request
	ts, _ := strconv.ParseInt(v.Timestamp, 10, 64)
	h := AuthorizationHeader("1900231671", v.Nonce, ts, "1FB89742D19F2BD30B69948D16DECA0FCB4481EB", v.SignatureBase64)
	want := `WECHATPAY2-SHA256-RSA2048 mchid="1900231671",nonce_str="` + v.Nonce + `",timestamp="1566987169",serial_no="1FB89742D19F2BD30B69948D16DECA0FCB4481EB",signature="` + v.SignatureBase64 + `"`
	if h != want {
		t.Fatalf("AuthorizationHeader() =\n%s\nwant\n%s", h, want)
	}
	got, err := ParseAuthorization(h)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := ParseAuthorization(v.Authorization) // the vector's own field order
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || len(ref) != 5 {
		t.Fatalf("fields: %v / %v", got, ref)
	}
	for _, f := range authFields {
		if got[f] != ref[f] || got[f] == "" {
			t.Errorf("field %s = %q, vector has %q", f, got[f], ref[f])
		}
	}
	if got["signature"] != v.SignatureBase64 || got["timestamp"] != v.Timestamp {
		t.Errorf("parsed fields = %v", got)
	}
}

func TestParseAuthorization(t *testing.T) {
	// The seed page's example, with its line breaks.
	seed := "WECHATPAY2-SHA256-RSA2048\nmchid=\"1900231671\",\n nonce_str=\"PCHK6HSOEDTACETP6P3AL7DWPHTBKIAT\",timestamp=\"1567067659\",\nserial_no=\"1FB89742D19F2BD30B69948D16DECA0FCB4481EB\", signature=\"PB6M+a==\""
	f, err := ParseAuthorization(seed)
	if err != nil {
		t.Fatal(err)
	}
	if f["mchid"] != "1900231671" || f["nonce_str"] != "PCHK6HSOEDTACETP6P3AL7DWPHTBKIAT" || f["timestamp"] != "1567067659" ||
		f["serial_no"] != "1FB89742D19F2BD30B69948D16DECA0FCB4481EB" || f["signature"] != "PB6M+a==" {
		t.Errorf("fields = %v", f)
	}
	for _, bad := range []string{
		``,
		`Bearer abc`,
		`WECHATPAY2-SHA256-RSA2048 mchid="1"mchid="2"`,
		`WECHATPAY2-SHA256-RSA2048 mchid="1",mchid="2"`,
		`WECHATPAY2-SHA256-RSA2048 mchid="1`,
		`WECHATPAY2-SHA256-RSA2048 ="1"`,
		`WECHATPAY2-SHA256-RSA2048 mchid`,
	} {
		if _, err := ParseAuthorization(bad); err == nil {
			t.Errorf("ParseAuthorization(%q) = nil error", bad)
		}
	}
}

func TestMetaJSON(t *testing.T) {
	got := MetaJSON("digest", `<a&b>图.pdf`, "ab")
	want := `{"filename":"<a&b>图.pdf","digest":"ab"}`
	if string(got) != want {
		t.Errorf("MetaJSON() = %s, want %s", got, want)
	}
}

func TestWriteMultipartGolden(t *testing.T) {
	content := []byte("\x89PNG\r\n\x1a\ntiny")
	sum := sha256.Sum256(content)
	meta := MetaJSON("sha256", "logo.png", hex.EncodeToString(sum[:]))
	var b bytes.Buffer
	if err := WriteMultipart(&b, "wxmedia-test-boundary", meta, "logo.png", ContentType("logo.png"), content); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "multipart.golden")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Fatalf("multipart body differs from %s:\n got %q\nwant %q", golden, b.Bytes(), want)
	}

	// The standard library reads it back as two parts, meta first, with the exact bytes.
	r := multipart.NewReader(bytes.NewReader(b.Bytes()), "wxmedia-test-boundary")
	p, err := r.NextRawPart()
	if err != nil {
		t.Fatal(err)
	}
	if p.FormName() != "meta" || p.Header.Get("Content-Type") != "application/json" {
		t.Errorf("first part: %v", p.Header)
	}
	if got, _ := io.ReadAll(p); !bytes.Equal(got, meta) {
		t.Errorf("meta part = %q, want %q", got, meta)
	}
	p, err = r.NextRawPart()
	if err != nil {
		t.Fatal(err)
	}
	if p.FormName() != "file" || p.FileName() != "logo.png" || p.Header.Get("Content-Type") != "image/png" {
		t.Errorf("second part: %v", p.Header)
	}
	if got, _ := io.ReadAll(p); !bytes.Equal(got, content) {
		t.Errorf("file part = %q, want %q", got, content)
	}
	if _, err := r.NextRawPart(); err != io.EOF {
		t.Errorf("third part: %v, want io.EOF", err)
	}

	for _, bad := range []string{"", strings.Repeat("b", 71), "has\"quote", "trailing "} {
		if err := WriteMultipart(io.Discard, bad, meta, "a.png", "image/png", content); err == nil {
			t.Errorf("WriteMultipart(boundary %q) = nil error", bad)
		}
	}
	if err := WriteMultipart(io.Discard, "b", meta, "a\".png", "image/png", content); err == nil {
		t.Error("WriteMultipart(filename with quote) = nil error")
	}
	if _, params, err := mime.ParseMediaType("multipart/form-data; boundary=wxmedia-test-boundary"); err != nil || params["boundary"] == "" {
		t.Error("boundary not parseable")
	}
}

func TestOpenSSLCrossCheck(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not on PATH")
	}
	v := loadVectors(t).V3Request
	msg := []byte(v.Message)
	sig, err := Sign(mustPrivateKey(t, v.MerchantPrivateKeyFile), msg)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := decodeB64(sig)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	msgFile, sigFile := filepath.Join(dir, "msg.txt"), filepath.Join(dir, "sig.bin")
	if err := os.WriteFile(msgFile, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sigFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	pub, _ := filepath.Abs(filepath.Join("testdata", v.MerchantPublicKeyFile))
	out, err := exec.Command(openssl, "dgst", "-sha256", "-verify", pub, "-signature", sigFile, msgFile).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verified OK") {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
	// And openssl must refuse the same signature over another message.
	if err := os.WriteFile(msgFile, append(msg, 'x'), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(openssl, "dgst", "-sha256", "-verify", pub, "-signature", sigFile, msgFile).CombinedOutput(); err == nil {
		t.Fatalf("openssl verified an altered message:\n%s", out)
	}
}

func TestLoadKeysAndSerial(t *testing.T) {
	dir := t.TempDir()
	key := mustPrivateKey(t, "merchant_test_key.pem")
	// PKCS#1 form of the same key.
	pkcs1 := filepath.Join(dir, "pkcs1.pem")
	if err := os.WriteFile(pkcs1, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	k2, err := LoadPrivateKey(pkcs1)
	if err != nil || !k2.Equal(key) {
		t.Fatalf("LoadPrivateKey(PKCS#1) = %v", err)
	}
	// A certificate: its key and its serial.
	serial, _ := new(big.Int).SetString("1FB89742D19F2BD30B69948D16DECA0FCB4481EB", 16)
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "1900231671"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certFile := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(certFile, append([]byte("Bag Attributes\n"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...), 0o600); err != nil {
		t.Fatal(err)
	}
	pub, err := LoadPublicKey(certFile)
	if err != nil || !pub.Equal(&key.PublicKey) {
		t.Fatalf("LoadPublicKey(certificate) = %v", err)
	}
	got, err := CertificateSerial(certFile)
	if err != nil || got != "1FB89742D19F2BD30B69948D16DECA0FCB4481EB" {
		t.Fatalf("CertificateSerial() = %q, %v", got, err)
	}
	if _, err := LoadPrivateKey(filepath.Join("testdata", "merchant_test_pub.pem")); err == nil {
		t.Error("LoadPrivateKey(public key file) = nil error")
	}
	if _, err := CertificateSerial(filepath.Join("testdata", "merchant_test_pub.pem")); err == nil {
		t.Error("CertificateSerial(public key file) = nil error")
	}
	if _, err := LoadPublicKey(filepath.Join(dir, "missing.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadPublicKey(missing) = %v, want ErrNotExist", err)
	}
}

func decodeB64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
