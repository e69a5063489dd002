package uploader

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"time"

	"github.com/wxmedia/wxmedia/internal/atomicfile"
	"github.com/wxmedia/wxmedia/internal/datadir"
	"github.com/wxmedia/wxmedia/internal/safefile"
)

// certCacheVersion is the format version of a certificate cache file.
const certCacheVersion = 1

// maxCertCacheSize bounds the cache file read: a few certificates per
// merchant, for up to thousands of merchants.
const maxCertCacheSize = 64 << 20

// FileCertificateCache keeps platform certificates in a JSON file shared
// by every merchant of a configuration, each under its own key (service
// and merchant ID). The file holds certificates only, in PEM; it is
// written to a temporary file and renamed, mode 0600 in a 0700 directory.
type FileCertificateCache struct {
	Path string // the cache file, e.g. .wxmedia/platform-certificates.json
	Key  string // e.g. "wechatpay/1900000001"
}

// certCacheFile is the file's content.
type certCacheFile struct {
	Version   int                       `json:"version"`
	Merchants map[string]certCacheEntry `json:"merchants"`
}

type certCacheEntry struct {
	FetchedAt    time.Time       `json:"fetched_at"`
	Certificates []certCacheCert `json:"certificates"`
}

type certCacheCert struct {
	SerialNo      string    `json:"serial_no"`
	EffectiveTime time.Time `json:"effective_time"`
	ExpireTime    time.Time `json:"expire_time"`
	Certificate   string    `json:"certificate"` // PEM
}

// certCacheLocks serializes read-modify-write of one file within the process.
var certCacheLocks sync.Map // path -> *sync.Mutex

func certCacheLock(path string) *sync.Mutex {
	m, _ := certCacheLocks.LoadOrStore(filepath.Clean(path), &sync.Mutex{})
	return m.(*sync.Mutex)
}

func (fc FileCertificateCache) read() (certCacheFile, error) {
	f := certCacheFile{Version: certCacheVersion, Merchants: map[string]certCacheEntry{}}
	data, err := safefile.ReadFile(fc.Path, maxCertCacheSize)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, err
	}
	var got certCacheFile
	if err := json.Unmarshal(data, &got); err != nil {
		return f, fmt.Errorf("%s: %w", fc.Path, err)
	}
	if got.Version != certCacheVersion {
		return f, fmt.Errorf("%s: version %d is not supported", fc.Path, got.Version)
	}
	if got.Merchants != nil {
		f.Merchants = got.Merchants
	}
	return f, nil
}

// Load returns the certificates kept under fc.Key; none when the file
// does not exist.
func (fc FileCertificateCache) Load() ([]*x509.Certificate, error) {
	mu := certCacheLock(fc.Path)
	mu.Lock()
	f, err := fc.read()
	mu.Unlock()
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for _, c := range f.Merchants[fc.Key].Certificates {
		block, _ := pem.Decode([]byte(c.Certificate))
		if block == nil || block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%s: %s: entry %s is not a PEM certificate", fc.Path, fc.Key, c.SerialNo)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", fc.Path, fc.Key, err)
		}
		out = append(out, cert)
	}
	return out, nil
}

// Save replaces the certificates kept under fc.Key, leaving the other
// merchants' entries as they are.
func (fc FileCertificateCache) Save(certs []*x509.Certificate) error {
	mu := certCacheLock(fc.Path)
	mu.Lock()
	defer mu.Unlock()
	f, err := fc.read()
	if err != nil {
		// An unreadable cache is replaced: it holds nothing that cannot be downloaded again.
		f = certCacheFile{Version: certCacheVersion, Merchants: map[string]certCacheEntry{}}
	}
	e := certCacheEntry{FetchedAt: time.Now().UTC().Truncate(time.Second)}
	for _, c := range certs {
		e.Certificates = append(e.Certificates, certCacheCert{SerialNo: SerialHex(c),
			EffectiveTime: c.NotBefore.UTC(), ExpireTime: c.NotAfter.UTC(),
			Certificate: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))})
	}
	f.Merchants[fc.Key] = e
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(fc.Path)
	if err := datadir.MkdirAll(dir); err != nil {
		return err
	}
	return atomicfile.WriteBytes(fc.Path, append(data, '\n'), 0o600, atomicfile.Durable)
}
