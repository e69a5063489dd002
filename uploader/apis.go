package uploader

import "github.com/wxmedia/wxmedia/uploader/apis"

// The table of upload APIs and their rules lives in package apis, which
// does no I/O; these names keep the client's callers in one import.

// API is the stable identifier of one upload API; see apis.API.
type API = apis.API

// The upload APIs wxmedia knows; see package apis.
const (
	APIMerchantImage  = apis.APIMerchantImage
	APIMerchantVideo  = apis.APIMerchantVideo
	APIGlobalFile     = apis.APIGlobalFile
	APICouponImage    = apis.APICouponImage
	APIV2Image        = apis.APIV2Image
	APIMarketingImage = apis.APIMarketingImage
	APIComplaintImage = apis.APIComplaintImage
)

// Protocols an upload API speaks.
const (
	ProtocolV3 = apis.ProtocolV3
	ProtocolV2 = apis.ProtocolV2
)

// Rules a file can break, as RuleError.Rule.
const (
	RuleFilename       = apis.RuleFilename
	RuleSuffix         = apis.RuleSuffix
	RuleFilenameLength = apis.RuleFilenameLength
	RuleEmpty          = apis.RuleEmpty
	RuleSize           = apis.RuleSize
	RuleMagic          = apis.RuleMagic
)

// MagicHeadSize is how many leading bytes CheckFile wants as head.
const MagicHeadSize = apis.MagicHeadSize

type (
	// Codes are one API's error codes by HTTP status; see apis.Codes.
	Codes = apis.Codes
	// Spec describes one upload API's rules; see apis.Spec.
	Spec = apis.Spec
	// RuleError reports a file that an API's rules refuse; see apis.RuleError.
	RuleError = apis.RuleError
)

// SpecFor returns the spec of a configuration resource type.
func SpecFor(resourceType string) (Spec, bool) { return apis.SpecFor(resourceType) }

// SpecForAPI returns the spec of an API identifier.
func SpecForAPI(api API) (Spec, bool) { return apis.SpecForAPI(api) }

// Specs returns every known spec, in the order of the product's API table.
func Specs() []Spec { return apis.Specs() }

// ResourceTypes returns the resource types of every known spec.
func ResourceTypes() []string { return apis.ResourceTypes() }

// ContentType returns the part content type for a filename, by its suffix.
func ContentType(filename string) string { return apis.ContentType(filename) }

// Suffix returns the lowercase suffix of filename without its dot.
func Suffix(filename string) string { return apis.Suffix(filename) }

// CheckFile validates a file against a spec, offline; see apis.CheckFile.
func CheckFile(spec Spec, filename string, size int64, head []byte) error {
	return apis.CheckFile(spec, filename, size, head)
}

// CheckFilename checks the characters of a filename as CheckFile does.
func CheckFilename(filename string) error { return apis.CheckFilename(filename) }

// FormatSize renders a byte count for messages: "2 MiB", "512 KiB", "1000 bytes".
func FormatSize(n int64) string { return apis.FormatSize(n) }
