package plan

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func testEntries(n int) []noopEntry {
	var es []noopEntry
	for i := range n {
		c := &ResourceChange{Addr: fmt.Sprintf("wechatpay_image.img[\"f%04d.png\"]", i), Type: "wechatpay_image", Name: "img",
			Key: fmt.Sprintf("f%04d.png", i), Merchant: "m", MchID: "1900000001", Service: "wechatpay", API: "merchant_media_image",
			After: &Object{Source: "a", Filename: "a.png", SHA256: sum([]byte{byte(i)}), Size: int64(i)}}
		es = append(es, noopEntry{addr: c.Addr, digest: noopDigest(c), id: fmt.Sprintf("ID-%d", i),
			at: time.Date(2026, 1, 2, 3, 4, 5, i, time.UTC)})
	}
	return es
}

func TestNoopIndexRoundTrip(t *testing.T) {
	st := NoopState{Backend: "local:/x/.wxmedia/state.db", Lineage: "L", Serial: 42}
	es := testEntries(300)
	buf := encodeNoopIndex(st, es)
	x, err := parseNoopIndex(buf)
	if err != nil {
		t.Fatal(err)
	}
	if x.State() != st || x.Len() != len(es) {
		t.Fatalf("state %+v, %d entries", x.State(), x.Len())
	}
	for i, e := range es {
		// Found at its own position, from a wrong hint, and without one.
		for _, hint := range []int{i, 0, -1, len(es) + 5} {
			n := x.match(hint, e.addr, &e.digest)
			if n != i {
				t.Fatalf("%s from %d: entry %d", e.addr, hint, n)
			}
		}
		id, at := x.recorded(i)
		if id != e.id || at != e.at {
			t.Fatalf("%s: %q %v, want %q %v", e.addr, id, at, e.id, e.at)
		}
		other := e.digest
		other[3] ^= 1
		if x.match(i, e.addr, &other) >= 0 {
			t.Fatalf("%s matched another digest", e.addr)
		}
	}
	if x.find(-1, "wechatpay_image.img[\"zzz\"]") >= 0 || x.find(-1, "a") >= 0 {
		t.Fatal("found an address not in the index")
	}
	// A time before 1970 and the zero time survive.
	old := []noopEntry{{addr: "a", id: "i", at: time.Time{}}, {addr: "b", id: "j", at: time.Date(1960, 5, 6, 7, 8, 9, 10, time.UTC)}}
	x, err = parseNoopIndex(encodeNoopIndex(st, old))
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range old {
		if _, at := x.recorded(i); at != e.at {
			t.Fatalf("%v came back as %v", e.at, at)
		}
	}
}

// Any change to any byte, and any truncation, is refused, never
// mistaken for an index.
func TestNoopIndexDamage(t *testing.T) {
	buf := encodeNoopIndex(NoopState{Backend: "b", Lineage: "L", Serial: 1}, testEntries(3))
	for i := range buf {
		for _, bit := range []byte{1, 0x80} {
			b := bytes.Clone(buf)
			b[i] ^= bit
			if _, err := parseNoopIndex(b); err == nil {
				t.Fatalf("byte %d bit %#x flipped: accepted", i, bit)
			}
		}
	}
	for n := range len(buf) {
		if _, err := parseNoopIndex(buf[:n]); err == nil {
			t.Fatalf("truncated to %d bytes: accepted", n)
		}
	}
	// Entries out of order, with a valid checksum, are refused too.
	es := testEntries(3)
	es[0], es[1] = es[1], es[0]
	if _, err := parseNoopIndex(encodeNoopIndex(NoopState{}, es)); err == nil {
		t.Fatal("entries out of order accepted")
	}
}

func TestLoadNoopIndex(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "noopindex")
	if x, err := LoadNoopIndex(path); x != nil || err != nil {
		t.Fatalf("missing index: %v %v", x, err)
	}
	os.Mkdir(path, 0o700)
	if x, err := LoadNoopIndex(path); x != nil || err == nil {
		t.Fatalf("directory: %v %v", x, err)
	}
	os.Remove(path)
	st := NoopState{Backend: "b", Lineage: "L", Serial: 1}
	if err := writeNoopIndex(path, st, testEntries(5), nil); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
	x, err := LoadNoopIndex(path)
	if err != nil || x.Len() != 5 {
		t.Fatalf("%v %v", x, err)
	}
	// The same content again leaves the file as it is.
	old := time.Now().Add(-time.Hour)
	os.Chtimes(path, old, old)
	before, _ := os.Stat(path)
	if err := writeNoopIndex(path, st, testEntries(5), x); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); !fi.ModTime().Equal(before.ModTime()) {
		t.Fatalf("same index rewritten: %v", fi.ModTime())
	}
	if err := writeNoopIndex(path, NoopState{Backend: "b", Lineage: "L", Serial: 2}, testEntries(5), x); err != nil {
		t.Fatal(err)
	}
	if y, _ := LoadNoopIndex(path); y == nil || y.State().Serial != 2 {
		t.Fatalf("index of the next serial not written: %+v", y)
	}
	if err := RemoveNoopIndex(path); err != nil {
		t.Fatal(err)
	}
	if err := RemoveNoopIndex(path); err != nil {
		t.Fatal(err)
	}
}

// FuzzNoopIndex feeds arbitrary bytes to the index parser: it refuses or
// indexes them without panicking, and every lookup stays in bounds.
func FuzzNoopIndex(f *testing.F) {
	f.Add(encodeNoopIndex(NoopState{Backend: "b", Lineage: "L", Serial: 1}, testEntries(3)))
	f.Add([]byte(noopIndexMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := parseNoopIndex(b)
		if err != nil {
			return
		}
		for n := range x.Len() {
			a := x.addr(n)
			var d [digestSize]byte
			copy(d[:], x.digest(n))
			if x.match(-1, a, &d) != n {
				t.Fatalf("entry %d not found by its address", n)
			}
			x.recorded(n)
		}
	})
}

// Every field the digest covers changes it, the address included: match
// takes the entry at its hint on the digest alone.
func TestNoopDigestFields(t *testing.T) {
	base := func() *ResourceChange {
		return &ResourceChange{Addr: `wechatpay_image.img["a.png"]`, Type: "wechatpay_image", Name: "img", Key: "a.png",
			Merchant: "m", MchID: "1900000001", Service: "wechatpay", API: "merchant_media_image",
			After: &Object{Source: "img/a.png", Filename: "a.png", SHA256: sum([]byte("a")), Size: 1}}
	}
	d0 := noopDigest(base())
	if noopDigest(base()) != d0 {
		t.Fatal("the digest is not a function of its fields")
	}
	edits := map[string]func(c *ResourceChange){
		"addr":     func(c *ResourceChange) { c.Addr = `wechatpay_image.img["b.png"]` },
		"type":     func(c *ResourceChange) { c.Type = "wechatpay_video" },
		"name":     func(c *ResourceChange) { c.Name = "img2" },
		"key":      func(c *ResourceChange) { c.Key = "b.png" },
		"merchant": func(c *ResourceChange) { c.Merchant = "n" },
		"mchid":    func(c *ResourceChange) { c.MchID = "1900000002" },
		"service":  func(c *ResourceChange) { c.Service = "sandbox" },
		"api":      func(c *ResourceChange) { c.API = "other" },
		"source":   func(c *ResourceChange) { c.After.Source = "img/b.png" },
		"filename": func(c *ResourceChange) { c.After.Filename = "b.png" },
		"sha256":   func(c *ResourceChange) { c.After.SHA256 = sum([]byte("b")) },
		"size":     func(c *ResourceChange) { c.After.Size = 2 },
		// Lengths are part of it: bytes moved from one field to the next.
		"boundary": func(c *ResourceChange) { c.Type, c.Name = "wechatpay_imagei", "mg" },
	}
	for name, edit := range edits {
		c := base()
		edit(c)
		if noopDigest(c) == d0 {
			t.Errorf("changing %s leaves the digest as it was", name)
		}
	}
	// An index entry for one address is not matched by another address's
	// change at its position.
	es := testEntries(3)
	x, err := parseNoopIndex(encodeNoopIndex(NoopState{Lineage: "L"}, es))
	if err != nil {
		t.Fatal(err)
	}
	if n := x.match(0, es[1].addr, &es[1].digest); n != 1 {
		t.Fatalf("entry %d for %s from hint 0", n, es[1].addr)
	}
}

// BenchmarkNoopIndexMatch measures what the fast path pays per instance
// for the index: its digest and finding its entry, in the instances'
// order.
func BenchmarkNoopIndexMatch(b *testing.B) {
	const n = 100000
	var cs []*ResourceChange
	var es []noopEntry
	for i := range n {
		key := fmt.Sprintf("dir%03d/photo-%06d.png", i/1000, i)
		c := &ResourceChange{Addr: fmt.Sprintf("wechatpay_image.photos[%q]", key), Type: "wechatpay_image", Name: "photos",
			Key: key, Merchant: "m", MchID: "1900000001", Service: "wechatpay", API: "merchant_media_image",
			After: &Object{Source: "photos/" + key, Filename: fmt.Sprintf("photo-%06d.png", i), SHA256: sum([]byte(key)), Size: int64(i)}}
		cs = append(cs, c)
		es = append(es, noopEntry{addr: c.Addr, digest: noopDigest(c), id: fmt.Sprintf("media-%d", i), at: time.Unix(int64(i), 0)})
	}
	x, err := parseNoopIndex(encodeNoopIndex(NoopState{Lineage: "L"}, es))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		shared := noopShared(cs[0])
		for i, c := range cs {
			d := noopDigestWith(&shared, c)
			if x.match(i, c.Addr, &d) != i {
				b.Fatal("no match")
			}
		}
	}
}

// A loaded index (read in place, mapped on Linux) keeps its content when
// a writer replaces the file, as writers do, and when the file is
// removed; an empty file is refused, not mapped.
func TestLoadedNoopIndexOutlivesItsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "noopindex")
	st := NoopState{Backend: "b", Lineage: "L", Serial: 1}
	es := testEntries(50)
	if err := writeNoopIndex(path, st, es, nil); err != nil {
		t.Fatal(err)
	}
	x, err := LoadNoopIndex(path)
	if err != nil || x == nil {
		t.Fatalf("%v %v", x, err)
	}
	// Truncated in place first, then replaced and removed: the loaded
	// index must not be read from the file any more.
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	id, _ := x.recorded(7)
	if err := writeNoopIndex(path, NoopState{Backend: "b", Lineage: "L", Serial: 2}, testEntries(3), x); err != nil {
		t.Fatal(err)
	}
	if err := RemoveNoopIndex(path); err != nil {
		t.Fatal(err)
	}
	if x.Len() != 50 || x.State() != st || id != es[7].id {
		t.Fatalf("loaded index changed with its file: %d entries, %+v, %q", x.Len(), x.State(), id)
	}
	for i, e := range es {
		if x.match(i, e.addr, &e.digest) != i {
			t.Fatalf("%s not matched after the file was replaced", e.addr)
		}
	}
	os.WriteFile(path, nil, 0o600)
	if x, err := LoadNoopIndex(path); x != nil || err == nil {
		t.Fatalf("empty file: %v %v", x, err)
	}
}
