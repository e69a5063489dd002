package apply

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wxmedia/wxmedia/state"
)

// An import records the instance and its cache entry; a second import to
// the same instance is refused and leaves the first.
func TestImport(t *testing.T) {
	st, err := state.OpenLocal(filepath.Join(t.TempDir(), "state.db"), state.Options{Command: "import"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := state.Resource{Address: "wechatpay_image.a", Type: "wechatpay_image", Name: "a", Merchant: "m", MchID: "1900000001", Service: "wechatpay",
		API: "merchant_media_image", Source: "a.png", Filename: "a.png", SHA256: strings.Repeat("a", 64), Size: 1, ID: "first", UploadedAt: at}
	e := state.CacheEntry{CacheKey: state.CacheKey{Service: r.Service, MchID: r.MchID, API: r.API, SHA256: r.SHA256}, ID: r.ID, Filename: r.Filename, Size: 1, UploadedAt: at}
	if err := Import(st, r, e); err != nil {
		t.Fatal(err)
	}
	again := r
	again.ID = "second"
	var me *ManagedError
	if err := Import(st, again, e); !errors.As(err, &me) || me.ID != "first" || me.IDField != "media_id" {
		t.Fatalf("second import: %v", err)
	}
	snap, err := st.Snapshot()
	if err != nil || snap.Resources[r.Address].ID != "first" {
		t.Errorf("state after the refused import: %+v, %v", snap.Resources, err)
	}
	got, err := st.LookupCache([]state.CacheKey{e.CacheKey})
	if err != nil || got[e.CacheKey].ID != "first" {
		t.Errorf("cache: %v, %v", got, err)
	}
}
