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
}

// A resource recorded before services were canonical (the endpoint as it
// was written) still stands.
func TestSameServiceLegacyRecord(t *testing.T) {
	if !sameService("HTTPS://127.0.0.1:8787/", uploader.Service("https://127.0.0.1:8787")) {
		t.Errorf("a record under the endpoint's old spelling must stand")
	}
	if sameService("sandbox-x", "sandbox-y") || sameService("https://a.example", uploader.Service("https://b.example")) {
		t.Errorf("other services must differ")
	}
}
