package main

import (
	"fmt"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"github.com/wxmedia/wxmedia/apply"
	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/uploader"
	"github.com/wxmedia/wxmedia/uploader/sandbox"
)

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
					cfg.Endpoint = uploader.DefaultEndpoint
				}
				if cfg.PrivateKey, err = uploader.LoadPrivateKey(configPath(m.PrivateKeyFile)); err != nil {
					return nil, stop, fmt.Errorf("merchant %q: private_key_file: %w", name, err)
				}
				cfg.APIv3Key = m.APIV3Key
				if m.APIV3Key != "" {
					cfg.CertificateCache = uploader.FileCertificateCache{Path: platformCertificatesPath,
						Key: plan.Service(orDefault(m.Endpoint, uploader.DefaultEndpoint)) + "/" + m.MchID}
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
					cfg.V2Endpoint = uploader.DefaultV2Endpoint
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
