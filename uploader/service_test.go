package uploader

import "testing"

// WeChat Pay's own hosts, and no endpoint, are one service.
func TestServiceWeChatPayHosts(t *testing.T) {
	for _, e := range []string{"", "https://api.mch.weixin.qq.com", "https://apihk.mch.weixin.qq.com", DefaultEndpoint, DefaultV2Endpoint} {
		if got := Service(e); got != "wechatpay" {
			t.Errorf("Service(%q) = %q, want wechatpay", e, got)
		}
	}
	// Only https on WeChat Pay's domain is WeChat Pay's.
	for _, e := range []string{"http://api.mch.weixin.qq.com", "https://mch.weixin.qq.com.example.com", "https://evilmch.weixin.qq.com"} {
		if got := Service(e); got == "wechatpay" {
			t.Errorf("Service(%q) = wechatpay, want its own service", e)
		}
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
