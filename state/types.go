package state

import (
	"encoding/json"
	"time"
)

// Resource is one resource instance recorded in the state. How it is
// stored (stored.go) and how documents show it (document.go) are typed
// apart.
type Resource struct {
	// Address identifies the instance, e.g. wechatpay_image.banner["a.png"].
	// It is never empty and is unique within a state.
	Address string
	// Type is the resource type, e.g. wechatpay_image.
	Type string
	// Name is the resource name, e.g. banner.
	Name string
	// Key is the instance key given by for_each ("a.png"); it is "" for a
	// resource without for_each.
	Key string
	// Merchant is the name of the merchant block in the configuration.
	Merchant string
	// MchID is the merchant ID the identifier was issued to.
	MchID string
	// Service is "wechatpay" for WeChat Pay's own hosts, a sandbox instance
	// ID, or an endpoint URL.
	Service string
	// API is the upload API, e.g. merchant_media_image.
	API string
	// Source is the source path as written, relative to the configuration
	// directory.
	Source string
	// Filename is the file name sent with the upload.
	Filename string
	// SHA256 is the SHA-256 of the uploaded bytes: 64 lowercase hex digits.
	SHA256 string
	// Size is the number of bytes uploaded.
	Size int64
	// ID is the identifier returned by the service (media_id, file_id or
	// image_url). It is never empty.
	ID string
	// UploadedAt is when the identifier was first issued; a reuse keeps it.
	// It is stored in UTC.
	UploadedAt time.Time
}

// CacheKey returns the key of the content r records.
func (r Resource) CacheKey() CacheKey {
	return CacheKey{Service: r.Service, MchID: r.MchID, API: r.API, SHA256: r.SHA256}
}

// CacheEntry returns the cache entry that records r's upload: its key,
// identifier, file name, size and time.
func (r Resource) CacheEntry() CacheEntry {
	return CacheEntry{CacheKey: r.CacheKey(), ID: r.ID, Filename: r.Filename, Size: r.Size, UploadedAt: r.UploadedAt}
}

// CacheKey identifies uploaded content: the same bytes sent to the same
// service for the same merchant and API.
type CacheKey struct {
	// Service is "wechatpay", a sandbox instance ID, or an endpoint URL. It
	// is never empty and holds no NUL byte.
	Service string
	// MchID is the merchant ID. It is never empty and holds no NUL byte.
	MchID string
	// API is the upload API. It is never empty and holds no NUL byte.
	API string
	// SHA256 is the SHA-256 of the bytes: 64 lowercase hex digits.
	SHA256 string
}

// CacheEntry is the identifier recorded for a CacheKey.
type CacheEntry struct {
	CacheKey
	// ID is the identifier returned by the service. It is never empty.
	ID string
	// Filename is the file name sent with the upload.
	Filename string
	// Size is the number of bytes uploaded.
	Size int64
	// UploadedAt is when the identifier was issued, stored in UTC.
	UploadedAt time.Time
}

// Output is one output value of a configuration.
type Output struct {
	// Value is the value in cty's JSON encoding. It is valid JSON.
	Value json.RawMessage
	// Type is the value's type in cty's JSON encoding. It is valid JSON.
	Type json.RawMessage
	// Sensitive is true when the value must not be shown.
	Sensitive bool
}

// Snapshot is the whole state as of one read transaction.
type Snapshot struct {
	// Lineage is the state's random identifier; it is "" only when no state
	// exists yet.
	Lineage string
	// WriteID is the state's write identifier (see Head.WriteID), read in
	// the same transaction.
	WriteID string
	// Serial is the number of write transactions committed since the state
	// was created; it is 0 for a new or missing state.
	Serial uint64
	// Resources holds every resource instance by address; it is never nil.
	Resources map[string]Resource
	// Outputs holds every output by name; it is never nil.
	Outputs map[string]Output
	// PlanKey is a random secret of the state, made with it, that signs
	// what a saved plan records besides its changes (see plan.Sign). It is
	// nil when the state has none yet: a missing state, or one that no
	// writer of this version has opened. It is never exported.
	PlanKey []byte
}

// Head is everything of a state but its resources and cache entries, as of
// one read transaction: what Snapshot returns besides Resources, and the
// number of resources instead.
type Head struct {
	// Lineage is the state's random identifier; "" only when no state
	// exists yet.
	Lineage string
	// Serial is the state's serial (see Snapshot.Serial).
	Serial uint64
	// WriteID is a random identifier that changes with every write
	// transaction that changes the serial (and a push): two states with
	// the same lineage and serial but different histories (a state file
	// copied from another working copy, a backup pushed back, a restored
	// database written again) differ in it. "" when the state has none
	// for its serial yet (written last by an older wxmedia); it gets one
	// at its next write.
	WriteID string
	// Resources is the number of resource instances recorded: what
	// len(Snapshot.Resources) is in the same transaction.
	Resources int
	// Outputs holds every output by name; it is never nil.
	Outputs map[string]Output
	// PlanKey is the state's secret for signing saved plans (see
	// Snapshot.PlanKey); nil when it has none yet.
	PlanKey []byte
}

// CacheFilter selects cache entries. An empty field matches every value; the
// zero CacheFilter matches every entry.
type CacheFilter struct {
	Service string
	MchID   string
	API     string
	SHA256  string
}

// Match reports whether f selects the entry with key k.
func (f CacheFilter) Match(k CacheKey) bool {
	return (f.Service == "" || f.Service == k.Service) &&
		(f.MchID == "" || f.MchID == k.MchID) &&
		(f.API == "" || f.API == k.API) &&
		(f.SHA256 == "" || f.SHA256 == k.SHA256)
}

// ExportFormatVersion is the version of the state document's JSON format
// (Document).
const ExportFormatVersion = 1

// emptyExport returns the Export of a state that holds nothing.
func emptyExport() *Export {
	return &Export{FormatVersion: ExportFormatVersion, Resources: []Resource{}, Outputs: map[string]Output{}, Cache: []CacheEntry{}}
}

// Export is a whole state as one value: what state pull prints and state
// push reads, as a Document. It never holds credentials (the state has
// none) nor the machine-local stat cache.
type Export struct {
	// FormatVersion is ExportFormatVersion.
	FormatVersion int
	// Lineage is the state's random identifier; "" for a state never
	// written.
	Lineage string
	// Serial is the state's serial when it was exported.
	Serial uint64
	// Resources holds every resource instance, sorted by address; it is
	// never nil.
	Resources []Resource
	// Outputs holds every output by name, sensitive values included; it is
	// never nil.
	Outputs map[string]Output
	// Cache holds every cache entry, sorted by service, merchant ID, API
	// and SHA-256; it is never nil.
	Cache []CacheEntry
}
