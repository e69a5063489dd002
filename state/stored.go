package state

import (
	"encoding/json"
	"time"
)

// The storage formats: how resources, cache entries, outputs and the lock
// holder are written as JSON where a state keeps them (bbolt records, the
// checksums of PostgreSQL rows, the outputs file, the lock details file).
// They are private, typed apart from the package's API types (types.go,
// errors.go) and from the documents wxmedia prints (document.go), so that
// neither can change what is on disk by accident; the conversions are
// here and nowhere else. A cache entry goes through its document by a
// type conversion, which ignores JSON names: one field mapping, and a
// field added to one format and not the other does not compile. The JSON
// names are those the first versions wrote, which every later version
// still reads.

// storedResource is a resource as a JSON record: how schema version 1
// stored every resource, and how later versions store one the binary
// record cannot hold exactly (record.go).
type storedResource struct {
	Address    string    `json:"address"`
	Type       string    `json:"type"`
	Name       string    `json:"name"`
	Key        string    `json:"key,omitempty"`
	Merchant   string    `json:"merchant"`
	MchID      string    `json:"mchid"`
	Service    string    `json:"service"`
	API        string    `json:"api"`
	Source     string    `json:"source"`
	Filename   string    `json:"filename"`
	SHA256     string    `json:"sha256"`
	Size       int64     `json:"size"`
	ID         string    `json:"id"`
	UploadedAt time.Time `json:"uploaded_at"`
}

// encodeJSONRecord encodes r as a JSON record, its time in UTC.
func encodeJSONRecord(r Resource) ([]byte, error) {
	r.UploadedAt = r.UploadedAt.UTC()
	return json.Marshal(storedResource(r))
}

// decodeJSONRecord decodes a JSON record into r. It is the reference for
// the resourceDecoder's specialised parser (fastjson.go), which must give
// the same result for every input it accepts.
func decodeJSONRecord(data []byte, r *Resource) error {
	var s storedResource
	err := json.Unmarshal(data, &s)
	*r = Resource(s)
	return err
}

// storedCacheEntry is a cache entry as the cache bucket stores it and as
// the checksum of a PostgreSQL cache row covers it.
type storedCacheEntry struct {
	Service    string    `json:"service"`
	MchID      string    `json:"mchid"`
	API        string    `json:"api"`
	SHA256     string    `json:"sha256"`
	ID         string    `json:"id"`
	Filename   string    `json:"filename"`
	Size       int64     `json:"size"`
	UploadedAt time.Time `json:"uploaded_at"`
}

// encodeCacheEntry encodes e as JSON, its time in UTC.
func encodeCacheEntry(e CacheEntry) ([]byte, error) {
	e.UploadedAt = e.UploadedAt.UTC()
	return json.Marshal(storedCacheEntry(cacheDocumentEntry(e)))
}

// unmarshalCacheEntry decodes what encodeCacheEntry encoded.
func unmarshalCacheEntry(data []byte) (CacheEntry, error) {
	var s storedCacheEntry
	if err := json.Unmarshal(data, &s); err != nil {
		return CacheEntry{}, err
	}
	return DocumentCacheEntry(s).CacheEntry(), nil
}

// storedOutput is an output as the outputs bucket and the outputs file
// store it and as the checksum of a PostgreSQL output row covers it.
type storedOutput struct {
	Value     json.RawMessage `json:"value"`
	Type      json.RawMessage `json:"type"`
	Sensitive bool            `json:"sensitive,omitempty"`
}

// encodeOutput encodes o as JSON.
func encodeOutput(o Output) ([]byte, error) {
	return json.Marshal(storedOutput(o))
}

// unmarshalOutput decodes what encodeOutput encoded.
func unmarshalOutput(data []byte) (Output, error) {
	var s storedOutput
	err := json.Unmarshal(data, &s)
	return Output(s), err
}

// storedOutputs and outputsOf convert a map of outputs to and from its
// stored form.
func storedOutputs(outputs map[string]Output) map[string]storedOutput {
	if outputs == nil {
		return nil
	}
	m := make(map[string]storedOutput, len(outputs))
	for name, o := range outputs {
		m[name] = storedOutput(o)
	}
	return m
}

func outputsOf(stored map[string]storedOutput) map[string]Output {
	if stored == nil {
		return nil
	}
	m := make(map[string]Output, len(stored))
	for name, o := range stored {
		m[name] = Output(o)
	}
	return m
}

// storedLockInfo is the lock details file a local writer leaves beside
// the state (<state>.lock.json), which other wxmedia processes read.
type storedLockInfo struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Command string    `json:"command"`
	Started time.Time `json:"started"`
}
