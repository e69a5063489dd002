package uploader

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// FuzzVerifyReply feeds arbitrary reply headers and bodies to the v3 reply
// verifier: it never panics, and it accepts a reply only when the
// signature really verifies over timestamp, nonce and body with the
// platform key.
func FuzzVerifyReply(f *testing.F) {
	pub, err := LoadPublicKey("testdata/platform_test_pub.pem")
	if err != nil {
		f.Fatal(err)
	}
	priv, err := LoadPrivateKey("testdata/merchant_test_key.pem")
	if err != nil {
		f.Fatal(err)
	}
	const serial = "PUB_KEY_ID_TEST"
	c := &Client{cfg: Config{MchID: "1900000001", PlatformKeyID: serial, PlatformKey: pub, PrivateKey: priv,
		Now: func() time.Time { return time.Unix(1566987170, 0) }}}
	// The vector from signing.json.
	f.Add("1566987170", "a4f5d2c1b0e9f8a7d6c5b4a3f2e1d0c9", serial, "k3t9mwDLOOefr81q2aheazDTUdOBNj5rJLr+hF6qyimfEzoe8ad6OK//3cJtAfnB7mbs3gg9mvKmnAkb7sOmPNGt0rJfxCDPmq6A0WqEihV/MyjbBupN7glqzktc7x2I4NllhZWBi07bkxLi1IDBZaCmBUQh388PJh0rDXnC3xroJ1ILhMLp0Z0IWcPCmehgpZENj6T7/Y9NX0gjM5ZrTz4SfTXh3oriGF6/Btj+fa2FLVDGQo/zQ4M7Kg2IcLmX8G0ENxba4+mowakjPKk04gqqQY/fYR2rP4GusxKM8rnxdxhSf1d1gadBkV9OwyCYK0G3QbkrmdDADZMWV/Mwyg==", []byte(`{"media_id":"6uqyGjvHzOhsLleGFQVRF"}`))
	f.Add("x", "", "", "", []byte("{"))
	f.Fuzz(func(t *testing.T, ts, nonce, ser, sig string, body []byte) {
		h := http.Header{}
		h.Set("Wechatpay-Timestamp", ts)
		h.Set("Wechatpay-Nonce", nonce)
		h.Set("Wechatpay-Serial", ser)
		h.Set("Wechatpay-Signature", sig)
		err := c.verifyReply(context.Background(), h, body)
		if err == nil {
			if ser != serial {
				t.Fatalf("accepted serial %q", ser)
			}
			if Verify(pub, ReplyMessage(ts, nonce, body), sig) != nil {
				t.Fatalf("accepted a reply whose signature does not verify")
			}
		}
		_ = parseAPIError(&http.Response{StatusCode: 400, Header: h}, body)
	})
}

// FuzzParseV2XML feeds arbitrary bytes to the v2 XML reply parser and the
// reply verifier: no panic, and a reply is trusted only when its sign is
// the one computed with the API v2 key.
func FuzzParseV2XML(f *testing.F) {
	const key = "192006250b4c09247ec02edce69f6a2d"
	c := &Client{cfg: Config{APIv2Key: key, V2SignType: "MD5"}}
	ok := map[string]string{"return_code": "SUCCESS", "result_code": "SUCCESS", "media_id": "m1", "mch_id": "10000100"}
	sign, _ := V2Sign(ok, key, "MD5")
	f.Add([]byte(`<xml><return_code><![CDATA[SUCCESS]]></return_code><result_code><![CDATA[SUCCESS]]></result_code><media_id><![CDATA[m1]]></media_id><mch_id>10000100</mch_id><sign>` + sign + `</sign></xml>`))
	f.Add([]byte(`<xml><return_code>FAIL</return_code><return_msg>bad</return_msg></xml>`))
	f.Add([]byte(`<xml><a><b>nested</b></a></xml>`))
	f.Add([]byte("not xml"))
	f.Fuzz(func(t *testing.T, body []byte) {
		fields, err := ParseV2XML(body)
		if err != nil {
			return
		}
		if c.verifyV2Reply(fields) == nil {
			want, err := V2Sign(fields, key, "MD5")
			if err != nil || want != fields["sign"] {
				t.Fatalf("trusted a v2 reply whose sign %q is not %q", fields["sign"], want)
			}
		}
	})
}

// FuzzDecryptCertificates feeds arbitrary certificate download bodies to
// the decoder: it never panics, and what it accepts is certificates only.
func FuzzDecryptCertificates(f *testing.F) {
	f.Add([]byte(`{"data":[{"serial_no":"A1","encrypt_certificate":{"algorithm":"AEAD_AES_256_GCM","nonce":"4aab3fd0d5e1","associated_data":"certificate","ciphertext":"bETtH5WSjBkgP7nJwW/Yt6KMI2cgjGGmEGZKfqZAetFXaxkENYZn/BZ8XrI++O7jPIR+bfv343SQnK96GAP+nd06cuCqZO29i+CpzlvSC73H4Q9vHzXn4pLf"}}]}`))
	f.Add([]byte(`{"data":[]}`))
	f.Add([]byte(`{"data":[{"encrypt_certificate":{"algorithm":"AEAD_AES_256_GCM","nonce":"","ciphertext":""}}]}`))
	c := &Client{cfg: Config{APIv3Key: "0123456789abcdefghijklmnopqrstuv"}}
	f.Fuzz(func(t *testing.T, body []byte) {
		certs, err := c.decryptCertificates(body)
		if err == nil && len(certs) == 0 {
			t.Fatal("no error and no certificate")
		}
		for _, cert := range certs {
			if cert == nil || cert.PublicKey == nil {
				t.Fatal("accepted an empty certificate")
			}
		}
	})
}
