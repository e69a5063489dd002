package state

import (
	"encoding/json"
	"time"
)

// Resource is one resource instance recorded in the state.
type Resource struct {
	// Address identifies the instance, e.g. wechatpay_image.banner["a.png"].
	// It is never empty and is unique within a state.
	Address string `json:"address"`
	// Type is the resource type, e.g. wechatpay_image.
	Type string `json:"type"`
	// Name is the resource name, e.g. banner.
	Name string `json:"name"`
	// Key is the instance key given by for_each ("a.png"); it is "" for a
	// resource without for_each.
	Key string `json:"key,omitempty"`
	// Merchant is the name of the merchant block in the configuration.
	Merchant string `json:"merchant"`
	// MchID is the merchant ID the identifier was issued to.
	MchID string `json:"mchid"`
	// Service is "wechatpay" for WeChat Pay's own hosts, a sandbox instance
	// ID, or an endpoint URL.
	Service string `json:"service"`
	// API is the upload API, e.g. merchant_media_image.
	API string `json:"api"`
	// Source is the source path as written, relative to the configuration
	// directory.
	Source string `json:"source"`
	// Filename is the file name sent with the upload.
	Filename string `json:"filename"`
	// SHA256 is the SHA-256 of the uploaded bytes: 64 lowercase hex digits.
	SHA256 string `json:"sha256"`
	// Size is the number of bytes uploaded.
	Size int64 `json:"size"`
	// ID is the identifier returned by the service (media_id, file_id or
	// image_url). It is never empty.
	ID string `json:"id"`
	// UploadedAt is when the identifier was first issued; a reuse keeps it.
	// It is stored in UTC.
	UploadedAt time.Time `json:"uploaded_at"`
}

// CacheKey identifies uploaded content: the same bytes sent to the same
// service for the same merchant and API.
type CacheKey struct {
	// Service is "wechatpay", a sandbox instance ID, or an endpoint URL. It
	// is never empty and holds no NUL byte.
	Service string `json:"service"`
	// MchID is the merchant ID. It is never empty and holds no NUL byte.
	MchID string `json:"mchid"`
	// API is the upload API. It is never empty and holds no NUL byte.
	API string `json:"api"`
	// SHA256 is the SHA-256 of the bytes: 64 lowercase hex digits.
	SHA256 string `json:"sha256"`
}

// CacheEntry is the identifier recorded for a CacheKey.
type CacheEntry struct {
	CacheKey
	// ID is the identifier returned by the service. It is never empty.
	ID string `json:"id"`
	// Filename is the file name sent with the upload.
	Filename string `json:"filename"`
	// Size is the number of bytes uploaded.
	Size int64 `json:"size"`
	// UploadedAt is when the identifier was issued, stored in UTC.
	UploadedAt time.Time `json:"uploaded_at"`
}

// Output is one output value of a configuration.
type Output struct {
	// Value is the value in cty's JSON encoding. It is valid JSON.
	Value json.RawMessage `json:"value"`
	// Type is the value's type in cty's JSON encoding. It is valid JSON.
	Type json.RawMessage `json:"type"`
	// Sensitive is true when the value must not be shown.
	Sensitive bool `json:"sensitive,omitempty"`
}

// Snapshot is the whole state as of one read transaction.
type Snapshot struct {
	// Lineage is the state's random identifier; it is "" only when no state
	// exists yet.
	Lineage string
	// Serial is the number of write transactions committed since the state
	// was created; it is 0 for a new or missing state.
	Serial uint64
	// Resources holds every resource instance by address; it is never nil.
	Resources map[string]Resource
	// Outputs holds every output by name; it is never nil.
	Outputs map[string]Output
}

// Backend is what plan and apply need from a state store. Its methods are
// safe for concurrent use.
type Backend interface {
	// Snapshot reads the whole state in one read transaction.
	Snapshot() (*Snapshot, error)
	// LookupCache looks up keys in one read transaction and returns the
	// entries found; keys not in the cache are absent from the map.
	LookupCache(keys []CacheKey) (map[CacheKey]CacheEntry, error)
	// ListCache returns every cache entry, sorted by service, merchant ID,
	// API and SHA-256.
	ListCache() ([]CacheEntry, error)
	// CommitUpload durably records a verified identifier: the resource and
	// its cache entry, in one transaction that is synced to disk before
	// CommitUpload returns.
	CommitUpload(r Resource, e CacheEntry) error
	// PutResource records a resource without touching the cache, e.g. for a
	// reuse or a metadata change.
	PutResource(r Resource) error
	// RemoveResources removes the resources at addrs; addresses not in the
	// state are ignored.
	RemoveResources(addrs ...string) error
	// SetOutputs replaces all outputs.
	SetOutputs(outputs map[string]Output) error
	// Close releases the backend and its lock.
	Close() error
}
