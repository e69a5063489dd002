package state

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wxmedia/wxmedia/internal/datadir"
)

// createIfMissing creates the state at path, and its directory with mode
// 0700 (datadir.MkdirAll: a .wxmedia directory is git-ignored by itself),
// unless the state exists. The new state is built in a temporary file
// and linked into place, so the path never holds a partly written state.
func createIfMissing(path string) error {
	if _, err := os.Stat(path); err == nil {
		// A data directory made by an older wxmedia, or copied without its
		// .gitignore, gets one now (a stat when it has one); failing to
		// write it is no reason to refuse the state.
		_ = datadir.MkdirAll(filepath.Dir(path))
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("open state %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := datadir.MkdirAll(dir); err != nil {
		return fmt.Errorf("create state directory %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".new-*")
	if err != nil {
		return fmt.Errorf("create state %s: %w", path, dirError(dir, err))
	}
	tmp := f.Name()
	f.Close()
	defer os.Remove(tmp)
	if err := initState(tmp); err != nil {
		return fmt.Errorf("create state %s: %w", path, err)
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // another wxmedia created it first
		}
		// A file system without hard links: rename instead, unless the
		// state appeared meanwhile.
		if _, statErr := os.Stat(path); statErr == nil {
			return nil
		}
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("create state %s: %w", path, err)
		}
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("create state %s: %w", path, err)
	}
	return nil
}

// initState writes an empty state, with a new lineage, into the empty file
// at path.
func initState(path string) error {
	lineage, err := newLineage()
	if err != nil {
		return err
	}
	bo := *bolt.DefaultOptions
	bo.Timeout = time.Millisecond
	db, err := bolt.Open(path, 0o600, &bo)
	if err != nil {
		return err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketResources, bucketCache, bucketOutputs} {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if err := putSchemaVersion(meta); err != nil {
			return err
		}
		if err := meta.Put(keyLineage, []byte(lineage)); err != nil {
			return err
		}
		key, err := newPlanKey()
		if err != nil {
			return err
		}
		if err := meta.Put(keyPlanKey, key); err != nil {
			return err
		}
		if err := setResourceCount(meta, 0); err != nil {
			return err
		}
		if err := meta.Put(keySerial, binary.BigEndian.AppendUint64(nil, 0)); err != nil {
			return err
		}
		return putWriteID(meta)
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}

// newPlanKey returns a new secret for signing saved plans.
func newPlanKey() ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("make plan key: %w", err)
	}
	return key, nil
}

// newLineage returns a random version 4 UUID.
func newLineage() (string, error) {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return "", fmt.Errorf("make lineage: %w", err)
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16]), nil
}

// validate refuses a database that is not a wxmedia state this package can
// read. With full set it first runs bbolt's consistency check (checkTx).
func validate(db *bolt.DB, path string, full bool) error {
	return db.View(func(tx *bolt.Tx) error {
		if full {
			if err := checkTx(tx); err != nil {
				return err
			}
			// The check read every page: drop them from this process's
			// memory (see releasePages), as a snapshot does.
			releasePages(tx)
		}
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		if tx.Size() > fi.Size() {
			return fmt.Errorf("%w: file is truncated to %d bytes; its pages need %d", ErrCorrupt, fi.Size(), tx.Size())
		}
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return fmt.Errorf("%w: no %s bucket", ErrCorrupt, bucketMeta)
		}
		v := meta.Get(keySchema)
		if len(v) != 8 || binary.BigEndian.Uint64(v) == 0 {
			return fmt.Errorf("%w: no schema version", ErrCorrupt)
		}
		if err := checkSchemaVersion(meta, v); err != nil {
			return err
		}
		if n := binary.BigEndian.Uint64(v); n > SchemaVersion {
			return fmt.Errorf("%w: state has schema version %d, this wxmedia reads up to %d; upgrade wxmedia", ErrSchemaVersion, n, SchemaVersion)
		}
		if len(meta.Get(keyLineage)) == 0 {
			return fmt.Errorf("%w: no lineage", ErrCorrupt)
		}
		if len(meta.Get(keySerial)) != 8 {
			return fmt.Errorf("%w: no serial", ErrCorrupt)
		}
		for _, name := range [][]byte{bucketResources, bucketCache, bucketOutputs} {
			if tx.Bucket(name) == nil {
				return fmt.Errorf("%w: no %s bucket", ErrCorrupt, name)
			}
		}
		return nil
	})
}
