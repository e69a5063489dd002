package sandbox

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wxmedia/wxmedia/internal/atomicfile"
	"github.com/wxmedia/wxmedia/internal/datadir"
	"github.com/wxmedia/wxmedia/internal/safefile"
)

// Files of a sandbox world, relative to its directory.
const (
	worldFile         = "sandbox.json"
	platformKeyFile   = "platform_key.pem"
	platformPubFile   = "platform_pub.pem"
	platformCertFile  = "platform_cert.pem"
	caKeyFile         = "ca_key.pem"
	caCertFile        = "ca.pem"
	serverKeyFile     = "server_key.pem"
	serverCertFile    = "server_cert.pem"
	merchantsDir      = "merchants"
	merchantKeyFile   = "apiclient_key.pem"
	merchantCertFile  = "apiclient_cert.pem"
	worldVersion      = 1
	serverCertRenewal = 30 * 24 * time.Hour
)

// ErrClosed is returned when a closed Sandbox is used.
var ErrClosed = errors.New("sandbox is closed")

// Sandbox is an emulated WeChat Pay upload service kept in one directory.
// It is safe for concurrent use.
type Sandbox struct {
	dir           string // absolute
	id            string
	platformKeyID string
	platformKey   *rsa.PrivateKey
	platformCert  *x509.Certificate // the platform key's certificate, for merchants verifying with one
	platformSN    string            // its serial, uppercase hex
	certs         []*platformCert   // platform certificates, oldest first (the first is platformCert); guarded by mu
	stray         *platformCert     // signs under the sign=unknown fault; never listed; guarded by mu
	caCert        *x509.Certificate
	caKey         *ecdsa.PrivateKey
	serverCert    tls.Certificate
	handler       http.Handler

	// lockTimeout bounds the wait for the database that another process
	// has open.
	lockTimeout time.Duration

	now  func() time.Time // server clock
	roll func() float64   // fault dice, uniform in [0, 1)

	mu        sync.Mutex
	closed    bool
	world     world
	merchants map[string]*merchant
	db        *bolt.DB // open while serving; nil otherwise
	faults    Faults
	nonces    map[string]time.Time
	lastPrune time.Time
	buckets   map[string]*bucket
	servers   map[*Server]struct{}
	logger    *slog.Logger
}

// world is the persisted identity of a sandbox (sandbox.json).
type world struct {
	Version             int                      `json:"version"`
	InstanceID          string                   `json:"instance_id"`
	PlatformPublicKeyID string                   `json:"platform_public_key_id"`
	CreatedAt           time.Time                `json:"created_at"`
	Merchants           map[string]merchantEntry `json:"merchants"`
	// PlatformCertificates are the serials of the certificates made by
	// rotations (platform_certs/SERIAL.pem), oldest first.
	PlatformCertificates []string `json:"platform_certificates,omitempty"`
}

type merchantEntry struct {
	SerialNo     string    `json:"serial_no"`
	APIv2Key     string    `json:"api_v2_key"`
	APIv3Key     string    `json:"api_v3_key,omitempty"` // encrypts the platform certificates it downloads
	RegisteredAt time.Time `json:"registered_at"`
}

// merchant is a registered merchant as the handler sees it.
type merchant struct {
	serialNo string
	pub      *rsa.PublicKey
	apiV2Key string
	apiV3Key string
}

// Issued is the record of one identifier the sandbox issued.
type Issued struct {
	ID        string    `json:"id"`
	API       string    `json:"api"` // API identifier, e.g. "merchant_media_image"
	MchID     string    `json:"mchid"`
	SHA256    string    `json:"sha256"` // lowercase hex of the uploaded bytes
	Filename  string    `json:"filename"`
	Size      int64     `json:"size"`
	RequestID string    `json:"request_id"`
	IssuedAt  time.Time `json:"issued_at"`
	Spoiled   bool      `json:"spoiled,omitempty"` // the reply carried a bad signature (fault)
}

// Stats counts uploads for which the sandbox issued an identifier, replies
// spoiled by the badsig fault included, dropped connections not. The maps
// are never nil in values returned by Stats.
type Stats struct {
	Uploads  int            `json:"uploads"`
	ByAPI    map[string]int `json:"by_api"`    // API identifier -> uploads
	BySHA256 map[string]int `json:"by_sha256"` // lowercase hex -> uploads
	// CertificateDownloads counts answered GET /v3/certificates requests.
	CertificateDownloads int `json:"certificate_downloads"`
}

// MerchantCreds are what a client needs to talk to the sandbox as one
// merchant. Paths are absolute.
type MerchantCreds struct {
	MchID                 string
	SerialNo              string // merchant certificate serial, 40 uppercase hex characters
	PrivateKeyFile        string // PKCS#8 PEM, 0600
	CertificateFile       string // merchant certificate PEM (client certificate of the v2 API)
	APIv2Key              string // 32-character v2 signing key (test secret)
	APIv3Key              string // 32-character key of the platform certificate download (test secret)
	PlatformPublicKeyID   string // "PUB_KEY_ID_" + digits
	PlatformPublicKeyFile string // PKIX PEM
	// PlatformCertificateFile is a certificate of the platform key, for
	// verifying replies by certificate: send its serial as Wechatpay-Serial
	// and replies carry that serial.
	PlatformCertificateFile string
	CAFile                  string // PEM of the CA that signed the server certificate
}

// Open loads the sandbox world kept in dir, or creates it (dir 0700, private
// keys 0600). It does not start a listener, and does not open the database
// (dir/sandbox.db): serving opens it, and reading the counters opens it
// read-only when nothing here serves.
func Open(dir string) (*Sandbox, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	if err := datadir.MkdirAll(abs); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	s := &Sandbox{
		dir:         abs,
		lockTimeout: lockTimeout,
		now:         time.Now,
		roll:        mrand.Float64,
		merchants:   make(map[string]*merchant),
		nonces:      make(map[string]time.Time),
		buckets:     make(map[string]*bucket),
		servers:     make(map[*Server]struct{}),
	}
	data, err := safefile.ReadFile(s.path(worldFile), maxWorldFileSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		err = s.create()
	case err == nil:
		err = s.load(data)
	}
	if err != nil {
		return nil, fmt.Errorf("sandbox %s: %w", abs, err)
	}
	s.handler = s.newHandler()
	return s, nil
}

func (s *Sandbox) path(elem ...string) string {
	return filepath.Join(append([]string{s.dir}, elem...)...)
}

// create makes a new world: keys first, sandbox.json last, so that an
// interrupted creation starts over.
func (s *Sandbox) create() error {
	if err := s.claimDir(); err != nil {
		return err
	}
	var err error
	if s.platformKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return err
	}
	if err := writeKey(s.path(platformKeyFile), s.platformKey); err != nil {
		return err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&s.platformKey.PublicKey)
	if err != nil {
		return err
	}
	if err := writePEM(s.path(platformPubFile), "PUBLIC KEY", pubDER, 0o644); err != nil {
		return err
	}
	if err := s.createCA(); err != nil {
		return err
	}
	if err := s.createServerCert(); err != nil {
		return err
	}
	if err := s.createPlatformCert(); err != nil {
		return err
	}
	s.world = world{
		Version:             worldVersion,
		InstanceID:          "sandbox-" + randomHex(8),
		PlatformPublicKeyID: "PUB_KEY_ID_" + randomDigits(28),
		CreatedAt:           time.Now().UTC().Truncate(time.Second),
		Merchants:           map[string]merchantEntry{},
	}
	s.id, s.platformKeyID = s.world.InstanceID, s.world.PlatformPublicKeyID
	if err := s.loadRotatedCerts(); err != nil {
		return err
	}
	// A fresh world has issued nothing: drop a database left by an interrupted creation.
	if err := os.Remove(s.path(dbFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := s.saveWorld(); err != nil {
		return err
	}
	return s.created()
}

func (s *Sandbox) load(data []byte) error {
	if err := json.Unmarshal(data, &s.world); err != nil {
		return fmt.Errorf("%s: %w", worldFile, err)
	}
	if s.world.Version != worldVersion {
		return fmt.Errorf("%s: version %d is not supported (want %d)", worldFile, s.world.Version, worldVersion)
	}
	if !strings.HasPrefix(s.world.InstanceID, "sandbox-") || !strings.HasPrefix(s.world.PlatformPublicKeyID, "PUB_KEY_ID_") {
		return fmt.Errorf("%s: instance or platform key ID is malformed", worldFile)
	}
	if s.world.Merchants == nil {
		s.world.Merchants = map[string]merchantEntry{}
	}
	s.id, s.platformKeyID = s.world.InstanceID, s.world.PlatformPublicKeyID
	var err error
	if s.platformKey, err = readRSAKey(s.path(platformKeyFile)); err != nil {
		return err
	}
	caCert, err := readCert(s.path(caCertFile))
	if err != nil {
		return err
	}
	caKey, err := readECKey(s.path(caKeyFile))
	if err != nil {
		return err
	}
	s.caCert, s.caKey = caCert, caKey
	if err := s.loadServerCert(); err != nil {
		return err
	}
	if err := s.loadPlatformCert(); err != nil {
		return err
	}
	if err := s.loadRotatedCerts(); err != nil {
		return err
	}
	dirty := false
	for mchid, e := range s.world.Merchants {
		if e.APIv3Key == "" {
			// A merchant registered before certificates were served.
			e.APIv3Key = randomHex(16)
			s.world.Merchants[mchid] = e
			dirty = true
		}
		cert, err := readCert(s.path(merchantsDir, mchid, merchantCertFile))
		if err != nil {
			return fmt.Errorf("merchant %s: %w", mchid, err)
		}
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok || serialHex(cert) != e.SerialNo {
			return fmt.Errorf("merchant %s: certificate does not match the registered serial %s", mchid, e.SerialNo)
		}
		s.merchants[mchid] = &merchant{serialNo: e.SerialNo, pub: pub, apiV2Key: e.APIv2Key, apiV3Key: e.APIv3Key}
	}
	if dirty {
		return s.saveWorld()
	}
	return nil
}

// saveWorld writes sandbox.json atomically. Callers hold s.mu or own s exclusively.
func (s *Sandbox) saveWorld() error {
	data, err := json.MarshalIndent(s.world, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path(worldFile), append(data, '\n'), 0o600)
}

// ID returns the instance ID, "sandbox-" and 16 hex characters, stable across restarts.
func (s *Sandbox) ID() string { return s.id }

// Dir returns the absolute directory of the sandbox world.
func (s *Sandbox) Dir() string { return s.dir }

// PlatformPublicKeyID returns the platform public key ID replies are signed under.
func (s *Sandbox) PlatformPublicKeyID() string { return s.platformKeyID }

// CAFile returns the absolute path of the CA certificate PEM that signed the server certificate.
func (s *Sandbox) CAFile() string { return s.path(caCertFile) }

// CertPool returns a pool holding the sandbox CA, for HTTPS clients.
func (s *Sandbox) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.caCert)
	return p
}

// PlatformCertificateSerial returns the serial of the platform key's
// certificate, uppercase hex.
func (s *Sandbox) PlatformCertificateSerial() string { return s.platformSN }

// ReadStats returns the counters from the database: through the open
// database while serving, otherwise by opening it read-only, which fails
// after a lock timeout when another process serves this directory.
func (s *Sandbox) ReadStats() (Stats, error) {
	s.mu.Lock()
	db := s.db
	s.mu.Unlock()
	var st Stats
	err := viewDB(db, s.path(dbFile), s.lockTimeout, func(tx *bolt.Tx) error {
		st = readStats(tx)
		return nil
	})
	if err != nil {
		return Stats{ByAPI: map[string]int{}, BySHA256: map[string]int{}}, fmt.Errorf("sandbox: %w", err)
	}
	return st, nil
}

// Stats is ReadStats without its error: when the database cannot be read
// the counters are zero.
func (s *Sandbox) Stats() Stats {
	st, _ := s.ReadStats()
	return st
}

// Lookup returns the record of an identifier the sandbox issued.
func (s *Sandbox) Lookup(id string) (Issued, bool) {
	s.mu.Lock()
	db := s.db
	s.mu.Unlock()
	var rec Issued
	var found bool
	_ = viewDB(db, s.path(dbFile), s.lockTimeout, func(tx *bolt.Tx) error {
		if tx == nil {
			return nil
		}
		if v := tx.Bucket(bucketIssued).Get([]byte(id)); v != nil {
			found = json.Unmarshal(v, &rec) == nil
		}
		return nil
	})
	return rec, found
}

// openDB opens the database for serving, once; it stays open until the
// last server stops or the sandbox is closed.
func (s *Sandbox) openDB() (*bolt.DB, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if s.db != nil {
		return s.db, nil
	}
	db, err := openDB(s.path(dbFile), s.lockTimeout)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	s.db = db
	return db, nil
}

// closeDBIfIdle closes the database when no server is left.
func (s *Sandbox) closeDBIfIdle() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.servers) > 0 || s.db == nil {
		return nil
	}
	err := s.db.Close()
	s.db = nil
	return err
}

// SetLogger sets where request records go (Info level); nil silences them.
func (s *Sandbox) SetLogger(l *slog.Logger) {
	s.mu.Lock()
	s.logger = l
	s.mu.Unlock()
}

// Close stops every server started from s, and closes the issued record.
// Later uploads answer 500; a second Close is a no-op.
func (s *Sandbox) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	servers := make([]*Server, 0, len(s.servers))
	for srv := range s.servers {
		servers = append(servers, srv)
	}
	s.mu.Unlock()
	var errs []error
	for _, srv := range servers {
		errs = append(errs, srv.Close())
	}
	s.mu.Lock()
	if s.db != nil {
		errs = append(errs, s.db.Close())
		s.db = nil
	}
	s.mu.Unlock()
	return errors.Join(errs...)
}

// writeFileAtomic replaces the file at path with data, durably.
// maxWorldFileSize bounds the reads of the sandbox's own files (its
// sandbox.json, keys and certificates, each a few KiB): they are opened
// without blocking and must be regular files, so that a directory that
// came with a link to a device or a named pipe in their place (a link is
// all a repository can hold) is refused instead of hanging the process or
// exhausting its memory.
const maxWorldFileSize = 1 << 20

func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	return atomicfile.WriteBytes(path, data, perm, atomicfile.Durable)
}

func randomHex(nBytes int) string {
	b := make([]byte, nBytes)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randomDigits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0' + byte(mrand.IntN(10))
	}
	return string(b)
}
