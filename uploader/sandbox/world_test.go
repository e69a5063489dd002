package sandbox

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wxmedia/wxmedia/uploader"
)

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
	s2.lockTimeout = 100 * time.Millisecond
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
