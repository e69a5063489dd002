package state

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestCorruptFilesAreLeftAlone(t *testing.T) {
	random := make([]byte, 3*4096+123)
	rand.Read(random)

	// A real state with enough resources to span many pages.
	src := statePath(t)
	l := open(t, src, Options{})
	must(t, l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketResources)
		for i := range 2000 {
			v, _ := resourceValue(testResource(i))
			if err := b.Put([]byte(testResource(i).Address), v); err != nil {
				return err
			}
		}
		return nil
	}))
	var used int64
	must(t, l.db.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil }))
	must(t, l.Close())
	valid, err := os.ReadFile(src)
	must(t, err)

	// bbolt databases that are not, or no longer, wxmedia states.
	damaged := func(fn func(tx *bolt.Tx) error) []byte {
		path := filepath.Join(t.TempDir(), "state.db")
		must(t, initState(path))
		db, err := bolt.Open(path, 0o600, nil)
		must(t, err)
		must(t, db.Update(fn))
		must(t, db.Close())
		b, err := os.ReadFile(path)
		must(t, err)
		return b
	}
	foreign := damaged(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketResources, bucketCache, bucketOutputs} {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		_, err := tx.CreateBucket([]byte("other"))
		return err
	})
	noLineage := damaged(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Delete(keyLineage) })
	noResources := damaged(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketResources) })

	cases := map[string][]byte{
		"random bytes":       random,
		"empty":              {},
		"truncated in meta":  valid[:100],
		"truncated to pages": valid[:used/2],
		"truncated by one":   valid[:used-4096],
		"not a state":        foreign,
		"no lineage":         noLineage,
		"no resources":       noResources,
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			for _, ro := range []bool{false, true} {
				path := filepath.Join(t.TempDir(), "state.db")
				must(t, os.WriteFile(path, content, 0o600))
				l, err := OpenLocal(path, Options{ReadOnly: ro})
				if err == nil {
					l.Close()
				}
				if !errors.Is(err, ErrCorrupt) {
					t.Errorf("read-only %v: OpenLocal: %v, want ErrCorrupt", ro, err)
				} else if !strings.Contains(err.Error(), path) {
					t.Errorf("error does not name the file: %v", err)
				}
				got, rerr := os.ReadFile(path)
				must(t, rerr)
				if !bytes.Equal(got, content) {
					t.Errorf("read-only %v: file changed (%d bytes, was %d)", ro, len(got), len(content))
				}
				if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
					t.Errorf("read-only %v: files left beside the state: %v", ro, entries)
				}
			}
		})
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := statePath(t)
	l := open(t, path, Options{})
	// A newer wxmedia writes the version with its checksum.
	v := binary.BigEndian.AppendUint64(nil, SchemaVersion+1)
	must(t, l.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketMeta).Put(keySchema, v); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keySchemaSum, seal(keySchema, v))
	}))
	must(t, l.Close())
	if _, err := OpenLocal(path, Options{}); !errors.Is(err, ErrSchemaVersion) {
		t.Errorf("OpenLocal: %v, want ErrSchemaVersion", err)
	}
}

// TestFlippedSchemaVersionCorrupt: a bit flipped in the schema version is
// damage, not a state of another version: a higher one is not "upgrade
// wxmedia", and a lower one does not turn the records' checksums off.
func TestFlippedSchemaVersionCorrupt(t *testing.T) {
	for _, n := range []uint64{SchemaVersion ^ 1, SchemaVersion ^ 4, SchemaVersion ^ 1<<40} {
		path := statePath(t)
		l := open(t, path, Options{})
		must(t, l.db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(keySchema, binary.BigEndian.AppendUint64(nil, n))
		}))
		must(t, l.Close())
		before, err := os.ReadFile(path)
		must(t, err)
		for _, ro := range []bool{true, false} {
			if _, err := OpenLocal(path, Options{ReadOnly: ro}); !errors.Is(err, ErrCorrupt) {
				t.Errorf("version %d, read-only %v: %v, want ErrCorrupt", n, ro, err)
			}
		}
		after, err := os.ReadFile(path)
		must(t, err)
		if !bytes.Equal(before, after) {
			t.Errorf("version %d: the refused file changed", n)
		}
	}
}

func TestUnwritableStateDirectory(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	must(t, os.WriteFile(file, nil, 0o600))
	path := filepath.Join(file, "state.db")
	if _, err := OpenLocal(path, Options{}); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("state under a regular file: %v, want an error naming %s", err, file)
	}

	if os.Geteuid() == 0 {
		t.Skip("permissions do not bind root")
	}
	dir := filepath.Join(base, "ro")
	must(t, os.Mkdir(dir, 0o500))
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	_, err := OpenLocal(filepath.Join(dir, "state.db"), Options{})
	if err == nil || !strings.Contains(err.Error(), "state directory "+dir+" is not writable") {
		t.Errorf("read-only state directory: %v", err)
	}

	// An existing state in a directory made read-only afterwards.
	path = statePath(t)
	must(t, open(t, path, Options{}).Close())
	must(t, os.Chmod(filepath.Dir(path), 0o500))
	t.Cleanup(func() { os.Chmod(filepath.Dir(path), 0o700) })
	_, err = OpenLocal(path, Options{})
	if err == nil || !strings.Contains(err.Error(), "state directory "+filepath.Dir(path)+" is not writable") {
		t.Errorf("existing state in a read-only directory: %v", err)
	}
	l := open(t, path, Options{ReadOnly: true})
	must(t, l.Close())
}
