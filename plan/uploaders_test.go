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
	p := &Plan{Changes: []*ResourceChange{
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
