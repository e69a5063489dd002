package main

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/wxmedia/wxmedia/apply"
	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/schema"
	"github.com/wxmedia/wxmedia/uploader"
	"github.com/wxmedia/wxmedia/uploader/sandbox"
)

// checkMerchants applies the rules a merchant block must meet.
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
	for _, m := range ev.Merchants {
		if m.Sandbox {
			continue
		}
		var missing []string
		for _, f := range []struct{ name, val string }{{"mchid", m.MchID}, {"serial_no", m.SerialNo}, {"private_key_file", m.PrivateKeyFile}} {
			if f.val == "" {
				missing = append(missing, f.name)
			}
		}
		if len(missing) > 0 {
			bad(m, "%s required (or sandbox = true for the built-in emulator).", strings.Join(missing, ", "))
		}
		switch {
		case m.PlatformPublicKeyID != "" && m.PlatformPublicKeyFile != "":
		case m.PlatformCertificateFile != "":
		default:
			bad(m, "replies must be verified: set platform_public_key_id and platform_public_key_file, or platform_certificate_file.")
		}
		for _, e := range []struct{ name, val string }{{"endpoint", m.Endpoint}, {"fallback_endpoint", m.FallbackEndpoint}, {"v2_endpoint", m.V2Endpoint}} {
			if e.val == "" {
				continue
			}
			if _, err := uploader.CheckEndpoint(e.val); err != nil {
				bad(m, "%s: %v.", e.name, err)
			}
		}
		if m.V2SignType != "" && m.V2SignType != "MD5" && m.V2SignType != "HMAC-SHA256" {
			bad(m, "v2_sign_type must be \"MD5\" or \"HMAC-SHA256\", not %q.", m.V2SignType)
		}
	}
	return diags
}

// uploaders builds one client per merchant that has something to upload.
// The returned stop function shuts down an in-process sandbox.
func (w *workspace) uploaders(p *plan.Plan) (map[string]apply.Uploader, func(), error) {
	need := map[string]bool{}
	for _, c := range p.Changes {
		if c.Action == plan.Upload || c.Action == plan.Reupload {
			need[c.Merchant] = true
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
	for name := range need {
		m := w.ev.Merchants[name]
		var cfg uploader.Config
		var caFile string
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
			cfg = uploader.Config{MchID: creds.MchID, SerialNo: creds.SerialNo, PlatformKeyID: creds.PlatformPublicKeyID, Endpoint: srv.URL()}
			if cfg.PrivateKey, err = uploader.LoadPrivateKey(creds.PrivateKeyFile); err != nil {
				return nil, stop, err
			}
			if cfg.PlatformKey, err = uploader.LoadPublicKey(creds.PlatformPublicKeyFile); err != nil {
				return nil, stop, err
			}
			caFile = creds.CAFile
		} else {
			var err error
			cfg = uploader.Config{MchID: m.MchID, SerialNo: m.SerialNo, Endpoint: m.Endpoint, FallbackEndpoint: m.FallbackEndpoint}
			if cfg.Endpoint == "" {
				cfg.Endpoint = "https://api.mch.weixin.qq.com"
			}
			if cfg.PrivateKey, err = uploader.LoadPrivateKey(configPath(m.PrivateKeyFile)); err != nil {
				return nil, stop, fmt.Errorf("merchant %q: private_key_file: %w", name, err)
			}
			if m.PlatformCertificateFile != "" {
				if cfg.PlatformKey, err = uploader.LoadPublicKey(configPath(m.PlatformCertificateFile)); err != nil {
					return nil, stop, fmt.Errorf("merchant %q: platform_certificate_file: %w", name, err)
				}
				if cfg.PlatformKeyID, err = uploader.CertificateSerial(configPath(m.PlatformCertificateFile)); err != nil {
					return nil, stop, fmt.Errorf("merchant %q: platform_certificate_file: %w", name, err)
				}
			} else {
				cfg.PlatformKeyID = m.PlatformPublicKeyID
				if cfg.PlatformKey, err = uploader.LoadPublicKey(configPath(m.PlatformPublicKeyFile)); err != nil {
					return nil, stop, fmt.Errorf("merchant %q: platform_public_key_file: %w", name, err)
				}
			}
			if m.CACertificateFile != "" {
				caFile = configPath(m.CACertificateFile)
			}
		}
		hc, err := uploader.NewHTTPClient(caFile)
		if err != nil {
			return nil, stop, fmt.Errorf("merchant %q: %w", name, err)
		}
		cfg.HTTPClient = hc
		cfg.UserAgent = ua
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
