package plan

import (
	stdjson "encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty/json"

	"github.com/wxmedia/wxmedia/state"
	"github.com/wxmedia/wxmedia/uploader"
)

// A state document from outside (state push) is checked field by field
// against what wxmedia itself would have written, before anything of it is
// stored: a negative size, an address that does not parse or does not
// match its type, name and key, a malformed sha256 or identifier, a
// timestamp before WeChat Pay's media APIs or in the future are refused,
// the field named.

// FieldError is a field of a state document that wxmedia would never have
// written. It wraps state.ErrInvalid.
type FieldError struct {
	// Where names the record: `resources[3] (wechatpay_image.logo)`,
	// `cache[0]`, `outputs["x"]` or "the document".
	Where string
	// Field is the JSON name of the field, e.g. "size".
	Field  string
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s: field %q %s", e.Where, e.Field, e.Reason)
}

func (e *FieldError) Unwrap() error { return state.ErrInvalid }

// earliestUpload is before any identifier a WeChat Pay media API issued.
var earliestUpload = time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC)

// clockSkew is how far in the future an upload time may lie.
const clockSkew = 24 * time.Hour

var (
	lineageRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	mchIDRE   = regexp.MustCompile(`^[0-9]{1,32}$`)
)

// CheckStateDocument checks every field of a state document, as state
// push reads it, and returns a *FieldError for the first that wxmedia
// would never have written.
func CheckStateDocument(doc *state.Export, now time.Time) error {
	if doc == nil {
		return &FieldError{Where: "the document", Field: "resources", Reason: "is missing"}
	}
	if doc.Lineage != "" && !lineageRE.MatchString(doc.Lineage) {
		return &FieldError{Where: "the document", Field: "lineage", Reason: fmt.Sprintf("%q is not a lineage (a lowercase UUID)", doc.Lineage)}
	}
	for i, r := range doc.Resources {
		where := fmt.Sprintf("resources[%d]", i)
		if a := Visible(r.Address); a != "" {
			where += " (" + a + ")"
		}
		if err := checkResourceFields(r, now); err != nil {
			err.Where = where
			return err
		}
	}
	for i, e := range doc.Cache {
		if err := checkCacheFields(e, now); err != nil {
			err.Where = fmt.Sprintf("cache[%d]", i)
			return err
		}
	}
	for name, o := range doc.Outputs {
		where := fmt.Sprintf("outputs[%q]", name)
		if !hclsyntax.ValidIdentifier(name) {
			return &FieldError{Where: where, Field: "name", Reason: "is not a valid output name"}
		}
		ty, err := json.UnmarshalType(o.Type)
		if err != nil {
			return &FieldError{Where: where, Field: "type", Reason: fmt.Sprintf("is not a type: %v", err)}
		}
		if _, err := json.Unmarshal(o.Value, ty); err != nil {
			return &FieldError{Where: where, Field: "value", Reason: fmt.Sprintf("is not a value of its type: %v", err)}
		}
	}
	return nil
}

func bad(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

func checkResourceFields(r state.Resource, now time.Time) *FieldError {
	spec, ok := uploader.SpecFor(r.Type)
	if !ok {
		return bad("type", "%q is not a resource type (%s)", Visible(r.Type), strings.Join(uploader.ResourceTypes(), ", "))
	}
	if !hclsyntax.ValidIdentifier(r.Name) {
		return bad("name", "%q is not a resource name", Visible(r.Name))
	}
	a, err := ParseAddress(r.Address)
	if err != nil {
		return bad("address", "does not parse: %v", err)
	}
	// The module path is the address's own: the state records no other.
	want := Address{Module: a.Module, Type: r.Type, Name: r.Name, Key: r.Key, HasKey: a.HasKey}
	if a.Type != r.Type || a.Name != r.Name || a.Key != r.Key || a.String() != r.Address || want.String() != r.Address {
		return bad("address", "%q is not the address of type %q, name %q and key %q (%s)", Visible(r.Address), r.Type, r.Name, Visible(r.Key), want.String())
	}
	if !validMerchantInstance(r.Merchant) {
		return bad("merchant", "%q is not a merchant instance name (NAME, merchant.NAME[\"key\"], module.M.merchant.NAME)", Visible(r.Merchant))
	}
	if err := checkKeyFields(r.Service, r.MchID, r.SHA256); err != nil {
		return err
	}
	if uploader.API(r.API) != spec.API {
		return bad("api", "%q is not the API of %s (%s)", Visible(r.API), r.Type, spec.API)
	}
	if r.Source == "" || strings.IndexFunc(r.Source, unicode.IsControl) >= 0 {
		return bad("source", "%q is empty or holds a control character", Visible(r.Source))
	}
	return checkUpload(spec, r.Filename, r.Size, r.ID, r.UploadedAt, now)
}

func checkCacheFields(e state.CacheEntry, now time.Time) *FieldError {
	if err := checkKeyFields(e.Service, e.MchID, e.SHA256); err != nil {
		return err
	}
	spec, ok := uploader.SpecForAPI(uploader.API(e.API))
	if !ok {
		return bad("api", "%q is not an upload API", Visible(e.API))
	}
	return checkUpload(spec, e.Filename, e.Size, e.ID, e.UploadedAt, now)
}

func checkKeyFields(service, mchid, sha string) *FieldError {
	switch {
	case service == "" || strings.IndexFunc(service, unicode.IsControl) >= 0 || strings.IndexFunc(service, unicode.IsSpace) >= 0:
		return bad("service", "%q is not a service (wechatpay, a sandbox ID or an endpoint URL)", Visible(service))
	case !mchIDRE.MatchString(mchid):
		return bad("mchid", "%q is not a merchant ID (digits)", Visible(mchid))
	case !isLowerHex(sha, 64):
		return bad("sha256", "%q is not 64 lowercase hex digits", Visible(sha))
	}
	return nil
}

func checkUpload(spec uploader.Spec, filename string, size int64, id string, at, now time.Time) *FieldError {
	if err := uploader.CheckFilename(filename); err != nil {
		return bad("filename", "is refused: %v", err)
	}
	switch {
	case size <= 0:
		return bad("size", "%d is not a size: it must be at least 1", size)
	case size > spec.MaxSize:
		return bad("size", "%d is over the %s limit of %s", size, uploader.FormatSize(spec.MaxSize), spec.ResourceType)
	}
	if err := uploader.CheckIdentifier(spec, id); err != nil {
		return bad("id", "is refused: %v", err)
	}
	switch {
	case at.IsZero():
		return bad("uploaded_at", "is missing")
	case at.Before(earliestUpload):
		return bad("uploaded_at", "%s is before WeChat Pay's media APIs existed", at.UTC().Format(time.RFC3339))
	case at.After(now.Add(clockSkew)):
		return bad("uploaded_at", "%s is in the future", at.UTC().Format(time.RFC3339))
	}
	return nil
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// MaxStateDocumentSize bounds the state document state push reads (from
// a file or stdin): some hundreds of thousands of resources and cache
// entries, so that a wrong file (a device, an endless stream) is refused
// instead of growing the process's memory without bound.
const MaxStateDocumentSize = 256 << 20

// DecodeStateDocument decodes a state document as state push reads it. A
// field of the wrong JSON type or a timestamp that does not parse is a
// *FieldError naming the record and the field.
func DecodeStateDocument(data []byte) (*state.Export, error) {
	var doc state.Document
	err := stdjson.Unmarshal(data, &doc)
	if err == nil {
		return doc.Export(), nil
	}
	// Find the record and field: decode each record's fields one by one.
	var raw struct {
		Resources []map[string]stdjson.RawMessage `json:"resources"`
		Cache     []map[string]stdjson.RawMessage `json:"cache"`
	}
	if stdjson.Unmarshal(data, &raw) != nil {
		return nil, err
	}
	find := func(kind string, recs []map[string]stdjson.RawMessage, target func() any) error {
		for i, rec := range recs {
			for _, f := range sortedFields(rec) {
				one, _ := stdjson.Marshal(map[string]stdjson.RawMessage{f: rec[f]})
				if ferr := stdjson.Unmarshal(one, target()); ferr != nil {
					return &FieldError{Where: fmt.Sprintf("%s[%d]", kind, i), Field: f, Reason: fmt.Sprintf("does not decode: %v", Visible(ferr.Error()))}
				}
			}
		}
		return nil
	}
	if ferr := find("resources", raw.Resources, func() any { return &state.DocumentResource{} }); ferr != nil {
		return nil, ferr
	}
	if ferr := find("cache", raw.Cache, func() any { return &state.DocumentCacheEntry{} }); ferr != nil {
		return nil, ferr
	}
	return nil, err
}

func sortedFields(m map[string]stdjson.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// validMerchantInstance reports whether n is a merchant instance name as
// schema.MerchantInstanceName writes it: a block name, or module steps
// and merchant.NAME, with a key or an index after each name that has one.
func validMerchantInstance(n string) bool {
	if hclsyntax.ValidIdentifier(n) {
		return true
	}
	if strings.TrimSpace(n) != n || strings.IndexFunc(n, unicode.IsControl) >= 0 {
		return false
	}
	trav, diags := hclsyntax.ParseTraversalAbs([]byte(n), "", hcl.InitialPos)
	if diags.HasErrors() {
		return false
	}
	var keywords []string
	names := 0
	for _, step := range trav {
		switch t := step.(type) {
		case hcl.TraverseRoot:
			keywords = append(keywords, t.Name)
			names++
		case hcl.TraverseAttr:
			if names%2 == 0 {
				keywords = append(keywords, t.Name)
			}
			names++
		case hcl.TraverseIndex:
			if names%2 != 0 {
				return false // a key after a step's keyword
			}
		}
	}
	if names%2 != 0 || len(keywords) == 0 || keywords[len(keywords)-1] != "merchant" {
		return false
	}
	for _, k := range keywords[:len(keywords)-1] {
		if k != "module" {
			return false
		}
	}
	return true
}
