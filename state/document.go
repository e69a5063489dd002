package state

import (
	"encoding/json"
	"time"
)

// The public documents: the JSON that wxmedia prints for people and
// scripts and reads back, a contract of its own. Document is what state
// pull prints and state push reads; a list of DocumentCacheEntry is what
// state cache list -json prints. They are typed apart from the package's
// API types (types.go) and from the storage formats (stored.go); the
// conversions are here and nowhere else.

// Document is a whole state as state pull prints it and state push reads
// it: an Export in JSON.
type Document struct {
	FormatVersion int                       `json:"format_version"`
	Lineage       string                    `json:"lineage"`
	Serial        uint64                    `json:"serial"`
	Resources     []DocumentResource        `json:"resources"`
	Outputs       map[string]DocumentOutput `json:"outputs"`
	Cache         []DocumentCacheEntry      `json:"cache"`
}

// DocumentResource is a resource instance in a Document: a Resource in
// JSON.
type DocumentResource struct {
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

// DocumentCacheEntry is a cache entry in a Document and in state cache
// list -json: a CacheEntry in JSON.
type DocumentCacheEntry struct {
	Service    string    `json:"service"`
	MchID      string    `json:"mchid"`
	API        string    `json:"api"`
	SHA256     string    `json:"sha256"`
	ID         string    `json:"id"`
	Filename   string    `json:"filename"`
	Size       int64     `json:"size"`
	UploadedAt time.Time `json:"uploaded_at"`
}

// DocumentOutput is an output in a Document: an Output in JSON.
type DocumentOutput struct {
	Value     json.RawMessage `json:"value"`
	Type      json.RawMessage `json:"type"`
	Sensitive bool            `json:"sensitive,omitempty"`
}

// NewDocument returns e as a document. Empty lists and maps stay empty,
// never null.
func NewDocument(e *Export) *Document {
	d := &Document{
		FormatVersion: e.FormatVersion,
		Lineage:       e.Lineage,
		Serial:        e.Serial,
		Resources:     make([]DocumentResource, len(e.Resources)),
		Outputs:       make(map[string]DocumentOutput, len(e.Outputs)),
		Cache:         CacheDocument(e.Cache),
	}
	for i, r := range e.Resources {
		d.Resources[i] = DocumentResource(r)
	}
	for name, o := range e.Outputs {
		d.Outputs[name] = DocumentOutput(o)
	}
	return d
}

// Export returns what d holds. A list or map missing from d is nil in the
// Export, as it was absent from the JSON.
func (d *Document) Export() *Export {
	e := &Export{FormatVersion: d.FormatVersion, Lineage: d.Lineage, Serial: d.Serial}
	if d.Resources != nil {
		e.Resources = make([]Resource, len(d.Resources))
		for i, r := range d.Resources {
			e.Resources[i] = Resource(r)
		}
	}
	if d.Outputs != nil {
		e.Outputs = make(map[string]Output, len(d.Outputs))
		for name, o := range d.Outputs {
			e.Outputs[name] = Output(o)
		}
	}
	if d.Cache != nil {
		e.Cache = make([]CacheEntry, len(d.Cache))
		for i, c := range d.Cache {
			e.Cache[i] = c.CacheEntry()
		}
	}
	return e
}

// CacheDocument returns entries as documents; it is never nil.
func CacheDocument(entries []CacheEntry) []DocumentCacheEntry {
	out := make([]DocumentCacheEntry, len(entries))
	for i, e := range entries {
		out[i] = cacheDocumentEntry(e)
	}
	return out
}

// cacheDocumentEntry returns e as a document.
func cacheDocumentEntry(e CacheEntry) DocumentCacheEntry {
	return DocumentCacheEntry{
		Service: e.Service, MchID: e.MchID, API: e.API, SHA256: e.SHA256,
		ID: e.ID, Filename: e.Filename, Size: e.Size, UploadedAt: e.UploadedAt,
	}
}

// CacheEntry returns what c holds.
func (c DocumentCacheEntry) CacheEntry() CacheEntry {
	return CacheEntry{
		CacheKey: CacheKey{Service: c.Service, MchID: c.MchID, API: c.API, SHA256: c.SHA256},
		ID:       c.ID, Filename: c.Filename, Size: c.Size, UploadedAt: c.UploadedAt,
	}
}
