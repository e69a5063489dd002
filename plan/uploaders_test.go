package plan

import (
	"testing"

	"github.com/wxmedia/wxmedia/schema"
	"github.com/wxmedia/wxmedia/uploader"
)

// Only merchants with an upload get settings, with the protocols of their
// uploads, their service identity and their file names cleaned.
func TestUploadMerchants(t *testing.T) {
	ev := &schema.Evaluation{Merchants: map[string]*schema.Merchant{
		"shop":  {MchID: "1", PrivateKeyFile: "keys/../keys/apiclient_key.pem", V2SignType: "HMAC-SHA256"},
		"idle":  {MchID: "2"},
		"reuse": {MchID: "3"},
	}}
	p := &Plan{full: []*ResourceChange{
		{Merchant: "shop", Action: Upload, API: string(uploader.APIMerchantImage)},
		{Merchant: "shop", Action: Reupload, API: string(uploader.APIV2Image)},
		{Merchant: "idle", Action: NoOp, API: string(uploader.APIMerchantImage)},
		{Merchant: "reuse", Action: Reuse, API: string(uploader.APIMerchantImage)},
	}}
	got := p.UploadMerchants(ev, map[string]MerchantIdentity{"shop": {MchID: "1", Service: "wechatpay"}})
	if len(got) != 1 {
		t.Fatalf("settings for %v, want shop only", got)
	}
	m := got["shop"]
	if !m.V3 || !m.V2 || m.Service != "wechatpay" || m.PrivateKeyFile != "keys/apiclient_key.pem" || m.V2SignType != "HMAC-SHA256" || m.CACertificateFile != "" {
		t.Errorf("shop's settings %+v", m)
	}
}

// A sandbox merchant is its sandbox's service, with the default merchant
// ID when it names none; another is its endpoints' services.
func TestMerchantIdentities(t *testing.T) {
	ev := &schema.Evaluation{Merchants: map[string]*schema.Merchant{
		"sb":   {Sandbox: true},
		"real": {MchID: "2", Endpoint: "https://api.mch.weixin.qq.com", V2Endpoint: "https://127.0.0.1:8787/"},
	}}
	ids := MerchantIdentities(ev, "sandbox-1", "1900000001")
	if got := ids["sb"]; got != (MerchantIdentity{MchID: "1900000001", Service: "sandbox-1", V2Service: "sandbox-1"}) || ev.Merchants["sb"].MchID != "1900000001" {
		t.Errorf("sandbox merchant %+v", got)
	}
	if got := ids["real"]; got != (MerchantIdentity{MchID: "2", Service: "wechatpay", V2Service: "https://127.0.0.1:8787"}) {
		t.Errorf("merchant %+v", got)
	}
}
