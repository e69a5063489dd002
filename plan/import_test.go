package plan

import (
	"errors"
	"testing"
	"time"

	"github.com/wxmedia/wxmedia/state"
)

func TestImportRecord(t *testing.T) {
	f := newFixture(t, cfg, map[string][]byte{"a/x.png": pngBytes("x"), "a/y.txt": []byte("not an image")})
	t.Chdir(f.dir)
	ev := mustEval(t, f.dir)
	ids := map[string]MerchantIdentity{"m": {MchID: "1900000001", Service: "sandbox-x"}}
	addr, _ := ParseAddress(`wechatpay_image.img["x.png"]`)
	at := time.Date(2026, 5, 6, 7, 8, 9, 500, time.FixedZone("CST", 8*3600))
	r, e, err := ImportRecord(ev, ids, addr, "6uqyGjvHzOhsLleGFQVRF", at)
	if err != nil {
		t.Fatal(err)
	}
	if r.Address != addr.String() || r.ID != "6uqyGjvHzOhsLleGFQVRF" || r.SHA256 != sum(pngBytes("x")) || r.Service != "sandbox-x" || r.MchID != "1900000001" ||
		r.API != "merchant_media_image" || !r.UploadedAt.Equal(at.Truncate(time.Second)) || r.UploadedAt.Location() != time.UTC {
		t.Errorf("resource %+v", r)
	}
	if e.CacheKey != (state.CacheKey{Service: r.Service, MchID: r.MchID, API: r.API, SHA256: r.SHA256}) || e.ID != r.ID || e.Size != r.Size {
		t.Errorf("cache entry %+v", e)
	}
	missing, _ := ParseAddress(`wechatpay_image.img["z.png"]`)
	var nc *NotConfiguredError
	if _, _, err := ImportRecord(ev, ids, missing, "6uqyGjvHzOhsLleGFQVRF", at); !errors.As(err, &nc) || nc.Suggestion != `wechatpay_image.img["x.png"]` {
		t.Errorf("unknown instance: %v", err)
	}
	if _, _, err := ImportRecord(ev, ids, addr, "bad\x00id", at); err == nil {
		t.Errorf("an identifier with a control character was accepted")
	}
}
