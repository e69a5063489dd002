package main

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"

	"github.com/wxmedia/wxmedia/apply"
	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/schema"
	"github.com/wxmedia/wxmedia/uploader"
	"github.com/wxmedia/wxmedia/uploader/sandbox"
)

// Defaults of the merchant endpoints.
const (
	defaultEndpoint   = "https://api.mch.weixin.qq.com"
	defaultV2Endpoint = "https://apihk.mch.weixin.qq.com"
)

// merchantProtocols reports which protocols each merchant block's resources
// use: v3 for the APIv3 types, v2 for wechatpay_v2_image. A resource
// without a merchant attribute belongs to the single merchant.
func merchantProtocols(ev *schema.Evaluation) (v3, v2 map[string]bool) {
	v3, v2 = map[string]bool{}, map[string]bool{}
	single := ""
	if len(ev.Merchants) == 1 {
		for name := range ev.Merchants {
			single = name
		}
	}
	for _, r := range ev.Config.Resources {
		name := r.Merchant
		if name == "" {
			name = single
		}
		if r.Spec.Protocol == uploader.ProtocolV2 {
			v2[name] = true
		} else {
			v3[name] = true
		}
	}
	return v3, v2
}

// checkMerchants applies the rules a merchant block must meet. A merchant
// needs the v3 credentials (serial_no, private_key_file, and a platform
// public key or certificate to verify replies with) unless every one of
// its resources is a wechatpay_v2_image; it needs api_v2_key,
// client_certificate_file and private_key_file when it has any
// wechatpay_v2_image. A merchant without resources is held to the v3 rules.
func checkMerchants(ev *schema.Evaluation) hcl.Diagnostics {
	var diags hcl.Diagnostics
	bad := func(m *schema.Merchant, format string, args ...any) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid merchant",
			Detail:   fmt.Sprintf("merchant %q: ", m.Name) + fmt.Sprintf(format, args...),
			Subject:  m.DeclRange.Ptr(),
		})
	}
	usesV3, usesV2 := merchantProtocols(ev)
	for _, name := range sortedKeys(ev.Merchants) {
		m := ev.Merchants[name]
		if m.Sandbox {
			continue
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
				Detail: fmt.Sprintf("merchant %q: api_v3_key must be exactly %d characters: the APIv3 key set on the merchant platform (Account Center > API security).",
					m.Name, uploader.APIv3KeyLength),
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
		if m.FallbackEndpoint != "" && plan.Service(m.FallbackEndpoint) != plan.Service(m.Endpoint) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Fallback endpoint of another service",
				Detail: fmt.Sprintf("merchant %q: fallback_endpoint %s is not WeChat Pay's and differs from endpoint %s; identifiers are cached under the endpoint's service, so the fallback must serve the same identifiers.",
					m.Name, m.FallbackEndpoint, orDefault(m.Endpoint, defaultEndpoint)),
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
	}
	return diags
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
			Detail:   fmt.Sprintf("merchant %q: %s: ", m.Name, attr) + fmt.Sprintf(format, args...),
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
	fileErr := func(err error) string { return strings.TrimSuffix(unwrapPath(err).Error(), ".") }
	var key *rsa.PrivateKey
	if m.PrivateKeyFile != "" {
		b, err := os.ReadFile(configPath(m.PrivateKeyFile))
		if err == nil {
			key, err = uploader.ParsePrivateKey(b)
		}
		if err != nil {
			bad("private_key_file", "Invalid private key", "%s: %s. It must be the merchant API private key (apiclient_key.pem), an unencrypted RSA key in PEM.", m.PrivateKeyFile, fileErr(err))
		}
	}
	if f := m.PlatformPublicKeyFile; f != "" {
		if err := checkPublicKeyFile(configPath(f), false); err != nil {
			bad("platform_public_key_file", "Invalid platform public key", "%s: %s. It must be the WeChat Pay public key (pub_key.pem) downloaded from the merchant platform, an RSA key in PEM.", f, fileErr(err))
		}
	}
	if f := m.PlatformCertificateFile; f != "" {
		if err := checkPublicKeyFile(configPath(f), true); err != nil {
			bad("platform_certificate_file", "Invalid platform certificate", "%s: %s. It must be a WeChat Pay platform certificate, an RSA certificate in PEM.", f, fileErr(err))
		}
	}
	if f := m.ClientCertificateFile; f != "" && key != nil {
		pair, err := tls.LoadX509KeyPair(configPath(f), configPath(m.PrivateKeyFile))
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
		if err := checkCAFile(configPath(f)); err != nil {
			bad("ca_certificate_file", "Invalid CA certificate", "%s: %s.", f, fileErr(err))
		}
	}
	return diags
}

// checkPublicKeyFile checks that path holds an RSA public key in PEM, as
// a certificate when cert is set.
func checkPublicKeyFile(path string, cert bool) error {
	b, err := os.ReadFile(path)
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
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !x509.NewCertPool().AppendCertsFromPEM(b) {
		return errors.New("no PEM certificate found")
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// uploaders builds one client per merchant that has something to upload,
// with the protocols its uploads need. The returned stop function shuts
// down an in-process sandbox.
func (w *workspace) uploaders(p *plan.Plan, parallelism int, retryTimeout time.Duration) (map[string]apply.Uploader, func(), error) {
	type need struct{ v3, v2 bool }
	needs := map[string]*need{}
	for _, c := range p.Changes {
		if c.Action != plan.Upload && c.Action != plan.Reupload {
			continue
		}
		n := needs[c.Merchant]
		if n == nil {
			n = &need{}
			needs[c.Merchant] = n
		}
		if spec, ok := uploader.SpecForAPI(uploader.API(c.API)); ok && spec.Protocol == uploader.ProtocolV2 {
			n.v2 = true
		} else {
			n.v3 = true
		}
	}
	out := map[string]apply.Uploader{}
	var srv *sandbox.Server
	stop := func() {
		if srv != nil {
			srv.Close()
		}
	}
	ua := fmt.Sprintf("wxmedia/%s (%s; %s)", version, runtime.GOOS, runtime.Version())
	// One keep-alive pool per trust root, sized to the parallelism.
	clients := apply.NewHTTPClients(parallelism)
	// The server limits each merchant ID: a 429 slows every upload of that
	// merchant ID to the pace the server accepts (apply.Limiter), never
	// above the lowest max_requests_per_second of its merchant blocks.
	limiters := map[string]*apply.Limiter{}
	// An endpoint that stops answering is taken out of the run for every
	// merchant using it.
	breakers := uploader.NewBreakers()
	ceilings := map[string]float64{}
	limiterKey := func(name string) string {
		id := w.idents[name]
		return id.Service + "\x00" + id.MchID
	}
	for name := range needs {
		k, c := limiterKey(name), w.ev.Merchants[name].MaxRequestsPerSecond
		if old, ok := ceilings[k]; !ok || c > 0 && (old == 0 || c < old) {
			ceilings[k] = c
		}
	}
	for _, name := range sortedKeys(needs) {
		n := needs[name]
		m := w.ev.Merchants[name]
		var cfg uploader.Config
		var caFile, certFile, keyFile string
		if m.Sandbox {
			if srv == nil {
				var err error
				srv, err = w.sandbox.Start("127.0.0.1:0")
				if err != nil {
					return nil, stop, fmt.Errorf("starting the sandbox: %w", err)
				}
			}
			creds, err := w.sandbox.RegisterMerchant(m.MchID)
			if err != nil {
				return nil, stop, fmt.Errorf("sandbox merchant %s: %w", m.MchID, err)
			}
			cfg = uploader.Config{MchID: creds.MchID}
			if n.v3 {
				cfg.SerialNo, cfg.PlatformKeyID, cfg.Endpoint = creds.SerialNo, creds.PlatformPublicKeyID, srv.URL()
				if cfg.PrivateKey, err = uploader.LoadPrivateKey(creds.PrivateKeyFile); err != nil {
					return nil, stop, err
				}
				if cfg.PlatformKey, err = uploader.LoadPublicKey(creds.PlatformPublicKeyFile); err != nil {
					return nil, stop, err
				}
			}
			if n.v2 {
				cfg.APIv2Key, cfg.V2SignType, cfg.V2Endpoint = creds.APIv2Key, m.V2SignType, srv.URL()
				certFile, keyFile = creds.CertificateFile, creds.PrivateKeyFile
			}
			caFile = creds.CAFile
		} else {
			var err error
			cfg = uploader.Config{MchID: m.MchID}
			if m.CACertificateFile != "" {
				caFile = configPath(m.CACertificateFile)
			}
			if n.v3 {
				cfg.SerialNo, cfg.Endpoint, cfg.FallbackEndpoint = m.SerialNo, m.Endpoint, m.FallbackEndpoint
				if cfg.Endpoint == "" {
					cfg.Endpoint = defaultEndpoint
				}
				if cfg.PrivateKey, err = uploader.LoadPrivateKey(configPath(m.PrivateKeyFile)); err != nil {
					return nil, stop, fmt.Errorf("merchant %q: private_key_file: %w", name, err)
				}
				cfg.APIv3Key = m.APIV3Key
				if m.APIV3Key != "" {
					cfg.CertificateCache = uploader.FileCertificateCache{Path: platformCertificatesPath,
						Key: plan.Service(orDefault(m.Endpoint, defaultEndpoint)) + "/" + m.MchID}
				}
				switch {
				case m.PlatformPublicKeyID == "" && m.PlatformCertificateFile == "" && m.APIV3Key != "":
					// Replies are verified with downloaded platform certificates only.
				case m.PlatformCertificateFile != "":
					if cfg.PlatformKey, err = uploader.LoadPublicKey(configPath(m.PlatformCertificateFile)); err != nil {
						return nil, stop, fmt.Errorf("merchant %q: platform_certificate_file: %w", name, err)
					}
					if cfg.PlatformKeyID, err = uploader.CertificateSerial(configPath(m.PlatformCertificateFile)); err != nil {
						return nil, stop, fmt.Errorf("merchant %q: platform_certificate_file: %w", name, err)
					}
				default:
					cfg.PlatformKeyID = m.PlatformPublicKeyID
					if cfg.PlatformKey, err = uploader.LoadPublicKey(configPath(m.PlatformPublicKeyFile)); err != nil {
						return nil, stop, fmt.Errorf("merchant %q: platform_public_key_file: %w", name, err)
					}
				}
			}
			if n.v2 {
				cfg.APIv2Key, cfg.V2SignType, cfg.V2Endpoint = m.APIV2Key, m.V2SignType, m.V2Endpoint
				if cfg.V2Endpoint == "" {
					cfg.V2Endpoint = defaultV2Endpoint
				}
				certFile, keyFile = configPath(m.ClientCertificateFile), configPath(m.PrivateKeyFile)
			}
		}
		hc, err := clients.Client(caFile)
		if err != nil {
			return nil, stop, fmt.Errorf("merchant %q: %w", name, err)
		}
		cfg.HTTPClient = hc
		if n.v2 {
			if cfg.V2HTTPClient, err = clients.ClientCert(caFile, certFile, keyFile); err != nil {
				return nil, stop, fmt.Errorf("merchant %q: client_certificate_file: %w", name, err)
			}
		}
		cfg.UserAgent = ua
		cfg.Logger = w.log.With("merchant", name)
		k := limiterKey(name)
		lim := limiters[k]
		if lim == nil {
			lim = apply.NewLimiter(ceilings[k])
			limiters[k] = lim
		}
		cfg.Throttle, cfg.OnAttempt = lim.Throttle, lim.OnAttempt
		cfg.RetryTimeout = retryTimeout
		cfg.Breakers = breakers
		c, err := uploader.NewClient(cfg)
		if err != nil {
			return nil, stop, fmt.Errorf("merchant %q: %w", name, err)
		}
		out[name] = c
	}
	return out, stop, nil
}

func configPath(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Clean(p)
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
