package plan

import (
	"testing"

	"github.com/wxmedia/wxmedia/uploader"
)

// A v2 upload is cached under the v2 endpoint's service, a v3 upload under
// the endpoint's: an identifier a test server issued through one is never
// offered for WeChat Pay's own host through the other.
func TestServiceForProtocol(t *testing.T) {
	m := MerchantIdentity{MchID: "1", Service: "wechatpay", V2Service: "https://127.0.0.1:8787"}
	v2, _ := uploader.SpecFor("wechatpay_v2_image")
	v3, _ := uploader.SpecFor("wechatpay_image")
	if got := m.serviceFor(v2); got != "https://127.0.0.1:8787" {
		t.Errorf("v2 service %q", got)
	}
	if got := m.serviceFor(v3); got != "wechatpay" {
		t.Errorf("v3 service %q", got)
	}
	if Service("https://apihk.mch.weixin.qq.com") != "wechatpay" || Service("") != "wechatpay" {
		t.Errorf("WeChat Pay's own hosts are one service")
	}
}

// Cosmetic rewrites of an endpoint are one service: its identifiers stay
// valid and nothing is uploaded again.
func TestServiceCanonical(t *testing.T) {
	for _, tt := range []struct{ a, b string }{
		{"HTTPS://127.0.0.1:8787/", "https://127.0.0.1:8787"},
		{"https://127.0.0.1:8787/.", "https://127.0.0.1:8787"},
		{"https://Pay.Example.COM:443", "https://pay.example.com"},
		{"http://localhost:80/", "http://localhost"},
		{"https://pay.example.com/gw/./v3/../v3/", "https://pay.example.com/gw/v3"},
		{"https://[::1]:443/", "https://[::1]"},
		{"HTTPS://API.MCH.WEIXIN.QQ.COM:443/", "wechatpay"},
	} {
		if got, want := Service(tt.a), Service(tt.b); got != want {
			t.Errorf("Service(%q) = %q, Service(%q) = %q: want one service", tt.a, got, tt.b, want)
		}
	}
	for _, tt := range []struct{ a, b string }{
		{"https://127.0.0.1:8787", "https://127.0.0.1:8788"},
		{"https://pay.example.com/a", "https://pay.example.com/b"},
		{"https://pay.example.com:8443", "https://pay.example.com"},
		{"http://localhost:443", "https://localhost"},
	} {
		if Service(tt.a) == Service(tt.b) {
			t.Errorf("Service(%q) = Service(%q) = %q: want two services", tt.a, tt.b, Service(tt.a))
		}
	}
	if got := Service("https://127.0.0.1:8787/"); got != "https://127.0.0.1:8787" {
		t.Errorf("Service = %q, want the canonical URL", got)
	}
}

// A resource recorded before services were canonical (the endpoint as it
// was written) still stands.
func TestSameServiceLegacyRecord(t *testing.T) {
	if !sameService("HTTPS://127.0.0.1:8787/", Service("https://127.0.0.1:8787")) {
		t.Errorf("a record under the endpoint's old spelling must stand")
	}
	if sameService("sandbox-x", "sandbox-y") || sameService("https://a.example", Service("https://b.example")) {
		t.Errorf("other services must differ")
	}
}
