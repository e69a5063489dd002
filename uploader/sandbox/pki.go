package sandbox

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"strings"
	"time"

	"github.com/wxmedia/wxmedia/internal/safefile"
)

// loadServerCert loads the server certificate, renewing it when it is
// missing, about to expire, or not signed by this world's CA.
func (s *Sandbox) loadServerCert() error {
	pair, err := tls.LoadX509KeyPair(s.path(serverCertFile), s.path(serverKeyFile))
	if err == nil {
		leaf, perr := x509.ParseCertificate(pair.Certificate[0])
		if perr == nil && leaf.CheckSignatureFrom(s.caCert) == nil && time.Until(leaf.NotAfter) > serverCertRenewal {
			s.serverCert = pair
			return nil
		}
	}
	return s.createServerCert()
}

func (s *Sandbox) createCA() error {
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "wxmedia sandbox CA", Organization: []string{"wxmedia sandbox"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(20, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	key, cert, _, err := s.createCert(tmpl, nil, nil, caKeyFile, caCertFile)
	if err != nil {
		return err
	}
	s.caCert, s.caKey = cert, key
	return nil
}

func (s *Sandbox) createServerCert() error {
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: "localhost", Organization: []string{"wxmedia sandbox"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(2, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	key, leaf, der, err := s.createCert(tmpl, s.caCert, s.caKey, serverKeyFile, serverCertFile)
	if err != nil {
		return err
	}
	s.serverCert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	return nil
}

// createCert makes a new P-256 key and a certificate for it from tmpl,
// signed by parent with parentKey, or by itself when parent is nil, and
// writes the key and the certificate to keyFile and certFile of the world.
func (s *Sandbox) createCert(tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, keyFile, certFile string) (*ecdsa.PrivateKey, *x509.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := writeKey(s.path(keyFile), key); err != nil {
		return nil, nil, nil, err
	}
	if err := writePEM(s.path(certFile), "CERTIFICATE", der, 0o644); err != nil {
		return nil, nil, nil, err
	}
	return key, cert, der, nil
}

func writeKey(path string, key any) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "PRIVATE KEY", der, 0o600)
}

func writePEM(path, typ string, der []byte, perm os.FileMode) error {
	return writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), perm)
}

// readPEM returns the DER bytes of the first PEM block of path, which
// must be of type typ.
func readPEM(path, typ string) ([]byte, error) {
	data, err := safefile.ReadFile(path, maxWorldFileSize)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != typ {
		return nil, fmt.Errorf("%s: no PEM %s", path, strings.ToLower(typ))
	}
	return block.Bytes, nil
}

func readCert(path string) (*x509.Certificate, error) {
	der, err := readPEM(path, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func readRSAKey(path string) (*rsa.PrivateKey, error) {
	der, err := readPEM(path, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an RSA key", path)
	}
	return rk, nil
}

// serialHex renders a certificate serial as WeChat Pay does: uppercase hex of its bytes.
func serialHex(c *x509.Certificate) string {
	return strings.ToUpper(hex.EncodeToString(c.SerialNumber.Bytes()))
}

// loadPlatformCert loads the platform key's certificate, creating it for a
// world made before it existed or when it does not match the key.
func (s *Sandbox) loadPlatformCert() error {
	c, err := readCert(s.path(platformCertFile))
	if err == nil {
		if pub, ok := c.PublicKey.(*rsa.PublicKey); ok && pub.Equal(&s.platformKey.PublicKey) {
			s.platformCert, s.platformSN = c, serialHex(c)
			return nil
		}
	}
	return s.createPlatformCert()
}

// platformCertTemplate is the template of a platform certificate made at
// now: a random 20-byte serial whose first byte keeps it positive and
// 40 hex digits long, valid for five years.
func platformCertTemplate(now time.Time) *x509.Certificate {
	serialBytes := make([]byte, 20)
	_, _ = rand.Read(serialBytes)
	serialBytes[0] = 0x10 + serialBytes[0]%0x70
	return &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes(serialBytes),
		Subject:      pkix.Name{CommonName: "wxmedia sandbox platform", Organization: []string{"wxmedia sandbox"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
}

func (s *Sandbox) createPlatformCert() error {
	tmpl := platformCertTemplate(time.Now())
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.caCert, &s.platformKey.PublicKey, s.caKey)
	if err != nil {
		return err
	}
	if err := writePEM(s.path(platformCertFile), "CERTIFICATE", der, 0o644); err != nil {
		return err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	s.platformCert, s.platformSN = c, serialHex(c)
	return nil
}

func readECKey(path string) (*ecdsa.PrivateKey, error) {
	data, err := safefile.ReadFile(path, maxWorldFileSize)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an ECDSA key", path)
	}
	return ek, nil
}

func randomSerial() *big.Int {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[0] &= 0x7F
	b[0] |= 0x10
	return new(big.Int).SetBytes(b)
}
