package state

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// A never-written local state: commands that change a state refuse it,
// readers do not open it, snapshots read it as empty, and none creates it.
func TestOpenNeverWritten(t *testing.T) {
	s := Settings{Type: TypeLocal, Path: filepath.Join(t.TempDir(), "state.db")}
	var ns *NoStateError
	if _, err := OpenExisting(s, Options{Command: "state rm"}); !errors.As(err, &ns) || ns.Where != s.Path || !strings.Contains(err.Error(), "nothing has been applied here") {
		t.Errorf("OpenExisting: %v", err)
	}
	if st, err := OpenToRead(s, Options{}, true); st != nil || err != nil {
		t.Errorf("OpenToRead: %v, %v", st, err)
	}
	snap, lookup, done, err := ReadSnapshot(s, Options{})
	if err != nil || len(snap.Resources) != 0 || snap.Outputs == nil || lookup != nil {
		t.Fatalf("ReadSnapshot: %+v, %v", snap, err)
	}
	done()
	if ok, err := Exists(s); ok || err != nil {
		t.Errorf("the state was created: %v, %v", ok, err)
	}
}

// A written state opens for each, and ReadSnapshot's lookup reads its
// cache until it is closed.
func TestOpenWritten(t *testing.T) {
	s := Settings{Type: TypeLocal, Path: filepath.Join(t.TempDir(), "state.db")}
	st, err := Open(s, Options{Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	r := Resource{Address: "wechatpay_image.a", Type: "wechatpay_image", Name: "a", Merchant: "m", MchID: "1900000001", Service: "wechatpay",
		API: "merchant_media_image", Source: "a.png", Filename: "a.png", SHA256: strings.Repeat("a", 64), Size: 1, ID: "x"}
	e := CacheEntry{CacheKey: CacheKey{Service: r.Service, MchID: r.MchID, API: r.API, SHA256: r.SHA256}, ID: r.ID, Filename: r.Filename, Size: 1}
	if err := st.CommitUpload(r, e); err != nil {
		t.Fatal(err)
	}
	st.Close()
	w, err := OpenExisting(s, Options{Command: "state rm"})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	rd, err := OpenToRead(s, Options{}, false)
	if err != nil || rd == nil {
		t.Fatalf("OpenToRead: %v, %v", rd, err)
	}
	rd.Close()
	snap, lookup, done, err := ReadSnapshot(s, Options{})
	if err != nil || len(snap.Resources) != 1 {
		t.Fatalf("ReadSnapshot: %+v, %v", snap, err)
	}
	defer done()
	got, err := lookup([]CacheKey{e.CacheKey})
	if err != nil || got[e.CacheKey].ID != "x" {
		t.Errorf("lookup: %v, %v", got, err)
	}
}

func TestExpandDigests(t *testing.T) {
	d := func(c string) string { return strings.Repeat(c, 64) }
	entries := []CacheEntry{
		{CacheKey: CacheKey{MchID: "1", SHA256: "ab" + d("1")[2:]}},
		{CacheKey: CacheKey{MchID: "2", SHA256: "ab" + d("1")[2:]}},
		{CacheKey: CacheKey{MchID: "1", SHA256: "ac" + d("2")[2:]}},
	}
	got, err := ExpandDigests(entries, CacheFilter{}, []string{"AC22", "ab11"})
	if err != nil || len(got) != 2 || got[0] != "ac"+d("2")[2:] || got[1] != "ab"+d("1")[2:] {
		t.Errorf("ExpandDigests = %v, %v", got, err)
	}
	var pe *DigestPrefixError
	if _, err := ExpandDigests(entries, CacheFilter{}, []string{"a"}); !errors.As(err, &pe) || len(pe.Digests) != 2 {
		t.Errorf("ambiguous: %v", err)
	}
	if _, err := ExpandDigests(entries, CacheFilter{MchID: "2"}, []string{"ac"}); !errors.As(err, &pe) || len(pe.Digests) != 0 {
		t.Errorf("filtered out: %v", err)
	}
	if got, err := ExpandDigests(entries, CacheFilter{}, []string{d("f")}); err != nil || got[0] != d("f") {
		t.Errorf("a whole digest stands: %v, %v", got, err)
	}
	if sel := SelectCache(entries, CacheFilter{MchID: "1"}, nil); len(sel) != 2 {
		t.Errorf("SelectCache by mchid: %v", sel)
	}
}
