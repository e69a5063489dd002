package uploader

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/wxmedia/wxmedia/internal/safefile"
)

// WeChat Pay's endpoints, for a merchant block that names none.
const (
	DefaultEndpoint   = "https://api.mch.weixin.qq.com"
	DefaultV2Endpoint = "https://apihk.mch.weixin.qq.com"
)

// Service returns the cache service for an endpoint: "wechatpay" for
// WeChat Pay's own hosts, the endpoint's canonical URL otherwise (see
// CanonicalEndpoint), so that cosmetic rewrites of an endpoint
// (case, default port, trailing "/" or "/.") keep its identifiers. Sandbox
// merchants use their sandbox's instance ID instead.
func Service(endpoint string) string {
	if endpoint == "" {
		return "wechatpay"
	}
	c := CanonicalEndpoint(endpoint)
	u, err := url.Parse(c)
	if err == nil && u.Scheme == "https" {
		h := u.Hostname()
		if h == "mch.weixin.qq.com" || strings.HasSuffix(h, ".mch.weixin.qq.com") {
			return "wechatpay"
		}
	}
	return strings.TrimRight(c, "/")
}

// CheckEndpoint validates an endpoint base URL and returns its canonical
// form (see CanonicalEndpoint): https, or http when the host is loopback or
// localhost; no query, fragment or user info.
func CheckEndpoint(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error quotes the whole URL, password included.
		var ue *url.Error
		if errors.As(err, &ue) {
			return "", fmt.Errorf("not a valid URL: %w", ue.Err)
		}
		return "", errors.New("not a valid URL")
	}
	// The messages show the URL with its password hidden.
	shown := u.Redacted()
	if u.Host == "" {
		return "", fmt.Errorf("%q is not an absolute URL", shown)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.ForceQuery {
		return "", fmt.Errorf("%q must not have a query, fragment or user info", shown)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return "", fmt.Errorf("%q: plain http is only allowed to a loopback host", shown)
		}
	default:
		return "", fmt.Errorf("%q: scheme must be https", shown)
	}
	return canonicalURL(u), nil
}

// CanonicalEndpoint returns the canonical form of an endpoint base URL:
// scheme and host in lower case, the scheme's default port dropped, the
// path cleaned ("/v3/./x/" is "/v3/x", "/" and "/." are nothing) and no
// trailing slash. Two spellings of one endpoint have one canonical form,
// so it can identify a service. Text that is not an absolute http(s) URL
// without query, fragment or user info is returned unchanged.
func CanonicalEndpoint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.ForceQuery {
		return raw
	}
	if s := strings.ToLower(u.Scheme); s != "https" && s != "http" {
		return raw
	}
	return canonicalURL(u)
}

func canonicalURL(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "443" && scheme == "https" || port == "80" && scheme == "http" {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	c := url.URL{Scheme: scheme, Host: host}
	if p := path.Clean("/" + u.Path); p != "/" {
		c.Path = p
	}
	return c.String()
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// NewHTTPClient returns an HTTP client with sane timeouts (10 s to connect
// and handshake, 60 s for the reply headers, 3 min per request) that trusts
// the system roots plus, when caFile is not empty, the certificates of that
// PEM file (private endpoints, the sandbox).
func NewHTTPClient(caFile string) (*http.Client, error) {
	return newHTTPClient(caFile, nil)
}

// NewHTTPClientCert is NewHTTPClient presenting a client certificate: the
// merchant's API certificate (certFile, PEM) and its private key (keyFile,
// PEM, PKCS#8 or PKCS#1), as the v2 API requires.
func NewHTTPClientCert(caFile, certFile, keyFile string) (*http.Client, error) {
	pair, err := LoadKeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("client certificate %s with key %s: %w", certFile, keyFile, err)
	}
	return newHTTPClient(caFile, &pair)
}

// LoadKeyPair is tls.LoadX509KeyPair reading both files as LoadPrivateKey
// does: opened without blocking, regular files only, up to MaxPEMFile.
func LoadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := safefile.ReadFile(certFile, maxPEMFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := safefile.ReadFile(keyFile, maxPEMFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

func newHTTPClient(caFile string, cert *tls.Certificate) (*http.Client, error) {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if cert != nil {
		tlsConf.Certificates = []tls.Certificate{*cert}
	}
	if caFile != "" {
		pem, err := safefile.ReadFile(caFile, maxPEMFile)
		if err != nil {
			return nil, fmt.Errorf("ca certificate: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca certificate %s: no PEM certificate found", caFile)
		}
		tlsConf.RootCAs = pool
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   32,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{Transport: tr, Timeout: 3 * time.Minute}, nil
}
