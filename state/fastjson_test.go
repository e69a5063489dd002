package state

import (
	"fmt"
	"math/rand"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestResourceDecoderMatchesJSON decodes stored resources, as written and
// altered in ways the specialised parser must hand over, with the decoder
// and with decodeJSONRecord, the reference, and requires the same result
// and errors.
func TestResourceDecoderMatchesJSON(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var inputs []string
	for i := range 2000 {
		r := randomResource(rng, i)
		b, err := jsonRecord(r)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, string(b))
	}
	inputs = append(inputs,
		`{}`, `{"address":"a"}`, `{"Address":"a"}`, `{"address":"a","address":"b"}`, `{"address":null}`,
		`{ "address":"a"}`, `{"address":"a",}`, `{"address":"a"`, `{"size":1}`, `{"size":-0}`, `{"size":01}`,
		`{"size":1.5}`, `{"size":1e3}`, `{"size":-}`, `{"size":"1"}`, `{"size":9223372036854775808}`,
		`{"uploaded_at":"2025-01-02T03:04:05.123456789Z"}`, `{"uploaded_at":"2025-01-02T03:04:05+08:00"}`,
		`{"uploaded_at":""}`, `{"uploaded_at":"2025-1-2"}`, `{"other":"x"}`, `{"key":1}`, `{"id":"a\"b"}`,
		`{"address":"a"}x`, `[]`, `"a"`, `{"address":"\u00e9"}`, `{"type":"t","type":"u"}`, ``,
		// Keys inside addresses and file names at the end of sources,
		// which the decoder shares, and near misses.
		`{"address":"t.n[\"d/a.png\"]","key":"d/a.png","source":"img/d/a.png","filename":"a.png","id":"x"}`,
		`{"address":"t.n[\"d/a.png\"]","key":"a.png","source":"img/d/a.png","filename":"d/a.png"}`,
		`{"address":"t.n[\"a\\\"b\"]","key":"a\"b","source":"a\"b","filename":"\"b"}`,
		`{"address":"t.n[\"k\"]","key":"k\"]","source":"s","filename":"longer than s"}`,
		`{"key":"k","filename":"f"}`, `{"address":"\"]","key":""}`,
		`{"address":"t.n[\"x\"]","key":"x","key":"y","address":"t.n[\"y\"]"}`,
	)
	var dec resourceDecoder
	for _, in := range inputs {
		var got, want Resource
		gotErr := dec.decode(nil, []byte(in), &got)
		wantErr := decodeJSONRecord([]byte(in), &want)
		if (gotErr == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) && wantErr == nil {
			t.Fatalf("%s:\ndecoder: %+v, %v\njson:    %+v, %v", in, got, gotErr, want, wantErr)
		}
	}
}

// jsonRecord encodes r as schema version 1 stored every resource.
func jsonRecord(r Resource) ([]byte, error) { return encodeJSONRecord(r) }

// TestSnapshotManyResources reads a state of several decoding batches,
// binary and JSON records mixed, and compares every record with what was
// stored.
func TestSnapshotManyResources(t *testing.T) {
	l := open(t, statePath(t), Options{})
	want := map[string]Resource{}
	err := l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketResources)
		for i := range 2*decodeBatch + 3 {
			key := fmt.Sprintf("d%d/f%06d.png", i%7, i)
			r := Resource{
				Address: fmt.Sprintf("wechatpay_image.img[%q]", key), Type: "wechatpay_image", Name: "img", Key: key,
				Merchant: "m", MchID: "1900000001", Service: "wechatpay", API: "merchant_media_image",
				Source: "img/" + key, Filename: key[3:], SHA256: fmt.Sprintf("%064x", i), Size: int64(i),
				ID: fmt.Sprintf("id-%d", i), UploadedAt: time.Unix(int64(i), 0).UTC(),
			}
			if i%5 == 0 {
				r.Filename = "other.png"
			}
			encode := encodeResource
			if i%3 == 0 {
				encode = jsonRecord
			}
			v, err := encode(r)
			if err != nil {
				return err
			}
			v = seal([]byte(r.Address), v)
			want[r.Address] = r
			if err := b.Put([]byte(r.Address), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := snapshot(t, l).Resources
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("snapshot of %d resources differs from what was stored (%d)", len(got), len(want))
	}
}

// FuzzJSONRecord requires the specialised parser, for every record it
// accepts, to give what decodeJSONRecord gives, and to give an error
// whenever decodeJSONRecord does.
func FuzzJSONRecord(f *testing.F) {
	rng := rand.New(rand.NewSource(2))
	for i := range 20 {
		b, err := jsonRecord(randomResource(rng, i))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{`{}`, `{"address":"a\"b","key":"\u00e9"}`, `{"size":-0}`, `{"size":01}`,
		`{"uploaded_at":"2025-01-02T03:04:05+08:00"}`, `{"address":"t.n[\"k\"]","key":"k\"]"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var d resourceDecoder
		var fast, want Resource
		ok := d.fastJSON(data, &fast)
		wantErr := decodeJSONRecord(data, &want)
		if ok && (wantErr != nil || !reflect.DeepEqual(fast, want)) {
			t.Fatalf("%q:\nfast:      %+v\nreference: %+v, %v", data, fast, want, wantErr)
		}
	})
}
