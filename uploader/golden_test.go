package uploader

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestGoldenRequests pins the exact request of every API — headers that
// carry the signature and the whole multipart body — with a fixed
// boundary, nonce and time, in testdata/<api>.golden (-update rewrites them).
func TestGoldenRequests(t *testing.T) {
	fixed := time.Unix(1566987169, 0)
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR golden")
	for _, tt := range []struct {
		api      API
		filename string
		content  []byte
		reply    string
	}{
		{APIMerchantImage, "logo.png", png, `{"media_id":"m1"}`},
		{APIMerchantVideo, "clip.mp4", []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom golden"), `{"media_id":"v1"}`},
		{APIGlobalFile, "licence <a&b>.pdf", []byte("%PDF-1.7\n% golden\n"), `{"file_id":"b6a17e2a-1dc4-4376-8630-e73d06490c0d"}`},
		{APICouponImage, "banner.jpg", []byte("\xff\xd8\xff\xe0 golden jpeg"), `{"image_url":"https://qpic.cn/xxx"}`},
		{APIV2Image, "cert.bmp", []byte("BM golden bmp"), ""},
		{APIMarketingImage, "voucher <gift&co>.png", png, `{"media_url":"https://wxpaylogo.qpic.cn/wxpaylogo/golden/0"}`},
		{APIComplaintImage, "evidence.jpg", []byte("\xff\xd8\xff\xe0 golden complaint jpeg"), `{"media_id":"c1"}`},
	} {
		t.Run(string(tt.api), func(t *testing.T) {
			var captured bytes.Buffer
			var srvURL string
			handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				fmt.Fprintf(&captured, "%s %s\r\n", r.Method, r.URL.RequestURI())
				for _, h := range []string{"Authorization", "Content-Type", "Accept", "Wechatpay-Serial"} {
					if v := r.Header.Get(h); v != "" {
						fmt.Fprintf(&captured, "%s: %s\r\n", h, v)
					}
				}
				captured.WriteString("\r\n")
				captured.Write(body)
				if tt.api == APIV2Image {
					_, reply := v2OK("v2-golden")(map[string]string{"sign_type": "HMAC-SHA256"})
					w.Write([]byte(reply))
					return
				}
				f := &fakeWeChat{t: t, platformKey: mustPrivateKey(t, "platform_test_key.pem"), now: func() time.Time { return fixed }}
				reply(w, f, 200, tt.reply, nil)
			})
			srv := httptest.NewUnstartedServer(handler)
			srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
			srv.StartTLS()
			defer srv.Close()
			srvURL = srv.URL
			cfg := Config{MchID: testMchID, Now: func() time.Time { return fixed },
				Nonce: func() string { return "12ced2db6f0193dda91ba86224ea1cd8" }, Boundary: func() string { return "wxmedia-golden-boundary" },
				UserAgent: "wxmedia/test"}
			if tt.api == APIV2Image {
				hc := srv.Client()
				tr := hc.Transport.(*http.Transport).Clone()
				tr.TLSClientConfig.Certificates = []tls.Certificate{selfSignedClientCert(t)}
				cfg.APIv2Key, cfg.V2SignType, cfg.V2Endpoint, cfg.V2HTTPClient = testV2Key, SignTypeHMACSHA256, srvURL, &http.Client{Transport: tr}
			} else {
				cfg.SerialNo, cfg.PrivateKey, cfg.PlatformKeyID, cfg.PlatformKey = testSerial, mustPrivateKey(t, "merchant_test_key.pem"), testPlatform, mustPublicKey(t, "platform_test_pub.pem")
				cfg.Endpoint, cfg.HTTPClient = srvURL, srv.Client()
			}
			c, err := NewClient(cfg)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(tt.content)
			res, err := c.Upload(context.Background(), Request{API: tt.api, Filename: tt.filename, Content: tt.content, SHA256: hex.EncodeToString(sum[:])})
			if err != nil || res.ID == "" {
				t.Fatalf("Upload() = %+v, %v", res, err)
			}
			golden := filepath.Join("testdata", string(tt.api)+".golden")
			if *update {
				if err := os.WriteFile(golden, captured.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(captured.Bytes(), want) {
				t.Fatalf("request differs from %s:\n got %q\nwant %q", golden, captured.Bytes(), want)
			}
		})
	}
}
