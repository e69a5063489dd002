package plan

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wxmedia/wxmedia/state"
)

func goodDocument() *state.Export {
	at := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	sha := strings.Repeat("ab", 32)
	return &state.Export{
		FormatVersion: state.ExportFormatVersion,
		Lineage:       "0b8f1c6e-2d7a-4c1e-9f3b-5a6d7e8f9a0b",
		Serial:        3,
		Resources: []state.Resource{{
			Address: `wechatpay_image.banner["a.png"]`, Type: "wechatpay_image", Name: "banner", Key: "a.png",
			Merchant: "acme", MchID: "1900000001", Service: "wechatpay", API: "merchant_media_image",
			Source: "assets/a.png", Filename: "a.png", SHA256: sha, Size: 1024, ID: "MEDIA_ID_1", UploadedAt: at,
		}, {
			Address: "wechatpay_coupon_image.logo", Type: "wechatpay_coupon_image", Name: "logo",
			Merchant: "acme", MchID: "1900000001", Service: "https://127.0.0.1:8787", API: "product_coupon_image",
			Source: "logo.png", Filename: "logo.png", SHA256: sha, Size: 10, ID: "https://example.com/x.png", UploadedAt: at,
		}},
		Outputs: map[string]state.Output{"ids": {Value: json.RawMessage(`["a"]`), Type: json.RawMessage(`["list","string"]`)}},
		Cache: []state.CacheEntry{{
			CacheKey: state.CacheKey{Service: "wechatpay", MchID: "1900000001", API: "merchant_media_image", SHA256: sha},
			ID:       "MEDIA_ID_1", Filename: "a.png", Size: 1024, UploadedAt: at,
		}},
	}
}

func TestCheckStateDocument(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := CheckStateDocument(goodDocument(), now); err != nil {
		t.Fatalf("a good document is refused: %v", err)
	}
	for _, tc := range []struct {
		name, field string
		edit        func(d *state.Export)
	}{
		{"negative size", "size", func(d *state.Export) { d.Resources[0].Size = -5 }},
		{"zero size", "size", func(d *state.Export) { d.Resources[0].Size = 0 }},
		{"size over the API's limit", "size", func(d *state.Export) { d.Resources[0].Size = 3 << 20 }},
		{"malformed address", "address", func(d *state.Export) { d.Resources[0].Address = `wechatpay_image.banner["a.png"` }},
		{"address of another resource", "address", func(d *state.Export) { d.Resources[0].Address = `wechatpay_image.other["a.png"]` }},
		{"address of another key", "address", func(d *state.Export) { d.Resources[0].Address = `wechatpay_image.banner["b.png"]` }},
		{"address not canonical", "address", func(d *state.Export) { d.Resources[0].Address = ` wechatpay_image.banner [ "a.png" ]` }},
		{"unknown type", "type", func(d *state.Export) { d.Resources[0].Type = "aws_s3_object" }},
		{"bad name", "name", func(d *state.Export) { d.Resources[0].Name = "1x" }},
		{"bad merchant", "merchant", func(d *state.Export) { d.Resources[0].Merchant = "" }},
		{"bad mchid", "mchid", func(d *state.Export) { d.Resources[0].MchID = "19000000x1" }},
		{"bad service", "service", func(d *state.Export) { d.Resources[0].Service = "" }},
		{"api of another type", "api", func(d *state.Export) { d.Resources[0].API = "v2_media_image" }},
		{"uppercase sha256", "sha256", func(d *state.Export) { d.Resources[0].SHA256 = strings.Repeat("AB", 32) }},
		{"short sha256", "sha256", func(d *state.Export) { d.Resources[0].SHA256 = "abc" }},
		{"control character in source", "source", func(d *state.Export) { d.Resources[0].Source = "a\x1b[2K.png" }},
		{"bad filename", "filename", func(d *state.Export) { d.Resources[0].Filename = "a/b.png" }},
		{"format character in filename", "filename", func(d *state.Export) { d.Resources[0].Filename = "a\u202e.png" }},
		{"empty id", "id", func(d *state.Export) { d.Resources[0].ID = "" }},
		{"id with an escape", "id", func(d *state.Export) { d.Resources[0].ID = "M\x1b[31m" }},
		{"image_url not a URL", "id", func(d *state.Export) { d.Resources[1].ID = "not a url" }},
		{"zero time", "uploaded_at", func(d *state.Export) { d.Resources[0].UploadedAt = time.Time{} }},
		{"time in the past", "uploaded_at", func(d *state.Export) { d.Resources[0].UploadedAt = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"time in the future", "uploaded_at", func(d *state.Export) { d.Resources[0].UploadedAt = now.Add(72 * time.Hour) }},
		{"cache: negative size", "size", func(d *state.Export) { d.Cache[0].Size = -1 }},
		{"cache: unknown api", "api", func(d *state.Export) { d.Cache[0].API = "nope" }},
		{"cache: bad id", "id", func(d *state.Export) { d.Cache[0].ID = strings.Repeat("x", 600) }},
		{"cache: bad mchid", "mchid", func(d *state.Export) { d.Cache[0].MchID = "-1" }},
		{"cache: bad time", "uploaded_at", func(d *state.Export) { d.Cache[0].UploadedAt = now.AddDate(5, 0, 0) }},
		{"output value of another type", "value", func(d *state.Export) {
			d.Outputs["ids"] = state.Output{Value: json.RawMessage(`{"a":1}`), Type: json.RawMessage(`["list","string"]`)}
		}},
		{"output type not a type", "type", func(d *state.Export) {
			d.Outputs["ids"] = state.Output{Value: json.RawMessage(`1`), Type: json.RawMessage(`"integer"`)}
		}},
		{"output name", "name", func(d *state.Export) { d.Outputs["a b"] = d.Outputs["ids"] }},
		{"lineage", "lineage", func(d *state.Export) { d.Lineage = "not-a-uuid" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := goodDocument()
			tc.edit(d)
			err := CheckStateDocument(d, now)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, state.ErrInvalid) {
				t.Fatalf("CheckStateDocument = %v, want field %q refused", err, tc.field)
			}
			if strings.ContainsAny(err.Error(), "\x1b\u202e") {
				t.Fatalf("the message holds a raw control character: %q", err)
			}
		})
	}
}

func TestDecodeStateDocumentNamesField(t *testing.T) {
	good, _ := json.Marshal(state.NewDocument(goodDocument()))
	for _, tc := range []struct{ old, new, where, field string }{
		{`"uploaded_at":"2025-03-01T08:00:00Z"`, `"uploaded_at":"yesterday"`, "resources[0]", "uploaded_at"},
		{`"size":1024`, `"size":"big"`, "resources[0]", "size"},
		{`"size":1024,"uploaded_at"`, `"size":1.5,"uploaded_at"`, "cache[0]", "size"},
	} {
		doc := strings.Replace(string(good), tc.old, tc.new, 1)
		if doc == string(good) {
			t.Fatalf("%s not in the document", tc.old)
		}
		_, err := DecodeStateDocument([]byte(doc))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Where != tc.where || fe.Field != tc.field {
			t.Errorf("DecodeStateDocument with %s = %v, want %s field %q", tc.new, err, tc.where, tc.field)
		}
	}
}

// Merchant instance names in a pushed state are those
// schema.MerchantInstanceName writes, and nothing else.
func TestValidMerchantInstance(t *testing.T) {
	for _, n := range []string{
		"acme", `merchant.shop["sh-001"]`, "merchant.acme", `module.store["a"].merchant.m`,
		`module.a[0].module.b.merchant.m["x\"y"]`,
	} {
		if !validMerchantInstance(n) {
			t.Errorf("%s refused", n)
		}
	}
	for _, n := range []string{
		"", "1acme", `merchant["x"]`, `module.store.merchant`, `module["a"].merchant.m`, `merchant.shop.x`,
		`wechatpay_image.logo`, `module.store["a"]`, `wechatpay_image.x.merchant.m`, "merchant.shop[\"a\"]\n",
	} {
		if validMerchantInstance(n) {
			t.Errorf("%q accepted", n)
		}
	}
}
