package uploader

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/wxmedia/wxmedia/internal/safefile"
)

// AuthScheme is the Authorization scheme of WeChat Pay APIv3 requests.
const AuthScheme = "WECHATPAY2-SHA256-RSA2048"

// authFields are the fields an APIv3 Authorization header carries, in the
// order AuthorizationHeader writes them.
var authFields = []string{"mchid", "nonce_str", "timestamp", "serial_no", "signature"}

// ErrBadSignature is returned by Verify when a signature does not verify.
var ErrBadSignature = errors.New("signature does not verify")

// SignatureMessage returns the APIv3 request string-to-sign:
// "{method}\n{path}\n{timestamp}\n{nonce}\n{body}\n". For an upload the body
// is the meta JSON, not the multipart body.
func SignatureMessage(method, path string, timestamp int64, nonce string, body []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(method) + len(path) + len(nonce) + len(body) + 32)
	b.WriteString(method)
	b.WriteByte('\n')
	b.WriteString(path)
	b.WriteByte('\n')
	b.WriteString(strconv.FormatInt(timestamp, 10))
	b.WriteByte('\n')
	b.WriteString(nonce)
	b.WriteByte('\n')
	b.Write(body)
	b.WriteByte('\n')
	return b.Bytes()
}

// ReplyMessage returns the APIv3 reply string-to-sign:
// "{Wechatpay-Timestamp}\n{Wechatpay-Nonce}\n{body}\n".
func ReplyMessage(timestamp, nonce string, body []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(timestamp) + len(nonce) + len(body) + 3)
	b.WriteString(timestamp)
	b.WriteByte('\n')
	b.WriteString(nonce)
	b.WriteByte('\n')
	b.Write(body)
	b.WriteByte('\n')
	return b.Bytes()
}

// Sign returns the base64 (standard, padded) RSA PKCS#1 v1.5 SHA-256
// signature of message. PKCS#1 v1.5 is deterministic: the same key and
// message always give the same signature.
func Sign(key *rsa.PrivateKey, message []byte) (string, error) {
	if key == nil {
		return "", errors.New("sign: no private key")
	}
	sum := sha256.Sum256(message)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// Verify checks a base64 RSA PKCS#1 v1.5 SHA-256 signature of message. A
// signature that does not verify gives an error wrapping ErrBadSignature.
func Verify(pub *rsa.PublicKey, message []byte, signatureB64 string) error {
	if pub == nil {
		return errors.New("verify: no public key")
	}
	sig, err := base64.StdEncoding.DecodeString(signatureB64)
	if err != nil {
		return fmt.Errorf("%w: signature is not base64: %v", ErrBadSignature, err)
	}
	sum := sha256.Sum256(message)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return nil
}

// AuthorizationHeader returns the APIv3 Authorization header value:
// WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",timestamp="…",serial_no="…",signature="…".
func AuthorizationHeader(mchid, nonce string, timestamp int64, serialNo, signature string) string {
	return fmt.Sprintf(`%s mchid="%s",nonce_str="%s",timestamp="%d",serial_no="%s",signature="%s"`,
		AuthScheme, mchid, nonce, timestamp, serialNo, signature)
}

// ParseAuthorization parses an APIv3 Authorization header value into its
// fields (mchid, nonce_str, timestamp, serial_no, signature, and any other).
// The scheme must be WECHATPAY2-SHA256-RSA2048; fields are key="value" pairs
// separated by commas, in any order, with optional whitespace (line breaks
// included) around them. Duplicate or malformed fields are an error. It does
// not check that the five fields are present.
func ParseAuthorization(h string) (map[string]string, error) {
	h = strings.TrimSpace(h)
	scheme, rest := h, ""
	if i := strings.IndexAny(h, " \t\r\n"); i >= 0 {
		scheme, rest = h[:i], h[i+1:]
	}
	if scheme != AuthScheme {
		return nil, fmt.Errorf("authorization scheme %q is not %s", scheme, AuthScheme)
	}
	fields := make(map[string]string)
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
	i := 0
	for {
		for i < len(rest) && isSpace(rest[i]) {
			i++
		}
		if i == len(rest) {
			break
		}
		eq := strings.IndexByte(rest[i:], '=')
		if eq <= 0 {
			return nil, fmt.Errorf("authorization field at offset %d has no name=value", i)
		}
		key := strings.TrimSpace(rest[i : i+eq])
		if key == "" || strings.ContainsAny(key, " \t\r\n,\"") {
			return nil, fmt.Errorf("authorization field name %q is malformed", key)
		}
		i += eq + 1
		for i < len(rest) && isSpace(rest[i]) {
			i++
		}
		var val string
		if i < len(rest) && rest[i] == '"' {
			end := strings.IndexByte(rest[i+1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("authorization field %s: unterminated quoted value", key)
			}
			val = rest[i+1 : i+1+end]
			i += end + 2
		} else {
			end := strings.IndexByte(rest[i:], ',')
			if end < 0 {
				end = len(rest) - i
			}
			val = strings.TrimSpace(rest[i : i+end])
			i += end
		}
		if _, dup := fields[key]; dup {
			return nil, fmt.Errorf("authorization field %s appears twice", key)
		}
		fields[key] = val
		for i < len(rest) && isSpace(rest[i]) {
			i++
		}
		if i == len(rest) {
			break
		}
		if rest[i] != ',' {
			return nil, fmt.Errorf("authorization field %s is not followed by a comma", key)
		}
		i++
	}
	return fields, nil
}

// MetaJSON returns the meta part of an upload: compact JSON
// {"filename":"…","<digestField>":"…"} in that order, UTF-8, without HTML
// escaping of <, > and &. These bytes are exactly what is signed and sent.
func MetaJSON(digestField, filename, sha256hex string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"filename":`)
	b.Write(jsonString(filename))
	b.WriteByte(',')
	b.Write(jsonString(digestField))
	b.WriteByte(':')
	b.Write(jsonString(sha256hex))
	b.WriteByte('}')
	return b.Bytes()
}

func jsonString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// maxPEMFile bounds the key and certificate files read: they are opened
// without blocking, must be regular files, and are read up to this size
// plus one byte (see safefile).
const maxPEMFile = 1 << 20

// MaxPEMFile is the bound on key and certificate files, for callers that
// check them before a Client loads them.
const MaxPEMFile = maxPEMFile

// LoadPrivateKey reads an RSA private key from a PEM file, PKCS#8
// ("PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY").
func LoadPrivateKey(path string) (*rsa.PrivateKey, error) {
	data, err := safefile.ReadFile(path, maxPEMFile)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	key, err := ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("private key %s: %w", path, err)
	}
	return key, nil
}

// ParsePrivateKey parses an RSA private key from PEM bytes, PKCS#8 or PKCS#1.
// Text around the PEM block is ignored.
func ParsePrivateKey(data []byte) (*rsa.PrivateKey, error) {
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no PEM private key block found")
		}
		switch block.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse PKCS#8 private key: %w", err)
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("private key is a %T, not RSA", k)
			}
			return rk, nil
		case "RSA PRIVATE KEY":
			if _, encrypted := block.Headers["DEK-Info"]; encrypted {
				return nil, errors.New("private key is encrypted")
			}
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse PKCS#1 private key: %w", err)
			}
			return k, nil
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("private key is encrypted")
		}
	}
}

// LoadPublicKey reads an RSA public key from a PEM file: PKIX ("PUBLIC KEY"),
// PKCS#1 ("RSA PUBLIC KEY"), or the key of a certificate ("CERTIFICATE").
func LoadPublicKey(path string) (*rsa.PublicKey, error) {
	data, err := safefile.ReadFile(path, maxPEMFile)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	key, err := ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	return key, nil
}

// ParsePublicKey parses an RSA public key from PEM bytes: PKIX, PKCS#1, or
// the first certificate's key.
func ParsePublicKey(data []byte) (*rsa.PublicKey, error) {
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no PEM public key or certificate block found")
		}
		var k any
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			k, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			k, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var c *x509.Certificate
			c, err = x509.ParseCertificate(block.Bytes)
			if err == nil {
				k = c.PublicKey
			}
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", strings.ToLower(block.Type), err)
		}
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("public key is a %T, not RSA", k)
		}
		return rk, nil
	}
}

// CertificateSerial returns the serial number of the first certificate in a
// PEM file as uppercase hex of its bytes, the form WeChat Pay uses for serial_no.
func CertificateSerial(path string) (string, error) {
	data, err := safefile.ReadFile(path, maxPEMFile)
	if err != nil {
		return "", fmt.Errorf("certificate: %w", err)
	}
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return "", fmt.Errorf("certificate %s: no PEM certificate block found", path)
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return "", fmt.Errorf("certificate %s: %w", path, err)
		}
		return SerialHex(c), nil
	}
}

// SerialHex returns a certificate's serial number as uppercase hex of its bytes.
func SerialHex(c *x509.Certificate) string {
	return fmt.Sprintf("%X", c.SerialNumber.Bytes())
}
