package sandbox

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// dbFile is the sandbox's database, in its directory: every identifier it
// issued, the counters of GET /_sandbox/stats, and the daily quota counts.
const dbFile = "sandbox.db"

// lockTimeout is how long opening the database waits for another process
// that has it open (a running `wxmedia sandbox` on the same directory)
// before failing; a Sandbox's own, which its tests shorten.
const lockTimeout = 2 * time.Second

var (
	bucketIssued = []byte("issued")  // identifier -> Issued JSON
	bucketStats  = []byte("stats")   // "uploads", "api/<api>", "sha256/<hex>" -> uint64
	bucketDaily  = []byte("daily")   // "<day>/<mchid>/<api>" -> uint64
	keyUploads   = []byte("uploads") // in bucketStats
)

// errQuota is returned by issue when the merchant's daily quota for the API is used up.
var errQuota = errors.New("daily upload quota reached")

// chinaTime is the zone of WeChat Pay's day.
var chinaTime = time.FixedZone("CST", 8*3600)

// openDB opens the database for writing, creating it, waiting at most
// timeout for another process that has it open.
func openDB(path string, timeout time.Duration) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("%s is in use by another process (a running sandbox server?): %w", path, err)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketIssued, bucketStats, bucketDaily} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// viewDB runs fn in a read transaction on the database at path, opened
// read-only for the call when db is nil, waiting at most timeout for
// another process that has it open. A missing database reads as empty.
func viewDB(db *bolt.DB, path string, timeout time.Duration, fn func(tx *bolt.Tx) error) error {
	if db != nil {
		return db.View(fn)
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return fn(nil)
	}
	ro, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: true})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return fmt.Errorf("%s is in use by another process (a running sandbox server?); read its GET /_sandbox/stats instead: %w", path, err)
		}
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer ro.Close()
	return ro.View(fn)
}

func getCount(b *bolt.Bucket, key []byte) uint64 {
	if b == nil {
		return 0
	}
	v := b.Get(key)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func addCount(b *bolt.Bucket, key []byte) (uint64, error) {
	n := getCount(b, key) + 1
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], n)
	return n, b.Put(key, v[:])
}

// readStats reads the counters; tx nil is an empty database.
func readStats(tx *bolt.Tx) Stats {
	st := Stats{ByAPI: map[string]int{}, BySHA256: map[string]int{}}
	if tx == nil {
		return st
	}
	b := tx.Bucket(bucketStats)
	if b == nil {
		return st
	}
	st.Uploads = int(getCount(b, keyUploads))
	st.CertificateDownloads = int(getCount(b, keyCertDownloads))
	_ = b.ForEach(func(k, v []byte) error {
		if len(v) != 8 {
			return nil
		}
		n := int(binary.BigEndian.Uint64(v))
		switch ks := string(k); {
		case len(ks) > 4 && ks[:4] == "api/":
			st.ByAPI[ks[4:]] = n
		case len(ks) > 7 && ks[:7] == "sha256/":
			st.BySHA256[ks[7:]] = n
		}
		return nil
	})
	return st
}

// issue records an identifier and counts it, in one transaction, unless
// quota (> 0) uploads of the merchant to the API were already issued on
// the record's day; then it returns errQuota.
func issue(db *bolt.DB, rec Issued, quota int) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return db.Update(func(tx *bolt.Tx) error {
		issued, stats, daily := tx.Bucket(bucketIssued), tx.Bucket(bucketStats), tx.Bucket(bucketDaily)
		if issued.Get([]byte(rec.ID)) != nil {
			return fmt.Errorf("identifier %s issued twice", rec.ID)
		}
		dayKey := []byte(rec.IssuedAt.In(chinaTime).Format("2006-01-02") + "/" + rec.MchID + "/" + string(rec.API))
		if quota > 0 && getCount(daily, dayKey) >= uint64(quota) {
			return errQuota
		}
		if _, err := addCount(daily, dayKey); err != nil {
			return err
		}
		if err := issued.Put([]byte(rec.ID), data); err != nil {
			return err
		}
		for _, k := range []string{string(keyUploads), "api/" + string(rec.API), "sha256/" + rec.SHA256} {
			if _, err := addCount(stats, []byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
}
