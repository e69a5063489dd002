// Package apis is the table of WeChat Pay upload APIs wxmedia knows and
// their rules: path, protocol, accepted filename suffixes, size and filename
// limits, digest and identifier field names, error codes, and the offline
// file checks that apply them (CheckFile). It does no I/O, so the
// configuration language (schema) can name resource types without
// importing the HTTP client; package uploader re-exports it.
package apis

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wxmedia/wxmedia/internal/words"
)

// API is the stable identifier of one upload API. It is stored in state and
// in the content-addressed cache, so its values never change.
type API string

// The upload APIs wxmedia knows.
const (
	// APIMerchantImage is the v3 merchant media upload, POST /v3/merchant/media/upload.
	APIMerchantImage API = "merchant_media_image"
	// APIMerchantVideo is the v3 video upload, POST /v3/merchant/media/video_upload.
	APIMerchantVideo API = "merchant_media_video"
	// APIGlobalFile is the v3 overseas merchant storage, POST /v3/global/merchant-storage/file/upload.
	APIGlobalFile API = "global_merchant_storage_file"
	// APICouponImage is the v3 product-coupon image upload,
	// POST /v3/marketing/partner/product-coupon/media/upload-image.
	APICouponImage API = "product_coupon_image"
	// APIV2Image is the v2 image upload, POST /secapi/mch/uploadmedia (client certificate, XML reply).
	APIV2Image API = "v2_media_image"
	// APIMarketingImage is the v3 image upload for marketing (vouchers,
	// merchant coupons, pay-with-gift), POST /v3/marketing/favor/media/image-upload.
	APIMarketingImage API = "marketing_favor_image"
	// APIComplaintImage is the v3 upload of images attached to replies to
	// consumer complaints, POST /v3/merchant-service/images/upload.
	APIComplaintImage API = "merchant_service_image"
)

// Protocols an upload API speaks.
const (
	ProtocolV3 = "v3" // JSON meta + multipart, RSA signatures
	ProtocolV2 = "v2" // form fields + MD5/HMAC-SHA256 sign, XML reply, client certificate
)

// Codes are the error codes one API's own documentation page uses for each
// HTTP status. The pages disagree (SYSTEMERROR / SYSTEM_ERROR, …); the
// sandbox answers with these and the client uses them only for messages: it
// classifies errors by HTTP status.
type Codes struct {
	System    string // HTTP 500
	RateLimit string // HTTP 429
	Param     string // HTTP 400, for content errors (digest, size, format, filename)
	Sign      string // HTTP 401
	NoAuth    string // HTTP 403
}

// Spec describes one upload API's rules. Specs are values from the package's
// table (SpecFor, SpecForAPI, Specs); callers must not modify the Suffixes slice.
type Spec struct {
	API          API    // stable identifier, unique in the table
	ResourceType string // configuration resource type, e.g. "wechatpay_image"; unique in the table
	Protocol     string // ProtocolV3 or ProtocolV2
	Path         string // request path, starting with "/"
	DigestField  string // meta JSON key of the content digest: "sha256" (002: "digest"; v2: form field "media_hash", MD5)
	// Suffixes lists the accepted filename suffixes: lowercase, without dot, never empty.
	Suffixes    []string
	MaxSize     int64  // largest accepted content in bytes (2 MiB = 2<<20); always > 0
	MaxFilename int    // longest accepted filename in runes; 0 = no limit
	IDField     string // reply JSON key of the identifier: "media_id", "file_id", "image_url" or "media_url"
	// IDMin and IDMax bound the identifier's length in characters, as the
	// page's reply table gives them (media_id string[1,512], …).
	IDMin, IDMax int
	// IDIsURL: the identifier is an absolute https (or http) URL (image_url, media_url).
	IDIsURL bool
	Codes   Codes // the page's error codes
	// Uploadable reports whether Client can upload to this API (every API
	// of the table can).
	Uploadable bool
}

var specs = []Spec{
	{
		API:          APIMerchantImage,
		ResourceType: "wechatpay_image",
		Protocol:     ProtocolV3,
		Path:         "/v3/merchant/media/upload",
		DigestField:  "sha256",
		Suffixes:     []string{"jpg", "bmp", "png"},
		MaxSize:      2 << 20,
		MaxFilename:  128,
		IDField:      "media_id",
		IDMin:        1,
		IDMax:        512,
		Codes:        Codes{System: "SYSTEMERROR", RateLimit: "FREQUENCY_LIMIT_EXCEED", Param: "PARAM_ERROR", Sign: "SIGN_ERROR", NoAuth: "NO_AUTH"},
		Uploadable:   true,
	},
	{
		API:          APIMerchantVideo,
		ResourceType: "wechatpay_video",
		Protocol:     ProtocolV3,
		Path:         "/v3/merchant/media/video_upload",
		DigestField:  "sha256",
		Suffixes:     []string{"avi", "wmv", "mpeg", "mp4", "mov", "mkv", "flv", "f4v", "m4v", "rmvb"},
		MaxSize:      5 << 20,
		MaxFilename:  128,
		IDField:      "media_id",
		IDMin:        1,
		IDMax:        512,
		Codes:        Codes{System: "SYSTEM_ERROR", RateLimit: "FREQUENCY_LIMIT_EXCEED", Param: "PARAM_ERROR", Sign: "SIGN_ERROR", NoAuth: "NO_AUTH"},
		Uploadable:   true,
	},
	{
		API:          APIGlobalFile,
		ResourceType: "wechatpay_global_file",
		Protocol:     ProtocolV3,
		Path:         "/v3/global/merchant-storage/file/upload",
		DigestField:  "digest",
		Suffixes:     []string{"pdf", "jpg", "bmp", "png"},
		MaxSize:      5 << 20,
		MaxFilename:  256,
		IDField:      "file_id",
		IDMin:        16,
		IDMax:        64,
		Codes:        Codes{System: "SYSTEM_ERROR", RateLimit: "RATELIMIT_EXCEEDED", Param: "INVALID_REQUEST", Sign: "SIGN_ERROR", NoAuth: "NO_AUTH"},
		Uploadable:   true,
	},
	{
		API:          APICouponImage,
		ResourceType: "wechatpay_coupon_image",
		Protocol:     ProtocolV3,
		Path:         "/v3/marketing/partner/product-coupon/media/upload-image",
		DigestField:  "sha256",
		Suffixes:     []string{"jpg", "bmp", "png"},
		MaxSize:      2 << 20,
		MaxFilename:  150,
		IDField:      "image_url",
		IDMin:        1,
		IDMax:        256,
		IDIsURL:      true,
		Codes:        Codes{System: "SYSTEM_ERROR", RateLimit: "RATELIMIT_EXCEEDED", Param: "PARAM_ERROR", Sign: "SIGN_ERROR", NoAuth: "NO_AUTH"},
		Uploadable:   true,
	},
	{
		API:          APIV2Image,
		ResourceType: "wechatpay_v2_image",
		Protocol:     ProtocolV2,
		Path:         "/secapi/mch/uploadmedia",
		DigestField:  "media_hash",
		Suffixes:     []string{"jpeg", "jpg", "bmp", "png"},
		MaxSize:      2 << 20,
		IDField:      "media_id",
		IDMin:        1,
		IDMax:        256,
		Codes:        Codes{System: "SYSTEMERROR", RateLimit: "FREQUENCY_LIMITED", Param: "PARAM_ERROR", Sign: "SIGNERROR", NoAuth: "INVALID_REQUEST"},
		Uploadable:   true,
	},
	// The last two answer with the common v3 error codes.
	{
		API:          APIMarketingImage,
		ResourceType: "wechatpay_marketing_image",
		Protocol:     ProtocolV3,
		Path:         "/v3/marketing/favor/media/image-upload",
		DigestField:  "sha256",
		Suffixes:     []string{"jpg", "bmp", "png"},
		MaxSize:      2 << 20,
		MaxFilename:  128,
		IDField:      "media_url",
		IDMin:        1,
		IDMax:        1024, // the live page: media_url string[1,1024]
		IDIsURL:      true,
		Codes:        Codes{System: "SYSTEM_ERROR", RateLimit: "RATELIMIT_EXCEEDED", Param: "PARAM_ERROR", Sign: "SIGN_ERROR", NoAuth: "NO_AUTH"},
		Uploadable:   true,
	},
	{
		API:          APIComplaintImage,
		ResourceType: "wechatpay_complaint_image",
		Protocol:     ProtocolV3,
		Path:         "/v3/merchant-service/images/upload",
		DigestField:  "sha256",
		Suffixes:     []string{"jpg", "bmp", "png"},
		MaxSize:      2 << 20,
		MaxFilename:  128,
		IDField:      "media_id",
		IDMin:        1,
		IDMax:        512, // the live page: media_id string[1,512]
		Codes:        Codes{System: "SYSTEM_ERROR", RateLimit: "RATELIMIT_EXCEEDED", Param: "PARAM_ERROR", Sign: "SIGN_ERROR", NoAuth: "NO_AUTH"},
		Uploadable:   true,
	},
}

// SpecFor returns the spec of a configuration resource type such as "wechatpay_image".
func SpecFor(resourceType string) (Spec, bool) {
	for _, s := range specs {
		if s.ResourceType == resourceType {
			return s, true
		}
	}
	return Spec{}, false
}

// SpecForAPI returns the spec of an API identifier such as APIMerchantImage.
func SpecForAPI(api API) (Spec, bool) {
	for _, s := range specs {
		if s.API == api {
			return s, true
		}
	}
	return Spec{}, false
}

// Specs returns every known spec, in the order of the product's API table.
func Specs() []Spec {
	return slices.Clone(specs)
}

// ResourceTypes returns the resource types of every known spec, in the order
// of the product's API table.
func ResourceTypes() []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.ResourceType
	}
	return out
}

var contentTypes = map[string]string{
	"jpg":  "image/jpeg",
	"jpeg": "image/jpeg",
	"png":  "image/png",
	"bmp":  "image/bmp",
	"pdf":  "application/pdf",
	"mp4":  "video/mp4",
	"mov":  "video/quicktime",
	"m4v":  "video/x-m4v",
	"f4v":  "video/x-f4v",
	"avi":  "video/x-msvideo",
	"wmv":  "video/x-ms-wmv",
	"mpeg": "video/mpeg",
	"mkv":  "video/x-matroska",
	"flv":  "video/x-flv",
	"rmvb": "application/vnd.rn-realmedia-vbr",
}

// ContentType returns the part content type for a filename, by its suffix
// (case-insensitive), or "application/octet-stream" for an unknown suffix.
func ContentType(filename string) string {
	if ct, ok := contentTypes[Suffix(filename)]; ok {
		return ct
	}
	return "application/octet-stream"
}

// Suffix returns the lowercase suffix of filename without its dot, or "" when
// the filename has none.
func Suffix(filename string) string {
	ext := path.Ext(filename)
	if ext == "" || ext == filename {
		return ""
	}
	return strings.ToLower(ext[1:])
}

// Rules a file can break, as RuleError.Rule.
const (
	RuleFilename       = "filename"        // empty, or characters a multipart header cannot carry
	RuleSuffix         = "suffix"          // suffix missing or not accepted by the API
	RuleFilenameLength = "filename_length" // more runes than the API accepts
	RuleEmpty          = "empty"           // zero bytes
	RuleSize           = "size"            // larger than the API accepts
	RuleMagic          = "magic"           // content does not match the suffix
)

// RuleError reports a file that an API's rules refuse. Rule is one of the
// Rule* constants; Msg is a complete lowercase sentence naming the rule broken.
type RuleError struct {
	Rule string
	Msg  string
	// Fit, for RuleSuffix, is an accepted suffix whose format the content
	// has ("jpg" for a JPEG named .jpeg): a name with it is accepted. ""
	// when the content is of none of the accepted formats.
	Fit string
	// FitFormat names Fit's format with its article ("a JPEG image").
	FitFormat string
}

func (e *RuleError) Error() string { return e.Msg }

// magic describes how a format's content begins.
type magic struct {
	name  string // with its article: "a PNG image"
	match func(head []byte) bool
}

func prefix(p string) func([]byte) bool {
	return func(h []byte) bool { return bytes.HasPrefix(h, []byte(p)) }
}

// isoBMFF matches ISO base media files (MP4, MOV, M4V, F4V): a box type at offset 4.
func isoBMFF(h []byte) bool {
	if len(h) < 8 {
		return false
	}
	switch string(h[4:8]) {
	case "ftyp", "moov", "mdat", "free", "skip", "wide", "pnot":
		return true
	}
	return false
}

var magics = map[string]magic{
	"jpg":  {"a JPEG image", prefix("\xFF\xD8\xFF")},
	"jpeg": {"a JPEG image", prefix("\xFF\xD8\xFF")},
	"png":  {"a PNG image", prefix("\x89PNG\r\n\x1a\n")},
	"bmp":  {"a BMP image", prefix("BM")},
	"pdf":  {"a PDF document", prefix("%PDF-")},
	"avi": {"an AVI video", func(h []byte) bool {
		return len(h) >= 12 && string(h[:4]) == "RIFF" && string(h[8:12]) == "AVI "
	}},
	"wmv": {"a WMV video", prefix("\x30\x26\xB2\x75\x8E\x66\xCF\x11\xA6\xD9\x00\xAA\x00\x62\xCE\x6C")},
	"mpeg": {"an MPEG video", func(h []byte) bool {
		return bytes.HasPrefix(h, []byte("\x00\x00\x01\xBA")) || bytes.HasPrefix(h, []byte("\x00\x00\x01\xB3"))
	}},
	"mp4":  {"an MP4 video", isoBMFF},
	"mov":  {"a QuickTime video", isoBMFF},
	"m4v":  {"an M4V video", isoBMFF},
	"f4v":  {"an F4V video", isoBMFF},
	"mkv":  {"a Matroska video", prefix("\x1A\x45\xDF\xA3")},
	"flv":  {"an FLV video", prefix("FLV\x01")},
	"rmvb": {"a RealMedia video", prefix(".RMF")},
}

// MagicHeadSize is how many leading bytes of a file CheckFile wants as head:
// every format above is told by its first 16 bytes (WMV's GUID is the
// longest).
const MagicHeadSize = 16

// CheckFile validates a file against a spec, offline. It checks, in order:
// the filename (non-empty, valid UTF-8, no control characters, quotes,
// backslashes or slashes), its suffix (case-insensitive, among spec.Suffixes),
// its length in runes (spec.MaxFilename), the size (> 0 and <= spec.MaxSize),
// and that head — the first bytes of the content, at least MagicHeadSize when
// the file has them — starts with the magic bytes of the suffix's format.
// The error is a *RuleError naming the rule broken.
func CheckFile(spec Spec, filename string, size int64, head []byte) error {
	if err := CheckFilename(filename); err != nil {
		return err
	}
	suffix := Suffix(filename)
	if suffix == "" {
		return suffixError(spec, head, fmt.Sprintf("filename %q has no suffix (%s accepts: %s)",
			filename, spec.ResourceType, strings.Join(spec.Suffixes, ", ")))
	}
	if !slices.Contains(spec.Suffixes, suffix) {
		return suffixError(spec, head, fmt.Sprintf("filename suffix %q is not accepted by %s (allowed: %s)",
			path.Ext(filename), spec.ResourceType, strings.Join(spec.Suffixes, ", ")))
	}
	if n := utf8.RuneCountInString(filename); spec.MaxFilename > 0 && n > spec.MaxFilename {
		return &RuleError{Rule: RuleFilenameLength, Msg: fmt.Sprintf("filename is %d characters long, over the %d-character limit of %s",
			n, spec.MaxFilename, spec.ResourceType)}
	}
	if size <= 0 {
		return &RuleError{Rule: RuleEmpty, Msg: "file is empty"}
	}
	if size > spec.MaxSize {
		return &RuleError{Rule: RuleSize, Msg: fmt.Sprintf("file size %d bytes exceeds the %s limit of %s",
			size, FormatSize(spec.MaxSize), spec.ResourceType)}
	}
	if m, ok := magics[suffix]; ok && !m.match(head) {
		return &RuleError{Rule: RuleMagic, Msg: fmt.Sprintf("content is not %s (magic bytes do not match suffix %q)",
			m.name, path.Ext(filename))}
	}
	return nil
}

// suffixError is a RuleSuffix error with the first accepted suffix whose
// magic bytes head starts with, if any.
func suffixError(spec Spec, head []byte, msg string) *RuleError {
	e := &RuleError{Rule: RuleSuffix, Msg: msg}
	for _, s := range spec.Suffixes {
		if m, ok := magics[s]; ok && m.match(head) {
			e.Fit, e.FitFormat = s, m.name
			break
		}
	}
	return e
}

// CheckFilename checks a file name sent with an upload on its own: not
// empty, valid UTF-8, no quote, backslash, slash, control or format
// character. The error is a *RuleError.
func CheckFilename(filename string) error {
	if plainFilename(filename) {
		return nil
	}
	return checkFilenameRunes(filename)
}

// plainFilename reports whether filename is not empty and made of printable
// ASCII other than a quote, backslash or slash only: the common name,
// which checkFilenameRunes accepts, told apart without decoding a rune (a
// plan checks every file's name).
func plainFilename(filename string) bool {
	for i := 0; i < len(filename); i++ {
		if b := filename[i]; b < 0x20 || b > 0x7e || b == '"' || b == '\\' || b == '/' {
			return false
		}
	}
	return filename != ""
}

// checkFilenameRunes is CheckFilename for any name, rune by rune.
func checkFilenameRunes(filename string) error {
	bad := func(why string) error {
		return &RuleError{Rule: RuleFilename, Msg: fmt.Sprintf("filename %q %s", filename, why)}
	}
	switch {
	case filename == "":
		return &RuleError{Rule: RuleFilename, Msg: "filename is empty"}
	case !utf8.ValidString(filename):
		return bad("is not valid UTF-8")
	case strings.ContainsAny(filename, `"\/`):
		return bad(`contains a quote, backslash or slash`)
	case strings.IndexFunc(filename, unicode.IsControl) >= 0:
		return bad("contains a control character")
	}
	// Format characters (Unicode category Cf: bidirectional overrides such
	// as U+202E, zero-width spaces and joiners, the byte order mark) are
	// invisible: they make a name read otherwise than it is.
	if i := strings.IndexFunc(filename, isFormatChar); i >= 0 {
		r, _ := utf8.DecodeRuneInString(filename[i:])
		return bad(fmt.Sprintf("contains the invisible format character %U: bidirectional controls and zero-width characters make a name read otherwise than it is", r))
	}
	return nil
}

func isFormatChar(r rune) bool { return unicode.Is(unicode.Cf, r) }

// FormatSize renders a byte count for messages: "2 MiB", "512 KiB", "1000 bytes".
func FormatSize(n int64) string { return words.Size(n) }
