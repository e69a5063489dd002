package sandbox

// Platform certificates: the sandbox serves GET /v3/certificates as WeChat
// Pay does, each certificate encrypted with the merchant's API v3 key
// (AEAD_AES_256_GCM), signs replies with its newest platform certificate
// when a request names one of its certificates (or the sign=certificate
// fault asks it to), and can rotate to a new certificate, keeping the old
// one listed until it expires, as WeChat Pay does.

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wxmedia/wxmedia/internal/datadir"
)

const (
	certificatesPath = "/v3/certificates"
	rotatePath       = "/_sandbox/rotate-certificate"
	platformCertsDir = "platform_certs"
	// certAssociatedData is the associated_data WeChat Pay uses for certificates.
	certAssociatedData = "certificate"
)

var keyCertDownloads = []byte("certificate_downloads") // in bucketStats

// platformCert is one platform certificate with its private key, which
// never leaves the sandbox.
type platformCert struct {
	cert   *x509.Certificate
	key    *rsa.PrivateKey
	serial string // uppercase hex
}

// loadRotatedCerts loads the certificates made by rotations, after the
// first one (platform_cert.pem, of the platform public key).
func (s *Sandbox) loadRotatedCerts() error {
	s.certs = []*platformCert{{cert: s.platformCert, key: s.platformKey, serial: s.platformSN}}
	for _, serial := range s.world.PlatformCertificates {
		c, err := readCert(s.path(platformCertsDir, serial+".pem"))
		if err != nil {
			return err
		}
		k, err := readRSAKey(s.path(platformCertsDir, serial+"_key.pem"))
		if err != nil {
			return err
		}
		if pub, ok := c.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&k.PublicKey) || serialHex(c) != serial {
			return fmt.Errorf("platform certificate %s does not match its key or serial", serial)
		}
		s.certs = append(s.certs, &platformCert{cert: c, key: k, serial: serial})
	}
	return nil
}

// RotatePlatformCertificate makes a new platform key and certificate and
// signs certificate-mode replies with it from now on. The previous
// certificates stay listed by GET /v3/certificates until they expire. It
// returns the new certificate's serial.
func (s *Sandbox) RotatePlatformCertificate() (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	tmpl := platformCertTemplate(time.Now())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", ErrClosed
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.caCert, &key.PublicKey, s.caKey)
	if err != nil {
		return "", err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return "", err
	}
	serial := serialHex(c)
	if err := datadir.MkdirAll(s.path(platformCertsDir)); err != nil {
		return "", err
	}
	if err := writeKey(s.path(platformCertsDir, serial+"_key.pem"), key); err != nil {
		return "", err
	}
	if err := writePEM(s.path(platformCertsDir, serial+".pem"), "CERTIFICATE", der, 0o644); err != nil {
		return "", err
	}
	s.world.PlatformCertificates = append(s.world.PlatformCertificates, serial)
	if err := s.saveWorld(); err != nil {
		s.world.PlatformCertificates = s.world.PlatformCertificates[:len(s.world.PlatformCertificates)-1]
		return "", err
	}
	s.certs = append(s.certs, &platformCert{cert: c, key: key, serial: serial})
	return serial, nil
}

// PlatformCertificateSerials returns the serials of the platform
// certificates not expired, oldest first; the last signs.
func (s *Sandbox) PlatformCertificateSerials() []string {
	var out []string
	for _, pc := range s.validCerts() {
		out = append(out, pc.serial)
	}
	return out
}

// validCerts returns the platform certificates valid now, oldest first.
func (s *Sandbox) validCerts() []*platformCert {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*platformCert
	for _, pc := range s.certs {
		if !now.Before(pc.cert.NotBefore) && now.Before(pc.cert.NotAfter) {
			out = append(out, pc)
		}
	}
	return out
}

// isCertSerial reports whether serial (hex, any case) is one of the
// platform certificates valid now.
func (s *Sandbox) isCertSerial(serial string) bool {
	for _, pc := range s.validCerts() {
		if strings.EqualFold(pc.serial, serial) {
			return true
		}
	}
	return false
}

// replySigner chooses the key and Wechatpay-Serial of a reply: the newest
// platform certificate for the certificate download, for a request that
// names a platform certificate, or under the sign=certificate fault; a
// certificate the download never lists under sign=unknown; the platform
// public key otherwise.
func (s *Sandbox) replySigner(r *http.Request) (*rsa.PrivateKey, string) {
	s.mu.Lock()
	sign := s.faults.Sign
	s.mu.Unlock()
	download := r != nil && r.URL.Path == certificatesPath
	if sign == "unknown" && !download {
		if stray := s.strayCert(); stray != nil {
			return stray.key, stray.serial
		}
	}
	useCert := sign == "certificate" || download
	if r != nil {
		ws := r.Header.Get("Wechatpay-Serial")
		useCert = useCert || ws != "" && s.isCertSerial(ws)
	}
	if useCert {
		if certs := s.validCerts(); len(certs) > 0 {
			newest := certs[len(certs)-1]
			return newest.key, newest.serial
		}
	}
	return s.platformKey, s.platformKeyID
}

// strayCert returns a platform certificate of this sandbox's CA that is
// never listed nor persisted (the sign=unknown fault), made on first use.
func (s *Sandbox) strayCert() *platformCert {
	s.mu.Lock()
	stray := s.stray
	s.mu.Unlock()
	if stray != nil {
		return stray
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: randomSerial(), Subject: pkix.Name{CommonName: "wxmedia sandbox stray platform"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.caCert, &key.PublicKey, s.caKey)
	if err != nil {
		return nil
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stray == nil {
		s.stray = &platformCert{cert: c, key: key, serial: serialHex(c)}
	}
	return s.stray
}

// certificateEntry is one item of the GET /v3/certificates reply.
type certificateEntry struct {
	SerialNo           string           `json:"serial_no"`
	EffectiveTime      string           `json:"effective_time"`
	ExpireTime         string           `json:"expire_time"`
	EncryptCertificate encryptedPayload `json:"encrypt_certificate"`
}

type encryptedPayload struct {
	Algorithm      string `json:"algorithm"`
	Nonce          string `json:"nonce"`
	AssociatedData string `json:"associated_data"`
	Ciphertext     string `json:"ciphertext"`
}

// encryptAEAD encrypts plaintext as WeChat Pay's AEAD_AES_256_GCM: the
// API v3 key's 32 bytes as the key, a 12-character nonce, the associated
// data, and base64 of ciphertext and tag.
func encryptAEAD(apiV3Key string, plaintext []byte, associatedData string) (encryptedPayload, error) {
	block, err := aes.NewCipher([]byte(apiV3Key))
	if err != nil {
		return encryptedPayload{}, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return encryptedPayload{}, err
	}
	nonce := randomAlnum(gcm.NonceSize())
	sealed := gcm.Seal(nil, []byte(nonce), plaintext, []byte(associatedData))
	return encryptedPayload{Algorithm: "AEAD_AES_256_GCM", Nonce: nonce, AssociatedData: associatedData,
		Ciphertext: base64.StdEncoding.EncodeToString(sealed)}, nil
}

// serveCertificates answers GET /v3/certificates: the platform
// certificates valid now, each encrypted with the merchant's API v3 key,
// in a reply signed with the newest of them.
func (s *Sandbox) serveCertificates(w http.ResponseWriter, r *http.Request) {
	c := &call{w: w, r: r, reqID: randomHex(16), start: time.Now()}
	w.Header().Set("Request-ID", c.reqID)
	defer s.logCall("certificates", c)
	fail := func(status int, code, message string) {
		c.status, c.code = status, code
		s.replyJSON(w, r, status, errorBody(code, message), false)
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		fail(http.StatusMethodNotAllowed, "INVALID_REQUEST", "use GET")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxFieldSize+1))
	if err != nil || len(body) > maxFieldSize {
		fail(http.StatusBadRequest, "INVALID_REQUEST", "the request body of GET /v3/certificates must be empty")
		return
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		fail(http.StatusInternalServerError, "SYSTEM_ERROR", "sandbox is closed")
		return
	}
	auth, m, ok := s.authMerchant(c, "SIGN_ERROR", "NO_AUTH", fail)
	if !ok {
		return
	}
	ts, err := strconv.ParseInt(auth["timestamp"], 10, 64)
	now := s.now()
	if err != nil || ts <= 0 || now.Unix()-ts > int64(MaxClockSkew/time.Second) || ts-now.Unix() > int64(MaxClockSkew/time.Second) {
		fail(http.StatusUnauthorized, "SIGN_ERROR", "timestamp "+auth["timestamp"]+" is not within "+MaxClockSkew.String()+" of the server clock")
		return
	}
	if !verifyRequest(m.pub, r.Method, r.URL.RequestURI(), auth["timestamp"], auth["nonce_str"], body, auth["signature"]) {
		fail(http.StatusUnauthorized, "SIGN_ERROR", "signature does not verify with the registered key of merchant "+c.mchid)
		return
	}
	if fresh, allowed := s.useNonce(c.mchid, auth["nonce_str"], "certificates", now); !fresh {
		fail(http.StatusUnauthorized, "SIGN_ERROR", "nonce_str "+auth["nonce_str"]+" was already used")
		return
	} else if !allowed {
		fail(http.StatusTooManyRequests, "RATELIMIT_EXCEEDED", "Frequency limit: operation is too fast, please retry later")
		return
	}
	certs := s.validCerts()
	if m.apiV3Key == "" || len(certs) == 0 {
		fail(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "无可用的平台证书,请在商户平台-API安全申请使用微信支付公钥")
		return
	}
	var reply struct {
		Data []certificateEntry `json:"data"`
	}
	for _, pc := range certs {
		plain := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pc.cert.Raw})
		enc, err := encryptAEAD(m.apiV3Key, plain, certAssociatedData)
		if err != nil {
			fail(http.StatusInternalServerError, "SYSTEM_ERROR", "System error: "+err.Error())
			return
		}
		reply.Data = append(reply.Data, certificateEntry{SerialNo: pc.serial,
			EffectiveTime: pc.cert.NotBefore.In(chinaTime).Format(time.RFC3339),
			ExpireTime:    pc.cert.NotAfter.In(chinaTime).Format(time.RFC3339), EncryptCertificate: enc})
	}
	if db, err := s.openDB(); err == nil {
		_ = db.Update(func(tx *bolt.Tx) error {
			_, err := addCount(tx.Bucket(bucketStats), keyCertDownloads)
			return err
		})
	}
	out, _ := json.Marshal(reply)
	c.status = http.StatusOK
	s.replyJSON(w, r, http.StatusOK, out, false)
}

// serveRotate answers POST /_sandbox/rotate-certificate: a test control
// that rotates the platform certificate and returns the new serial.
func (s *Sandbox) serveRotate(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.replyJSON(w, r, http.StatusMethodNotAllowed, errorBody("METHOD_NOT_ALLOWED", "use POST"), false)
		return
	}
	serial, err := s.RotatePlatformCertificate()
	if err != nil {
		s.replyJSON(w, r, http.StatusInternalServerError, errorBody("SYSTEM_ERROR", err.Error()), false)
		return
	}
	body, _ := json.Marshal(map[string]string{"serial_no": serial})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(append(body, '\n'))
}

func randomAlnum(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
