package state

import (
	"fmt"
	"math/rand"
	"reflect"
	"testing"
	"time"
)

// randomResource makes a resource with awkward text: quotes, backslashes,
// HTML and JavaScript-breaking characters, non-ASCII and invalid UTF-8, keys inside and outside their address, file
// names inside and outside their source.
func randomResource(rng *rand.Rand, i int) Resource {
	pieces := []string{"a", "b.png", "ü", "日本", "\"", "\\", "]", "\"]", "<>&", "\u2028", "\x01", "\xff", " ", "/", "é"}
	str := func() string {
		s := ""
		for range rng.Intn(4) {
			s += pieces[rng.Intn(len(pieces))]
		}
		return s
	}
	key := str()
	r := Resource{
		Address: fmt.Sprintf("wechatpay_image.img[%q]", key), Type: "wechatpay_image", Name: str(), Key: key,
		Merchant: str(), MchID: "1900000001", Service: str(), API: "merchant_media_image", Source: str() + "/" + str(),
		Filename: str(), SHA256: fmt.Sprintf("%064x", rng.Uint64()), Size: rng.Int63n(1<<40) - 1<<20, ID: str(),
		UploadedAt: time.Unix(rng.Int63n(1<<35)-1<<34, rng.Int63n(1e9)),
	}
	switch i % 9 {
	case 0:
		r.UploadedAt = time.Time{}
	case 1:
		r.Address = "wechatpay_image.one"
		r.Key = ""
	case 2:
		r.Filename = r.Source[len(r.Source)/2:]
	case 3:
		r.Address = `t.n["` + r.Key + `"]` // the key as it is, inside the address
	case 4:
		r.SHA256 = "not hex"
	case 5:
		r.SHA256 = fmt.Sprintf("%064X", rng.Uint64())
	}
	return r
}

// TestRecordRoundTrip stores resources and reads them back, requiring
// exactly what the JSON of schema version 1 gives, whichever form the
// record took.
func TestRecordRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	var dec resourceDecoder
	binaries := 0
	for i := range 3000 {
		r := randomResource(rng, i)
		v, err := encodeResource(r)
		if err != nil {
			t.Fatal(err)
		}
		j, err := jsonRecord(r)
		if err != nil {
			t.Fatal(err)
		}
		var want Resource
		if err := decodeJSONRecord(j, &want); err != nil {
			t.Fatal(err)
		}
		var got Resource
		if err := dec.decode([]byte(r.Address), v, &got); err != nil {
			t.Fatalf("%+v: %v", r, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("stored %+v\n got %+v\nwant %+v", r, got, want)
		}
		if v[0] == recordTag {
			binaries++
			if len(v) >= len(j) {
				t.Errorf("binary record of %d bytes for %d bytes of JSON", len(v), len(j))
			}
			// Every shorter record, and every record with one more byte,
			// is refused.
			for n := range len(v) {
				if dec.decode([]byte(r.Address), v[:n], &got) == nil {
					t.Fatalf("%+v: truncated to %d bytes, decoded as %+v", r, n, got)
				}
			}
			if dec.decode([]byte(r.Address), append(v[:len(v):len(v)], 0), &got) == nil {
				t.Fatalf("%+v: a trailing byte decoded", r)
			}
		}
	}
	if binaries < 600 || binaries > 2900 {
		t.Errorf("%d of 3000 records were binary: both forms must be tested", binaries)
	}
}

// FuzzResourceRecord decodes arbitrary records: never a panic, and a
// record that decodes is stored again as what it decoded to.
func FuzzResourceRecord(f *testing.F) {
	rng := rand.New(rand.NewSource(3))
	for i := range 20 {
		r := randomResource(rng, i)
		v, err := encodeResource(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(r.Address), v)
	}
	f.Fuzz(func(t *testing.T, key, data []byte) {
		var dec resourceDecoder
		var r Resource
		if dec.decode(key, data, &r) != nil || len(data) == 0 || data[0] != recordTag {
			return
		}
		if r.Address != string(key) {
			t.Fatalf("address %q from key %q", r.Address, key)
		}
		v, err := encodeResource(r)
		if err != nil {
			return // a time JSON cannot hold either
		}
		var back Resource
		if err := dec.decode(key, v, &back); err != nil {
			t.Fatalf("%+v stored again: %v", r, err)
		}
		if !reflect.DeepEqual(back, r) && binaryFits(r) {
			t.Fatalf("decoded %+v\nstored again %+v", r, back)
		}
	})
}
