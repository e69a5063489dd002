package state

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// The documents wxmedia prints are a contract with scripts: these are the
// bytes state pull and state cache list -json print for a known state,
// as the first version with these documents printed them.

const wantPullDocument = `{
  "format_version": 1,
  "lineage": "l",
  "serial": 7,
  "resources": [
    {
      "address": "t.n[\"k\"]",
      "type": "t",
      "name": "n",
      "key": "k",
      "merchant": "m",
      "mchid": "1",
      "service": "s",
      "api": "a",
      "source": "src",
      "filename": "f",
      "sha256": "ab",
      "size": 3,
      "id": "id",
      "uploaded_at": "2025-03-01T07:00:00.000000005Z"
    },
    {
      "address": "t.n",
      "type": "t",
      "name": "n",
      "merchant": "",
      "mchid": "",
      "service": "",
      "api": "",
      "source": "",
      "filename": "",
      "sha256": "",
      "size": 0,
      "id": "",
      "uploaded_at": "2025-03-01T07:00:00.000000005Z"
    }
  ],
  "outputs": {
    "o": {
      "value": [
        "x"
      ],
      "type": [
        "list",
        "string"
      ],
      "sensitive": true
    },
    "p": {
      "value": 1,
      "type": "number"
    }
  },
  "cache": [
    {
      "service": "s",
      "mchid": "1",
      "api": "a",
      "sha256": "ab",
      "id": "id",
      "filename": "f",
      "size": 3,
      "uploaded_at": "2025-03-01T07:00:00.000000005Z"
    }
  ]
}`

const wantCacheList = `[
  {
    "service": "s",
    "mchid": "1",
    "api": "a",
    "sha256": "ab",
    "id": "id",
    "filename": "f",
    "size": 3,
    "uploaded_at": "2025-03-01T07:00:00.000000005Z"
  }
]`

func documentExport() *Export {
	at := time.Date(2025, 3, 1, 7, 0, 0, 5, time.UTC)
	return &Export{FormatVersion: 1, Lineage: "l", Serial: 7,
		Resources: []Resource{
			{Address: `t.n["k"]`, Type: "t", Name: "n", Key: "k", Merchant: "m", MchID: "1", Service: "s", API: "a",
				Source: "src", Filename: "f", SHA256: "ab", Size: 3, ID: "id", UploadedAt: at},
			{Address: `t.n`, Type: "t", Name: "n", UploadedAt: at},
		},
		Outputs: map[string]Output{
			"o": {Value: json.RawMessage(`["x"]`), Type: json.RawMessage(`["list","string"]`), Sensitive: true},
			"p": {Value: json.RawMessage(`1`), Type: json.RawMessage(`"number"`)},
		},
		Cache: []CacheEntry{{CacheKey: CacheKey{Service: "s", MchID: "1", API: "a", SHA256: "ab"}, ID: "id", Filename: "f", Size: 3, UploadedAt: at}},
	}
}

func TestDocumentBytes(t *testing.T) {
	doc := documentExport()
	b, err := json.MarshalIndent(NewDocument(doc), "", "  ")
	must(t, err)
	if string(b) != wantPullDocument {
		t.Errorf("state pull document:\n%s\nwant:\n%s", b, wantPullDocument)
	}
	// Read back as state push reads it (outputs' JSON as written: here
	// compact, as the state hands it out).
	compact, err := json.Marshal(NewDocument(doc))
	must(t, err)
	var back Document
	must(t, json.Unmarshal(compact, &back))
	if got := back.Export(); !reflect.DeepEqual(got, doc) {
		t.Errorf("document read back as %+v, want %+v", got, doc)
	}
	b, err = json.MarshalIndent(CacheDocument(doc.Cache), "", "  ")
	must(t, err)
	if string(b) != wantCacheList {
		t.Errorf("cache list:\n%s\nwant:\n%s", b, wantCacheList)
	}
	if b, _ := json.Marshal(CacheDocument(nil)); string(b) != "[]" {
		t.Errorf("empty cache list: %s, want []", b)
	}
	if b, _ := json.Marshal(NewDocument(&Export{})); string(b) != `{"format_version":0,"lineage":"","serial":0,"resources":[],"outputs":{},"cache":[]}` {
		t.Errorf("empty document: %s", b)
	}
}

// TestStoredBytes pins the JSON the storage formats write, as schema
// version 1 wrote resources and every version writes cache entries and
// outputs: existing states hold these bytes, and their checksums cover
// them.
func TestStoredBytes(t *testing.T) {
	at := time.Date(2025, 3, 1, 8, 0, 0, 5, time.FixedZone("x", 0))
	r := Resource{Address: `t.n["k"]`, Type: "t", Name: "n", Key: "k", Merchant: "m", MchID: "1", Service: "s", API: "a",
		Source: "src", Filename: "f", SHA256: "ab", Size: 3, ID: "id", UploadedAt: at}
	e := CacheEntry{CacheKey: CacheKey{Service: "s", MchID: "1", API: "a", SHA256: "ab"}, ID: "id", Filename: "f", Size: 3, UploadedAt: at}
	o := Output{Value: json.RawMessage(`["x"]`), Type: json.RawMessage(`["list","string"]`), Sensitive: true}
	noKey := r
	noKey.Key = ""
	for _, tc := range []struct {
		what string
		enc  func() ([]byte, error)
		want string
	}{
		{"resource", func() ([]byte, error) { return encodeJSONRecord(r) },
			`{"address":"t.n[\"k\"]","type":"t","name":"n","key":"k","merchant":"m","mchid":"1","service":"s","api":"a","source":"src","filename":"f","sha256":"ab","size":3,"id":"id","uploaded_at":"2025-03-01T08:00:00.000000005Z"}`},
		{"resource without key", func() ([]byte, error) { return encodeJSONRecord(noKey) },
			`{"address":"t.n[\"k\"]","type":"t","name":"n","merchant":"m","mchid":"1","service":"s","api":"a","source":"src","filename":"f","sha256":"ab","size":3,"id":"id","uploaded_at":"2025-03-01T08:00:00.000000005Z"}`},
		{"cache entry", func() ([]byte, error) { return encodeCacheEntry(e) },
			`{"service":"s","mchid":"1","api":"a","sha256":"ab","id":"id","filename":"f","size":3,"uploaded_at":"2025-03-01T08:00:00.000000005Z"}`},
		{"output", func() ([]byte, error) { return encodeOutput(o) }, `{"value":["x"],"type":["list","string"],"sensitive":true}`},
		{"plain output", func() ([]byte, error) {
			return encodeOutput(Output{Value: json.RawMessage(`1`), Type: json.RawMessage(`"number"`)})
		}, `{"value":1,"type":"number"}`},
	} {
		b, err := tc.enc()
		must(t, err)
		if string(b) != tc.want {
			t.Errorf("%s: %s\nwant %s", tc.what, b, tc.want)
		}
	}
	var back Resource
	must(t, decodeJSONRecord([]byte(`{"address":"t.n[\"k\"]","type":"t","name":"n","key":"k","merchant":"m","mchid":"1","service":"s","api":"a","source":"src","filename":"f","sha256":"ab","size":3,"id":"id","uploaded_at":"2025-03-01T08:00:00.000000005Z"}`), &back))
	r.UploadedAt = r.UploadedAt.UTC()
	if back != r {
		t.Errorf("resource read back as %+v", back)
	}
	ge, err := unmarshalCacheEntry([]byte(`{"service":"s","mchid":"1","api":"a","sha256":"ab","id":"id","filename":"f","size":3,"uploaded_at":"2025-03-01T08:00:00.000000005Z"}`))
	must(t, err)
	e.UploadedAt = e.UploadedAt.UTC()
	if ge != e {
		t.Errorf("cache entry read back as %+v", ge)
	}
}
