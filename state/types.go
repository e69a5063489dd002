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

	// MoveResource renames the resource recorded at from to to.Address, in
	// one write transaction: the record at from is removed and to is
	// recorded in its place. The caller sets to's Address, Type, Name and
	// Key for the new address and keeps the other fields as they were. The
	// cache is not touched. It fails with an error wrapping ErrNotFound when
	// nothing is recorded at from, and with one wrapping ErrExists when
	// to.Address differs from from and is already recorded; either way
	// nothing changes.
	MoveResource(from string, to Resource) error
	// PutCache records cache entries without touching resources, in one
	// write transaction; an entry replaces any recorded under its key.
	// Without entries it does nothing.
	PutCache(entries ...CacheEntry) error
	// RemoveCache removes, in one write transaction, every cache entry that
	// f matches, and returns how many it removed. Resources are not
	// touched: their identifiers stay valid, only a later reuse of the same
	// content can no longer find them. When nothing matches, nothing is
	// written.
	RemoveCache(f CacheFilter) (int, error)
	// Export reads, in one read transaction, everything a state holds
	// besides machine-local data: lineage, serial, resources, outputs with
	// their values (sensitive ones included) and the cache entries
	// LookupCache can find. A backend whose cache is shared by several
	// configurations exports the whole shared cache. A missing state exports
	// as empty, with Lineage "" and Serial 0.
	Export() (*Export, error)
	// Push replaces the state's resources and outputs with those of doc and
	// adds doc's cache entries to the cache (entries not in doc are kept, as
	// a shared cache may serve other configurations), in one write
	// transaction that checks, unless force is set:
	//   - the lineages match (or the state has no resources, outputs or
	//     cache entries yet), else an error wrapping ErrLineage;
	//   - doc.Serial is not below the state's serial, else an error
	//     wrapping ErrSerialBehind.
	// Afterwards the state has doc's lineage (when doc has one) and the
	// serial max(state serial, doc.Serial)+1, so that a saved plan or a
	// pulled copy taken before the push is stale. doc is checked as a whole
	// first (every record valid, addresses unique and matching their map
	// keys); on any error nothing changes.
	Push(doc *Export, force bool) error
	// Close releases the backend and its lock.
	Close() error
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
