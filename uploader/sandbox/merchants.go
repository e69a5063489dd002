package sandbox

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	neturl "net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/wxmedia/wxmedia/internal/datadir"
)

var mchidPattern = regexp.MustCompile(`^[0-9A-Za-z_-]{1,32}$`)

// RegisterMerchant returns the credentials of mchid, generating them once
// (an RSA 2048 key, a merchant certificate signed by the sandbox CA whose
// serial is 40 uppercase hex characters, a v2 API key) and persisting them
// under dir/merchants/<mchid>/. mchid is 1 to 32 letters, digits, '-' or '_'.
func (s *Sandbox) RegisterMerchant(mchid string) (MerchantCreds, error) {
	if !mchidPattern.MatchString(mchid) {
		return MerchantCreds{}, fmt.Errorf("sandbox: mchid %q must be 1 to 32 letters, digits, '-' or '_'", mchid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return MerchantCreds{}, ErrClosed
	}
	if _, ok := s.merchants[mchid]; !ok {
		if err := s.createMerchant(mchid); err != nil {
			return MerchantCreds{}, fmt.Errorf("sandbox: register merchant %s: %w", mchid, err)
		}
	}
	e := s.world.Merchants[mchid]
	return MerchantCreds{
		MchID:                   mchid,
		SerialNo:                e.SerialNo,
		PrivateKeyFile:          s.path(merchantsDir, mchid, merchantKeyFile),
		CertificateFile:         s.path(merchantsDir, mchid, merchantCertFile),
		APIv2Key:                e.APIv2Key,
		APIv3Key:                e.APIv3Key,
		PlatformPublicKeyID:     s.platformKeyID,
		PlatformPublicKeyFile:   s.path(platformPubFile),
		PlatformCertificateFile: s.path(platformCertFile),
		CAFile:                  s.path(caCertFile),
	}, nil
}

// createMerchant generates and persists a merchant. Callers hold s.mu.
func (s *Sandbox) createMerchant(mchid string) error {
	dir := s.path(merchantsDir, mchid)
	if err := datadir.MkdirAll(dir); err != nil {
		return err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	// 20 bytes whose first is 0x10..0x7F: a positive serial of exactly 40 hex digits.
	serialBytes := make([]byte, 20)
	_, _ = rand.Read(serialBytes)
	serialBytes[0] = 0x10 + serialBytes[0]%0x70
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes(serialBytes),
		Subject:      pkix.Name{CommonName: mchid, Organization: []string{"wxmedia sandbox merchant"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.caCert, &key.PublicKey, s.caKey)
	if err != nil {
		return err
	}
	if err := writeKey(filepath.Join(dir, merchantKeyFile), key); err != nil {
		return err
	}
	if err := writePEM(filepath.Join(dir, merchantCertFile), "CERTIFICATE", der, 0o644); err != nil {
		return err
	}
	serial := strings.ToUpper(hex.EncodeToString(serialBytes))
	e := merchantEntry{SerialNo: serial, APIv2Key: randomHex(16), APIv3Key: randomHex(16), RegisteredAt: now.UTC().Truncate(time.Second)}
	s.world.Merchants[mchid] = e
	if err := s.saveWorld(); err != nil {
		delete(s.world.Merchants, mchid)
		return err
	}
	s.merchants[mchid] = &merchant{serialNo: serial, pub: &key.PublicKey, apiV2Key: e.APIv2Key, apiV3Key: e.APIv3Key}
	return nil
}

// WriteMerchantConfig writes to path a ready HCL merchant "sandbox" block for
// mchid (registering it if needed) with absolute paths, url as its endpoint
// and v2_endpoint, and its literal test secrets (api_v2_key, and api_v3_key
// for downloading the platform certificates).
func (s *Sandbox) WriteMerchantConfig(path, url, mchid string) error {
	return s.WriteMerchantBlock(path, url, mchid, "sandbox")
}

// WriteMerchantBlock is WriteMerchantConfig with the merchant block named
// name, for configurations with several sandbox merchants.
func (s *Sandbox) WriteMerchantBlock(path, url, mchid, name string) error {
	return s.WriteMerchantBlocks(path, url, []string{mchid}, []string{name})
}

// WriteMerchantBlocks writes to path one merchant block per mchid (each
// registered if needed), named by names, in one file.
func (s *Sandbox) WriteMerchantBlocks(path, url string, mchids, names []string) error {
	endpoint, err := configEndpoint(url)
	if err != nil {
		return err
	}
	if err := CheckMerchantConfig(path); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, merchantConfigMarker+"%s: test credentials for the local emulator only.\n", s.id)
	for i, mchid := range mchids {
		c, err := s.RegisterMerchant(mchid)
		if err != nil {
			return err
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "merchant %s {\n", hclString(names[i]))
		for _, kv := range merchantArgs(c, endpoint, true) {
			fmt.Fprintf(&b, "  %-24s = %s\n", kv[0], hclString(kv[1]))
		}
		b.WriteString("}\n")
	}
	if err := writeFileAtomic(path, b.Bytes(), 0o600); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	return nil
}

// MerchantsJSONFile is where WriteMerchantsJSON writes: among the
// merchants' keys, in a directory that is the sandbox's own.
func (s *Sandbox) MerchantsJSONFile() string { return s.path(merchantsDir, "merchants.json") }

// WriteMerchantsJSON writes MerchantsJSONFile: a JSON object of the
// merchants mchids by mchid, each the arguments of its merchant block but
// the secrets (api_v2_key, api_v3_key), for a configuration that reads its
// merchants with jsondecode(file(…)) and for_each. The file names keys,
// never holds one.
func (s *Sandbox) WriteMerchantsJSON(url string, mchids []string) error {
	endpoint, err := configEndpoint(url)
	if err != nil {
		return err
	}
	all := make(map[string]map[string]string, len(mchids))
	for _, mchid := range mchids {
		c, err := s.RegisterMerchant(mchid)
		if err != nil {
			return err
		}
		args := map[string]string{}
		for _, kv := range merchantArgs(c, endpoint, false) {
			args[kv[0]] = kv[1]
		}
		all[mchid] = args
	}
	data, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if err := writeFileAtomic(s.MerchantsJSONFile(), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	return nil
}

// configEndpoint checks the URL a merchant config names: http(s), plain
// http for a loopback host only.
func configEndpoint(url string) (string, error) {
	endpoint := strings.TrimRight(url, "/")
	u, err := neturl.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("sandbox: merchant config endpoint %q is not an http(s) URL", url)
	}
	if ip := net.ParseIP(u.Hostname()); u.Scheme == "http" && u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", fmt.Errorf("sandbox: merchant config endpoint %q: plain http is only for a loopback host", url)
	}
	return endpoint, nil
}

// merchantArgs are the arguments of c's merchant block, its test secrets
// with secrets.
func merchantArgs(c MerchantCreds, endpoint string, secrets bool) [][2]string {
	args := [][2]string{
		{"mchid", c.MchID},
		{"serial_no", c.SerialNo},
		{"private_key_file", c.PrivateKeyFile},
		{"platform_public_key_id", c.PlatformPublicKeyID},
		{"platform_public_key_file", c.PlatformPublicKeyFile},
		{"ca_certificate_file", c.CAFile},
		{"endpoint", endpoint},
		{"v2_endpoint", endpoint},
	}
	if secrets {
		args = append(args, [2]string{"api_v2_key", c.APIv2Key}, [2]string{"api_v3_key", c.APIv3Key})
	}
	return append(args, [2]string{"client_certificate_file", c.CertificateFile})
}

// hclString quotes s as an HCL string literal, as hclwrite writes one:
// quotes, backslashes, control characters and the template sequences ${
// and %{ escaped.
func hclString(s string) string {
	return string(hclwrite.TokensForValue(cty.StringVal(s)).Bytes())
}
