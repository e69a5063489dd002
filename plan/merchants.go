package plan

import (
	"cmp"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"

	"github.com/wxmedia/wxmedia/internal/safefile"
	"github.com/wxmedia/wxmedia/schema"
	"github.com/wxmedia/wxmedia/uploader"
)

// The merchant rules: what a merchant block needs for the uploads its
// resources make, and whether the key and certificate files it names can
// be used, as diagnostics at the attributes. Checked before any upload,
// so that a plan shows every mistake at once.

// merchantFile is a file a merchant block names, relative to the
// configuration's directory (the working directory).
func merchantFile(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Clean(p)
}

// merchantProtocols reports which protocols each merchant instance's
// resources use: v3 for the APIv3 types, v2 for wechatpay_v2_image. A
// resource of the root module that names no merchant, or one without a
// key, counts even when it has no instances.
func merchantProtocols(ev *schema.Evaluation) (v3, v2 map[string]bool) {
	v3, v2 = map[string]bool{}, map[string]bool{}
	single := ""
	if len(ev.Config.Merchants) == 1 {
		for name := range ev.Config.Merchants {
			single = name
		}
	}
	mark := func(name string, spec uploader.Spec) {
		if spec.Protocol == uploader.ProtocolV2 {
			v2[name] = true
		} else {
			v3[name] = true
		}
	}
	for _, r := range ev.Config.Resources {
		if r.MerchantKey != nil {
			continue
		}
		mark(cmp.Or(r.Merchant, single), r.Spec)
	}
	for _, in := range ev.Instances {
		mark(in.Merchant, in.Resource.Spec)
	}
	return v3, v2
}

// CheckMerchants applies the rules a merchant block must meet. A merchant
// needs the v3 credentials (serial_no, private_key_file, and a platform
// public key or certificate to verify replies with) unless every one of
// its resources is a wechatpay_v2_image; it needs api_v2_key,
// client_certificate_file and private_key_file when it has any
// wechatpay_v2_image. A merchant without resources is held to the v3 rules.
func CheckMerchants(ev *schema.Evaluation) hcl.Diagnostics {
	var diags hcl.Diagnostics
	bad := func(m *schema.Merchant, format string, args ...any) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid merchant",
			Detail:   schema.MerchantLabel(m.Name) + ": " + fmt.Sprintf(format, args...),
			Subject:  m.DeclRange.Ptr(),
		})
	}
	usesV3, usesV2 := merchantProtocols(ev)
	var owners []string // the merchant instance of each diagnostic
	for _, name := range slices.Sorted(maps.Keys(ev.Merchants)) {
		m := ev.Merchants[name]
		if m.Sandbox {
			continue
		}
		for len(owners) < len(diags) {
			owners = append(owners, "")
		}
		needV3 := usesV3[name] || !usesV2[name]
		required := []struct{ name, val string }{{"mchid", m.MchID}, {"private_key_file", m.PrivateKeyFile}}
		if needV3 {
			required = append(required, struct{ name, val string }{"serial_no", m.SerialNo})
		}
		if usesV2[name] {
			required = append(required,
				struct{ name, val string }{"api_v2_key", m.APIV2Key},
				struct{ name, val string }{"client_certificate_file", m.ClientCertificateFile})
		}
		var missing []string
		for _, f := range required {
			if f.val == "" {
				missing = append(missing, f.name)
			}
		}
		if len(missing) > 0 {
			why := ""
			if usesV2[name] {
				why = " (wechatpay_v2_image needs api_v2_key and client_certificate_file)"
			}
			bad(m, "%s required%s, or sandbox = true for the built-in emulator.", strings.Join(missing, ", "), why)
		}
		if m.APIV3Key != "" && len(m.APIV3Key) != uploader.APIv3KeyLength {
			// The key itself is never shown.
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid merchant",
				Detail: fmt.Sprintf("%s: api_v3_key must be exactly %d characters: the APIv3 key set on the merchant platform (Account Center > API security).",
					schema.MerchantLabel(m.Name), uploader.APIv3KeyLength),
				Subject: m.AttrRange("api_v3_key"),
			})
		}
		if needV3 {
			switch {
			case m.PlatformPublicKeyID != "" && m.PlatformPublicKeyFile != "" && m.PlatformCertificateFile != "":
				bad(m, "set either platform_public_key_id and platform_public_key_file, or platform_certificate_file, not both.")
			case m.PlatformPublicKeyID != "" && m.PlatformPublicKeyFile != "":
			case m.PlatformCertificateFile != "" && m.PlatformPublicKeyID == "" && m.PlatformPublicKeyFile == "":
			case m.PlatformPublicKeyID != "" || m.PlatformPublicKeyFile != "":
				bad(m, "platform_public_key_id and platform_public_key_file go together: set both.")
			case m.APIV3Key != "":
				// Platform certificates are downloaded with api_v3_key.
			default:
				bad(m, "replies must be verified: set platform_public_key_id and platform_public_key_file, or platform_certificate_file, or api_v3_key to download the platform certificates.")
			}
		}
		for _, e := range []struct{ name, val string }{{"endpoint", m.Endpoint}, {"fallback_endpoint", m.FallbackEndpoint}, {"v2_endpoint", m.V2Endpoint}} {
			if e.val == "" {
				continue
			}
			if _, err := uploader.CheckEndpoint(e.val); err != nil {
				bad(m, "%s: %v.", e.name, err)
			}
		}
		// Identifiers are cached per service: a fallback must be the same
		// service as the endpoint, or an identifier issued by one would be
		// offered as the other's.
		if m.FallbackEndpoint != "" && uploader.Service(m.FallbackEndpoint) != uploader.Service(m.Endpoint) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Fallback endpoint of another service",
				Detail: fmt.Sprintf("%s: fallback_endpoint %s is not WeChat Pay's and differs from endpoint %s; identifiers are cached under the endpoint's service, so the fallback must serve the same identifiers.",
					schema.MerchantLabel(m.Name), m.FallbackEndpoint, cmp.Or(m.Endpoint, uploader.DefaultEndpoint)),
				Subject: m.DeclRange.Ptr(),
			})
		}
		if m.V2SignType != "" && m.V2SignType != uploader.SignTypeMD5 && m.V2SignType != uploader.SignTypeHMACSHA256 {
			bad(m, "v2_sign_type must be \"MD5\" or \"HMAC-SHA256\", not %q.", m.V2SignType)
		}
		if m.MaxRequestsPerSecond < 0 {
			bad(m, "max_requests_per_second must not be negative.")
		}
		diags = append(diags, checkMerchantValues(m)...)
		for len(owners) < len(diags) {
			owners = append(owners, name)
		}
	}
	return append(collapseInstances(diags, owners), sameAccount(ev)...)
}

// sameAccount warns about merchant instances with the same mchid and
// endpoint: they upload to one merchant account, each with a rate limit
// of its own, which is more likely a typo (another shop's mchid) than
// meant. A warning, not an error, as Terraform would not refuse it. Each
// group is reported once, at the mchid of its second instance in
// declaration order (file, line, then name), naming the first two and
// counting the others.
func sameAccount(ev *schema.Evaluation) hcl.Diagnostics {
	type account struct{ mchid, endpoint string }
	var ms []*schema.Merchant
	for _, m := range ev.Merchants {
		if !m.Sandbox && m.MchID != "" {
			ms = append(ms, m)
		}
	}
	slices.SortFunc(ms, func(a, b *schema.Merchant) int {
		return cmp.Or(cmp.Compare(a.DeclRange.Filename, b.DeclRange.Filename),
			cmp.Compare(a.DeclRange.Start.Byte, b.DeclRange.Start.Byte),
			cmp.Compare(a.Name, b.Name))
	})
	groups := map[account][]*schema.Merchant{}
	var order []account
	for _, m := range ms {
		k := account{m.MchID, uploader.CanonicalEndpoint(cmp.Or(m.Endpoint, uploader.DefaultEndpoint))}
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], m)
	}
	var diags hcl.Diagnostics
	for _, k := range order {
		g := groups[k]
		if len(g) < 2 {
			continue
		}
		others := ""
		if n := len(g) - 2; n > 0 {
			others = fmt.Sprintf(" (and %d other merchant instances)", n)
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Merchants with the same mchid and endpoint",
			Detail: fmt.Sprintf("%s has the same mchid %s and endpoint %s as %s%s: their uploads go to one merchant account, each with a rate limit of its own. If the mchid is a mistake, correct it; if both are meant, one merchant block for the account keeps a single rate limit.",
				schema.MerchantLabel(g[1].Name), k.mchid, k.endpoint, schema.MerchantLabel(g[0].Name), others),
			Subject: g[1].AttrRange("mchid"),
		})
	}
	return diags
}

// collapseInstances reports a mistake that every instance of a merchant
// block makes alike (the same rule at the same line, as a module called
// for 1,000 shops would) once, naming the first instance and how many
// others share it.
func collapseInstances(diags hcl.Diagnostics, owners []string) hcl.Diagnostics {
	type key struct {
		summary, rest string
		rng           hcl.Range
	}
	first := map[key]int{}
	count := map[key]int{}
	keyOf := func(i int) (key, bool) {
		d := diags[i]
		if i >= len(owners) || owners[i] == "" || d.Subject == nil {
			return key{}, false
		}
		label := schema.MerchantLabel(owners[i]) + ": "
		if !strings.HasPrefix(d.Detail, label) {
			return key{}, false
		}
		return key{d.Summary, d.Detail[len(label):], *d.Subject}, true
	}
	var out hcl.Diagnostics
	for i, d := range diags {
		k, ok := keyOf(i)
		if !ok {
			out = append(out, d)
			continue
		}
		if _, seen := first[k]; !seen {
			first[k] = len(out)
			out = append(out, d)
		}
		count[k]++
	}
	for k, n := range count {
		if n > 1 {
			d := *out[first[k]]
			label, _ := strings.CutSuffix(d.Detail, ": "+k.rest)
			d.Detail = fmt.Sprintf("%s and %d other instances of the same merchant block: %s", label, n-1, k.rest)
			out[first[k]] = &d
		}
	}
	return out
}

// checkMerchantValues checks, for one merchant that is not a sandbox, what
// apply will need of the values written: an mchid of digits, a 32-character
// API v2 key, and key and certificate files that exist, parse, are RSA and
// belong together. Each problem points at its attribute.
func checkMerchantValues(m *schema.Merchant) hcl.Diagnostics {
	var diags hcl.Diagnostics
	bad := func(attr, summary, format string, args ...any) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  summary,
			Detail:   fmt.Sprintf("%s: %s: ", schema.MerchantLabel(m.Name), attr) + fmt.Sprintf(format, args...),
			Subject:  m.AttrRange(attr),
		})
	}
	if m.MchID != "" && strings.Trim(m.MchID, "0123456789") != "" {
		bad("mchid", "Invalid merchant ID", "%q is not a merchant ID: a WeChat Pay mchid is made of digits only, such as \"1900000001\".", m.MchID)
	}
	if n := utf8.RuneCountInString(m.APIV2Key); m.APIV2Key != "" && n != 32 {
		// The key is a secret: its length is said, never its value.
		bad("api_v2_key", "Invalid API v2 key", "the key is %d characters long; an API v2 key is exactly 32 characters,, as set on the merchant platform.", n)
	}
	fileErr := func(err error) string {
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
			err = pe.Err
		}
		return strings.TrimSuffix(err.Error(), ".")
	}
	var key *rsa.PrivateKey
	if m.PrivateKeyFile != "" {
		b, err := safefile.ReadFile(merchantFile(m.PrivateKeyFile), uploader.MaxPEMFile)
		if err == nil {
			key, err = uploader.ParsePrivateKey(b)
		}
		if err != nil {
			bad("private_key_file", "Invalid private key", "%s: %s. It must be the merchant API private key (apiclient_key.pem), an unencrypted RSA key in PEM.", m.PrivateKeyFile, fileErr(err))
		}
	}
	if f := m.PlatformPublicKeyFile; f != "" {
		if err := checkPublicKeyFile(merchantFile(f), false); err != nil {
			bad("platform_public_key_file", "Invalid platform public key", "%s: %s. It must be the WeChat Pay public key (pub_key.pem) downloaded from the merchant platform, an RSA key in PEM.", f, fileErr(err))
		}
	}
	if f := m.PlatformCertificateFile; f != "" {
		if err := checkPublicKeyFile(merchantFile(f), true); err != nil {
			bad("platform_certificate_file", "Invalid platform certificate", "%s: %s. It must be a WeChat Pay platform certificate, an RSA certificate in PEM.", f, fileErr(err))
		}
	}
	if f := m.ClientCertificateFile; f != "" && key != nil {
		pair, err := uploader.LoadKeyPair(merchantFile(f), merchantFile(m.PrivateKeyFile))
		switch {
		case err != nil:
			bad("client_certificate_file", "Invalid client certificate", "%s with private_key_file %s: %s. It must be the merchant API certificate (apiclient_cert.pem) issued for that private key.", f, m.PrivateKeyFile, fileErr(err))
		case m.SerialNo != "" && pair.Leaf != nil && !strings.EqualFold(uploader.SerialHex(pair.Leaf), m.SerialNo):
			// Both name the merchant API certificate: a serial of another
			// certificate makes every v3 request fail with SIGN_ERROR.
			bad("serial_no", "Invalid certificate serial", "%s is not the serial of client_certificate_file %s (%s), the merchant API certificate.", m.SerialNo, f, uploader.SerialHex(pair.Leaf))
		}
	}
	if f := m.CACertificateFile; f != "" {
		if err := checkCAFile(merchantFile(f)); err != nil {
			bad("ca_certificate_file", "Invalid CA certificate", "%s: %s.", f, fileErr(err))
		}
	}
	return diags
}

// checkPublicKeyFile checks that path holds an RSA public key in PEM, as
// a certificate when cert is set.
func checkPublicKeyFile(path string, cert bool) error {
	b, err := safefile.ReadFile(path, uploader.MaxPEMFile)
	if err != nil {
		return err
	}
	if cert {
		rest := b
		var blk *pem.Block
		for {
			if blk, rest = pem.Decode(rest); blk == nil {
				return errors.New("no PEM certificate block found")
			}
			if blk.Type == "CERTIFICATE" {
				break
			}
		}
		if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
			return fmt.Errorf("parse certificate: %w", err)
		}
	}
	_, err = uploader.ParsePublicKey(b)
	return err
}

// checkCAFile checks that a trust-root file holds at least one PEM
// certificate, as the HTTP client will need.
func checkCAFile(path string) error {
	b, err := safefile.ReadFile(path, uploader.MaxPEMFile)
	if err != nil {
		return err
	}
	if !x509.NewCertPool().AppendCertsFromPEM(b) {
		return errors.New("no PEM certificate found")
	}
	return nil
}
