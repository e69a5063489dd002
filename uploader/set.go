package uploader

import (
	"fmt"
	"log/slog"
	"sort"
	"time"
)

// Merchant is the settings of one merchant instance, as plain values: what
// its merchant block says (file names as the configuration wrote them,
// relative to the working directory unless absolute), which protocols its
// uploads use, and its service identity. NewSet builds its Client.
type Merchant struct {
	MchID string
	// V3 and V2 say which protocols the merchant's uploads use; only the
	// credentials of those are loaded.
	V3, V2 bool
	// Service is the merchant's service identity (Service of its endpoint,
	// or the sandbox's instance ID): merchants of one Service and MchID
	// share one rate limiter, as the server limits a merchant ID.
	Service string
	// Sandbox marks a merchant of the in-process sandbox: its endpoint and
	// credentials are the ones SetOptions.Sandbox issues for its MchID.
	Sandbox bool

	// v3: SerialNo, PrivateKeyFile, Endpoint (DefaultEndpoint when empty),
	// FallbackEndpoint, and the reply verification: PlatformCertificateFile,
	// else PlatformPublicKeyID with PlatformPublicKeyFile, else (with
	// APIv3Key) downloaded platform certificates only.
	SerialNo, PrivateKeyFile   string
	Endpoint, FallbackEndpoint string
	APIv3Key                   string
	PlatformCertificateFile    string
	PlatformPublicKeyID        string
	PlatformPublicKeyFile      string
	// v2: APIv2Key, V2SignType, V2Endpoint (DefaultV2Endpoint when
	// empty), ClientCertificateFile with PrivateKeyFile.
	APIv2Key, V2SignType, V2Endpoint string
	ClientCertificateFile            string
	// CACertificateFile, when set, is trusted besides the system roots.
	CACertificateFile string
	// MaxRequestsPerSecond is the ceiling of the merchant's pace; 0 for none.
	MaxRequestsPerSecond float64
}

// SetOptions are what the clients of one run share.
type SetOptions struct {
	// Parallelism sizes the keep-alive pools (apply's -parallelism).
	Parallelism int
	// RetryTimeout is each upload's retry budget (Config.RetryTimeout).
	RetryTimeout time.Duration
	UserAgent    string
	// Logger, when set, receives each client's records with a "merchant"
	// attribute.
	Logger *slog.Logger
	// CertificateCachePath is the file that keeps downloaded platform
	// certificates (FileCertificateCache) of merchants with an APIv3Key.
	CertificateCachePath string
	// Sandbox issues the endpoint and credentials of a sandbox merchant's
	// MchID (MchID, SerialNo, PrivateKeyFile, PlatformPublicKeyID,
	// PlatformPublicKeyFile, APIv2Key, ClientCertificateFile,
	// CACertificateFile, Endpoint, V2Endpoint); it is called once per
	// sandbox merchant, in name order, and may start the sandbox on its
	// first call. Required when a merchant has Sandbox set.
	Sandbox func(mchID string) (Merchant, error)
}

// NewSet builds the Client of every merchant instance in merchants, keyed
// by its name: keys and certificates loaded, one keep-alive pool per CA
// file sized for o.Parallelism (HTTPClients), one Limiter per merchant ID
// and service at the lowest MaxRequestsPerSecond of its merchants, and one
// set of endpoint Breakers for them all (an endpoint that stops answering
// is taken out of the run for every merchant using it). An error names the
// merchant and the attribute whose file could not be used, and wraps the
// loader's error; an error of o.Sandbox is returned as it is.
func NewSet(merchants map[string]Merchant, o SetOptions) (map[string]*Client, error) {
	names := make([]string, 0, len(merchants))
	for name := range merchants {
		names = append(names, name)
	}
	sort.Strings(names)
	clients := NewHTTPClients(o.Parallelism)
	breakers := NewBreakers()
	limiterKey := func(m Merchant) string { return m.Service + "\x00" + m.MchID }
	ceilings := map[string]float64{}
	for _, name := range names {
		m := merchants[name]
		k, c := limiterKey(m), m.MaxRequestsPerSecond
		if old, ok := ceilings[k]; !ok || c > 0 && (old == 0 || c < old) {
			ceilings[k] = c
		}
	}
	limiters := map[string]*Limiter{}
	out := make(map[string]*Client, len(merchants))
	for _, name := range names {
		m := merchants[name]
		k := limiterKey(m)
		if m.Sandbox {
			if o.Sandbox == nil {
				return nil, fmt.Errorf("merchant %q: no sandbox to upload to", name)
			}
			issued, err := o.Sandbox(m.MchID)
			if err != nil {
				return nil, err
			}
			issued.V3, issued.V2, issued.V2SignType, issued.Sandbox = m.V3, m.V2, m.V2SignType, true
			m = issued
		}
		cfg, err := m.config(o.CertificateCachePath)
		if err != nil {
			return nil, fmt.Errorf("merchant %q: %w", name, err)
		}
		if cfg.HTTPClient, err = clients.Client(m.CACertificateFile); err != nil {
			return nil, fmt.Errorf("merchant %q: %w", name, err)
		}
		if m.V2 {
			if cfg.V2HTTPClient, err = clients.ClientCert(m.CACertificateFile, m.ClientCertificateFile, m.PrivateKeyFile); err != nil {
				return nil, fmt.Errorf("merchant %q: client_certificate_file: %w", name, err)
			}
		}
		cfg.UserAgent = o.UserAgent
		if o.Logger != nil {
			cfg.Logger = o.Logger.With("merchant", name)
		}
		lim := limiters[k]
		if lim == nil {
			lim = NewLimiter(ceilings[k])
			limiters[k] = lim
		}
		cfg.Throttle, cfg.OnAttempt = lim.Throttle, lim.OnAttempt
		cfg.RetryTimeout = o.RetryTimeout
		cfg.Breakers = breakers
		c, err := NewClient(cfg)
		if err != nil {
			return nil, fmt.Errorf("merchant %q: %w", name, err)
		}
		out[name] = c
	}
	return out, nil
}

// config loads m's keys and certificates into a Config, without the HTTP
// clients and the run's hooks; an error names the attribute.
func (m Merchant) config(certificateCachePath string) (Config, error) {
	cfg := Config{MchID: m.MchID}
	var err error
	if m.V3 {
		cfg.SerialNo, cfg.Endpoint, cfg.FallbackEndpoint = m.SerialNo, m.Endpoint, m.FallbackEndpoint
		if cfg.Endpoint == "" {
			cfg.Endpoint = DefaultEndpoint
		}
		if cfg.PrivateKey, err = LoadPrivateKey(m.PrivateKeyFile); err != nil {
			return cfg, fmt.Errorf("private_key_file: %w", err)
		}
		cfg.APIv3Key = m.APIv3Key
		if m.APIv3Key != "" && !m.Sandbox {
			cfg.CertificateCache = FileCertificateCache{Path: certificateCachePath, Key: Service(cfg.Endpoint) + "/" + m.MchID}
		}
		switch {
		case m.PlatformPublicKeyID == "" && m.PlatformCertificateFile == "" && m.APIv3Key != "":
			// Replies are verified with downloaded platform certificates only.
		case m.PlatformCertificateFile != "":
			if cfg.PlatformKey, err = LoadPublicKey(m.PlatformCertificateFile); err != nil {
				return cfg, fmt.Errorf("platform_certificate_file: %w", err)
			}
			if cfg.PlatformKeyID, err = CertificateSerial(m.PlatformCertificateFile); err != nil {
				return cfg, fmt.Errorf("platform_certificate_file: %w", err)
			}
		default:
			cfg.PlatformKeyID = m.PlatformPublicKeyID
			if cfg.PlatformKey, err = LoadPublicKey(m.PlatformPublicKeyFile); err != nil {
				return cfg, fmt.Errorf("platform_public_key_file: %w", err)
			}
		}
	}
	if m.V2 {
		cfg.APIv2Key, cfg.V2SignType, cfg.V2Endpoint = m.APIv2Key, m.V2SignType, m.V2Endpoint
		if cfg.V2Endpoint == "" {
			cfg.V2Endpoint = DefaultV2Endpoint
		}
	}
	return cfg, nil
}
