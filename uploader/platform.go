package uploader

// Platform certificates, downloaded and rotated. A merchant that was not
// given a WeChat Pay public key verifies replies with platform
// certificates, which WeChat Pay rotates. With Config.APIv3Key the Client
// downloads them from GET /v3/certificates (each encrypted with
// AEAD_AES_256_GCM under the API v3 key), keeps them (public data only) in
// a CertificateCache, names the newest valid one in Wechatpay-Serial,
// refreshes once when a reply names a serial it does not know, and before
// use when the newest is about to expire.
//
// Written by hand: no maintained Go library downloads WeChat Pay platform
// certificates without bringing its whole SDK client along; the pieces
// (AES-GCM, X.509, PEM) are the standard library's.

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CertificatesPath is the platform certificate download API.
const CertificatesPath = "/v3/certificates"

// CertificateRenewal is how long before its expiry the newest platform
// certificate is refreshed before use. WeChat Pay offers a new
// certificate well before the old one expires.
const CertificateRenewal = 24 * time.Hour

// maxUnknownSerialRefreshes bounds the downloads a Client makes for reply
// serials it does not know.
const maxUnknownSerialRefreshes = 3

// APIv3KeyLength is the length of an API v3 key in characters (bytes: it
// is the AES-256 key).
const APIv3KeyLength = 32

// ErrCertificates is returned when the platform certificates cannot be
// downloaded, decrypted or trusted, or none is valid.
var ErrCertificates = errors.New("platform certificates unavailable")

// CertificateCache keeps a merchant's downloaded platform certificates
// between runs. Only certificates (public data) pass through it.
type CertificateCache interface {
	Load() ([]*x509.Certificate, error)
	Save([]*x509.Certificate) error
}

// platformCerts is a Client's set of platform certificates.
type platformCerts struct {
	mu        sync.Mutex
	certs     map[string]*x509.Certificate // by uppercase hex serial
	loaded    bool                         // the cache was read
	gen       int                          // bumped by every refresh
	renewed   bool                         // a refresh for expiry was tried
	tried     map[string]bool              // serials a refresh was tried for
	refreshes int                          // downloads for unknown serials so far
	fails     int                          // downloads that failed so far
	lastErr   error                        // the last download's error, nil after a success
	refreshMu sync.Mutex                   // one download at a time
}

func newPlatformCerts() *platformCerts {
	return &platformCerts{certs: map[string]*x509.Certificate{}, tried: map[string]bool{}}
}

// validAt reports whether c is within its validity window at t.
func validAt(c *x509.Certificate, t time.Time) bool {
	return !t.Before(c.NotBefore) && !t.After(c.NotAfter)
}

// loadCache reads the cache once. Callers hold pc.mu.
func (c *Client) loadCache() {
	pc := c.pc
	if pc.loaded {
		return
	}
	pc.loaded = true
	if c.cfg.CertificateCache == nil {
		return
	}
	certs, err := c.cfg.CertificateCache.Load()
	if err != nil {
		c.log("platform certificate cache unreadable, downloading again", "error", err.Error())
		return
	}
	for _, cert := range certs {
		if _, ok := cert.PublicKey.(*rsa.PublicKey); ok {
			pc.certs[SerialHex(cert)] = cert
		}
	}
}

// newest returns the valid certificate with the latest NotBefore (then
// NotAfter), or nil. Callers hold pc.mu.
func (pc *platformCerts) newest(now time.Time) *x509.Certificate {
	var best *x509.Certificate
	for _, cert := range pc.certs {
		if !validAt(cert, now) {
			continue
		}
		if best == nil || cert.NotBefore.After(best.NotBefore) ||
			cert.NotBefore.Equal(best.NotBefore) && cert.NotAfter.After(best.NotAfter) {
			best = cert
		}
	}
	return best
}

// requestSerial returns the Wechatpay-Serial of a request: the platform
// public key ID (or certificate serial) when configured, else the newest
// valid downloaded certificate, downloading first when there is none or it
// expires within CertificateRenewal.
func (c *Client) requestSerial(ctx context.Context) (string, error) {
	if c.cfg.PlatformKeyID != "" || c.pc == nil {
		return c.cfg.PlatformKeyID, nil
	}
	pc := c.pc
	now := c.cfg.Now()
	pc.mu.Lock()
	c.loadCache()
	best := pc.newest(now)
	renew := best != nil && !pc.renewed && best.NotAfter.Sub(now) < CertificateRenewal
	if renew {
		pc.renewed = true
	}
	gen, fails := pc.gen, pc.fails
	pc.mu.Unlock()
	switch {
	case best == nil:
		if err := c.firstCertificates(ctx, gen, fails); err != nil {
			return "", err
		}
	case renew:
		if err := c.refreshCertificates(ctx, gen); err != nil {
			c.log("refreshing platform certificates before expiry failed; using the current one", "error", err.Error())
		}
	}
	if best == nil || renew {
		pc.mu.Lock()
		best = pc.newest(now)
		pc.mu.Unlock()
	}
	if best == nil {
		return "", errNoneValid
	}
	return SerialHex(best), nil
}

// replyKey returns the key that verifies a reply naming serial: the
// configured platform key, or the downloaded certificate of that serial,
// refreshing the certificates once when the serial is unknown. Errors wrap
// ErrVerify.
func (c *Client) replyKey(ctx context.Context, serial string) (*rsa.PublicKey, error) {
	if c.cfg.PlatformKeyID != "" && (serial == c.cfg.PlatformKeyID ||
		!strings.HasPrefix(c.cfg.PlatformKeyID, "PUB_KEY_ID_") && strings.EqualFold(serial, c.cfg.PlatformKeyID)) {
		return c.cfg.PlatformKey, nil
	}
	if c.pc == nil {
		return nil, verifyErr(ProtocolV3, "Wechatpay-Serial %q is not the platform key %q", serial, c.cfg.PlatformKeyID)
	}
	pc := c.pc
	key := strings.ToUpper(serial)
	pc.mu.Lock()
	c.loadCache()
	cert := pc.certs[key]
	// One download per unknown serial, and a few at most per Client: a
	// server naming a new serial in every reply does not get a download
	// per upload.
	refresh := cert == nil && !pc.tried[key] && pc.refreshes < maxUnknownSerialRefreshes
	if refresh {
		pc.tried[key] = true
		pc.refreshes++
	}
	gen := pc.gen
	pc.mu.Unlock()
	if refresh {
		c.log("reply names an unknown platform certificate, downloading the certificates", "serial", serial)
		if err := c.refreshCertificates(ctx, gen); err != nil {
			e := verifyErr(ProtocolV3, "Wechatpay-Serial %q names no known platform certificate, and downloading them failed: %v", serial, err)
			e.Err = err
			return nil, e
		}
		pc.mu.Lock()
		cert = pc.certs[key]
		pc.mu.Unlock()
	} else if cert == nil {
		// Another upload may be downloading for this serial: wait for it.
		pc.refreshMu.Lock()
		pc.refreshMu.Unlock() //nolint:staticcheck // an empty critical section waits for the download in flight
		pc.mu.Lock()
		cert = pc.certs[key]
		pc.mu.Unlock()
	}
	if cert == nil {
		return nil, verifyErr(ProtocolV3, "Wechatpay-Serial %q names no platform certificate of this merchant", serial)
	}
	if now := c.cfg.Now(); !validAt(cert, now) {
		return nil, verifyErr(ProtocolV3, "platform certificate %s is valid from %s to %s, not now", SerialHex(cert), cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return cert.PublicKey.(*rsa.PublicKey), nil
}

// errNoneValid: the certificates downloaded are none of them valid now.
var errNoneValid = fmt.Errorf("%w: no downloaded platform certificate is valid now", ErrCertificates)

// firstCertificates downloads the platform certificates for a request
// when none is valid, unless another download finished since the caller
// saw generation gen and fails failed downloads. Concurrent requests share
// one download: those that waited for it use its certificates, or get its
// error when it failed. After a failure that cannot go away by itself (a
// wrong api_v3_key, a reply that does not verify, certificates none of
// which is valid now) no other download is made until one succeeds; after
// a retryable one (5xx, 429, a network error) the request's next attempt
// downloads again.
func (c *Client) firstCertificates(ctx context.Context, gen, fails int) error {
	pc := c.pc
	pc.refreshMu.Lock()
	defer pc.refreshMu.Unlock()
	pc.mu.Lock()
	changed, failed, lastErr := pc.gen != gen, pc.fails != fails, pc.lastErr
	pc.mu.Unlock()
	switch {
	case changed:
		return nil
	case failed || lastErr != nil && !IsRetryable(lastErr):
		return lastErr
	}
	if err := c.downloadAndKeep(ctx); err != nil {
		return err
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.newest(c.cfg.Now()) == nil {
		pc.lastErr = errNoneValid
	}
	return nil
}

// refreshCertificates downloads the platform certificates, unless another
// download finished since the caller saw generation gen.
func (c *Client) refreshCertificates(ctx context.Context, gen int) error {
	pc := c.pc
	pc.refreshMu.Lock()
	defer pc.refreshMu.Unlock()
	pc.mu.Lock()
	done := pc.gen != gen
	pc.mu.Unlock()
	if done {
		return nil
	}
	return c.downloadAndKeep(ctx)
}

// downloadAndKeep downloads the platform certificates and keeps them, or
// records the failure. Callers hold pc.refreshMu.
func (c *Client) downloadAndKeep(ctx context.Context) error {
	pc := c.pc
	certs, err := c.downloadCertificates(ctx)
	if err != nil {
		pc.mu.Lock()
		pc.fails++
		pc.lastErr = err
		pc.mu.Unlock()
		return err
	}
	pc.mu.Lock()
	pc.certs = map[string]*x509.Certificate{}
	serials := make([]string, 0, len(certs))
	for _, cert := range certs {
		pc.certs[SerialHex(cert)] = cert
		serials = append(serials, SerialHex(cert))
	}
	pc.gen++
	pc.lastErr = nil
	pc.mu.Unlock()
	sort.Strings(serials)
	c.log("platform certificates downloaded", "serials", strings.Join(serials, ","))
	if c.cfg.CertificateCache != nil {
		if err := c.cfg.CertificateCache.Save(certs); err != nil {
			c.log("platform certificate cache not written", "error", err.Error())
		}
	}
	return nil
}

// downloadCertificates makes one signed GET /v3/certificates (to the
// fallback endpoint too when the first cannot be reached), decrypts and
// checks every certificate, verifies the reply's signature with the
// certificate it names (or the configured platform key), and returns the
// certificates valid now or later. Errors wrap ErrCertificates, and
// ErrVerify for a reply that cannot be trusted.
func (c *Client) downloadCertificates(ctx context.Context) ([]*x509.Certificate, error) {
	endpoints := []string{c.endpoint}
	if c.fallback != "" {
		endpoints = append(endpoints, c.fallback)
	}
	var err error
	for _, ep := range endpoints {
		var certs []*x509.Certificate
		certs, err = c.downloadFrom(ctx, ep)
		var netErr *NetworkError
		if err == nil || !errors.As(err, &netErr) || ctx.Err() != nil {
			return certs, err
		}
	}
	return nil, err
}

func (c *Client) downloadFrom(ctx context.Context, endpoint string) ([]*x509.Certificate, error) {
	if c.cfg.Throttle != nil {
		if err := c.cfg.Throttle(ctx); err != nil {
			return nil, err
		}
	}
	ts := c.cfg.Now().Unix()
	nonce := c.cfg.Nonce()
	sig, err := Sign(c.cfg.PrivateKey, SignatureMessage(http.MethodGet, CertificatesPath, ts, nonce, nil))
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+CertificatesPath, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", AuthorizationHeader(c.cfg.MchID, nonce, ts, c.cfg.SerialNo, sig))
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	res := &Result{}
	resp, body, err := c.roundTrip(c.http, req, endpoint, &upload{spec: Spec{Path: CertificatesPath}}, res)
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %w", ErrCertificates, CertificatesPath, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		apiErr := parseAPIError(resp, body)
		if resp.StatusCode == http.StatusNotFound {
			return nil, fmt.Errorf("%w: GET %s: %w (a merchant without platform certificates verifies replies with the WeChat Pay public key: set platform_public_key_id and platform_public_key_file)",
				ErrCertificates, CertificatesPath, apiErr)
		}
		return nil, fmt.Errorf("%w: GET %s: %w", ErrCertificates, CertificatesPath, apiErr)
	}
	certs, err := c.decryptCertificates(body)
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s (Request-ID %q): %w", ErrCertificates, CertificatesPath, res.RequestID, err)
	}
	// The reply is trusted only once its signature verifies with the
	// certificate it names, among those it carries, or a key already trusted.
	serial := resp.Header.Get("Wechatpay-Serial")
	var key *rsa.PublicKey
	now := c.cfg.Now()
	for _, cert := range certs {
		if strings.EqualFold(SerialHex(cert), serial) && validAt(cert, now) {
			key = cert.PublicKey.(*rsa.PublicKey)
		}
	}
	if key == nil && c.cfg.PlatformKeyID != "" && serial == c.cfg.PlatformKeyID {
		key = c.cfg.PlatformKey
	}
	if key == nil {
		return nil, fmt.Errorf("%w: %w", ErrCertificates, verifyErr(ProtocolV3, "the reply of GET %s names Wechatpay-Serial %q, which is none of the valid certificates it carries",
			CertificatesPath, serial))
	}
	if err := c.checkReplySignature(resp.Header, body, key); err != nil {
		return nil, fmt.Errorf("%w: reply of GET %s: %w", ErrCertificates, CertificatesPath, err)
	}
	var usable []*x509.Certificate
	for _, cert := range certs {
		if !now.After(cert.NotAfter) {
			usable = append(usable, cert)
		}
	}
	if len(usable) == 0 {
		return nil, fmt.Errorf("%w: every certificate GET %s returned has expired", ErrCertificates, CertificatesPath)
	}
	return usable, nil
}

// decryptCertificates reads the download's JSON and decrypts each
// certificate. A plaintext must be exactly one PEM certificate, whose
// serial is the entry's serial_no; anything else (a private key
// included) is refused, so nothing but certificates ever exists here.
func (c *Client) decryptCertificates(body []byte) ([]*x509.Certificate, error) {
	var reply struct {
		Data []struct {
			SerialNo           string `json:"serial_no"`
			EncryptCertificate struct {
				Algorithm      string `json:"algorithm"`
				Nonce          string `json:"nonce"`
				AssociatedData string `json:"associated_data"`
				Ciphertext     string `json:"ciphertext"`
			} `json:"encrypt_certificate"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &reply); err != nil {
		return nil, fmt.Errorf("reply is not the certificate list: %v", err)
	}
	if len(reply.Data) == 0 {
		return nil, errors.New("reply lists no certificate")
	}
	var out []*x509.Certificate
	for i, d := range reply.Data {
		e := d.EncryptCertificate
		if e.Algorithm != "AEAD_AES_256_GCM" {
			return nil, fmt.Errorf("certificate %d: algorithm %q is not AEAD_AES_256_GCM", i, e.Algorithm)
		}
		plain, err := DecryptAEADAES256GCM(c.cfg.APIv3Key, e.Nonce, e.AssociatedData, e.Ciphertext)
		if err != nil {
			return nil, fmt.Errorf("certificate %d (serial_no %q): %w", i, d.SerialNo, err)
		}
		cert, err := parseOnlyCertificate(plain)
		clear(plain)
		if err != nil {
			return nil, fmt.Errorf("certificate %d (serial_no %q): %w", i, d.SerialNo, err)
		}
		if !strings.EqualFold(SerialHex(cert), d.SerialNo) {
			return nil, fmt.Errorf("certificate %d: its serial %s is not the serial_no %q it is listed under", i, SerialHex(cert), d.SerialNo)
		}
		if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
			return nil, fmt.Errorf("certificate %s: not an RSA key", SerialHex(cert))
		}
		out = append(out, cert)
	}
	return out, nil
}

// parseOnlyCertificate parses data that must be PEM certificate blocks
// only (exactly one), and nothing else.
func parseOnlyCertificate(data []byte) (*x509.Certificate, error) {
	var cert *x509.Certificate
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("decrypted data holds a %q block: only a certificate is accepted", block.Type)
		}
		if cert != nil {
			return nil, errors.New("decrypted data holds more than one certificate")
		}
		var err error
		if cert, err = x509.ParseCertificate(block.Bytes); err != nil {
			return nil, fmt.Errorf("decrypted certificate: %w", err)
		}
	}
	if cert == nil || len(strings.TrimSpace(string(rest))) > 0 {
		return nil, errors.New("decrypted data is not one PEM certificate")
	}
	return cert, nil
}

// DecryptAEADAES256GCM decrypts WeChat Pay's AEAD_AES_256_GCM: key is the
// API v3 key (32 bytes), nonce and associatedData as given, ciphertext base64
// of the sealed bytes and their 16-byte tag.
func DecryptAEADAES256GCM(key, nonce, associatedData, ciphertext string) ([]byte, error) {
	if len(key) != APIv3KeyLength {
		return nil, fmt.Errorf("api_v3_key must be %d characters", APIv3KeyLength)
	}
	sealed, err := base64.StdEncoding.DecodeString(ciphertext)
	if err != nil {
		return nil, fmt.Errorf("ciphertext is not base64: %v", err)
	}
	block, err := aes.NewCipher([]byte(key))
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(nonce))
	if len(nonce) == 0 || err != nil {
		return nil, fmt.Errorf("nonce of %d bytes is not usable", len(nonce))
	}
	plain, err := gcm.Open(nil, []byte(nonce), sealed, []byte(associatedData))
	if err != nil {
		return nil, errors.New("decryption failed: check api_v3_key (the merchant platform's APIv3 key)")
	}
	return plain, nil
}

// checkReplySignature checks a reply's headers (checkReplyHeaders) and
// its signature with key. Errors wrap ErrVerify.
func (c *Client) checkReplySignature(h http.Header, body []byte, key *rsa.PublicKey) error {
	if err := c.checkReplyHeaders(h); err != nil {
		return err
	}
	if err := Verify(key, ReplyMessage(h.Get("Wechatpay-Timestamp"), h.Get("Wechatpay-Nonce"), body), h.Get("Wechatpay-Signature")); err != nil {
		return verifyErr(ProtocolV3, "Wechatpay-Signature: %v", err)
	}
	return nil
}

// checkReplyHeaders checks a reply's signature type, its timestamp (within
// ReplyMaxSkew of the local clock), and that it has a nonce and a
// signature. Errors wrap ErrVerify.
func (c *Client) checkReplyHeaders(h http.Header) error {
	if t := h.Get("Wechatpay-Signature-Type"); t != "" && t != AuthScheme {
		return verifyErr(ProtocolV3, "Wechatpay-Signature-Type %q is not %s", t, AuthScheme)
	}
	tsText := h.Get("Wechatpay-Timestamp")
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return verifyErr(ProtocolV3, "Wechatpay-Timestamp %q is not a unix time", tsText)
	}
	skew := c.cfg.Now().Sub(time.Unix(ts, 0))
	if skew > ReplyMaxSkew || skew < -ReplyMaxSkew {
		e := verifyErr(ProtocolV3, "Wechatpay-Timestamp %d is %s from the local clock (limit %s)", ts, skew.Round(time.Second), ReplyMaxSkew)
		e.Skew = skew.Round(time.Second)
		return e
	}
	nonce := h.Get("Wechatpay-Nonce")
	if nonce == "" {
		return verifyErr(ProtocolV3, "Wechatpay-Nonce is missing")
	}
	if h.Get("Wechatpay-Signature") == "" {
		return verifyErr(ProtocolV3, "Wechatpay-Signature is missing")
	}
	return nil
}
