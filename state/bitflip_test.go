package state

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// damageBase is a real state, written through the package's own writes,
// and what it holds.
type damageBase struct {
	file  []byte
	snap  *Snapshot
	cache map[CacheKey]CacheEntry
}

var (
	baseOnce sync.Once
	base     damageBase
	baseErr  error
)

// damagedStateBase builds, once per process, a state of 600 resources
// committed by concurrent uploads (as apply does), with their cache
// entries and outputs, in many transactions.
func damagedStateBase(t testing.TB) damageBase {
	baseOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wxmedia-damage-")
		if err != nil {
			baseErr = err
			return
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "state.db")
		l, err := OpenLocal(path, Options{Command: "apply"})
		if err != nil {
			baseErr = err
			return
		}
		const n = 600
		var wg sync.WaitGroup
		errs := make([]error, n)
		for w := range 8 {
			wg.Go(func() {
				for i := w; i < n; i += 8 {
					r := testResource(i)
					errs[i] = l.CommitUpload(r, entryFor(r))
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			baseErr = err
			return
		}
		if err := l.SetOutputs(outputs); err != nil {
			baseErr = err
			return
		}
		if err := l.Close(); err != nil {
			baseErr = err
			return
		}
		r, err := OpenLocal(path, Options{ReadOnly: true})
		if err != nil {
			baseErr = err
			return
		}
		defer r.Close()
		base.snap, baseErr = r.Snapshot()
		if baseErr != nil {
			return
		}
		entries, err := r.ListCache()
		if err != nil {
			baseErr = err
			return
		}
		base.cache = map[CacheKey]CacheEntry{}
		for _, e := range entries {
			base.cache[e.CacheKey] = e
		}
		base.file, baseErr = os.ReadFile(path)
	})
	if baseErr != nil {
		t.Fatalf("building the state: %v", baseErr)
	}
	return base
}

// damageOutcome is what reading one damaged state gave.
type damageOutcome struct {
	detected bool     // an error wrapping ErrCorrupt or ErrSchemaVersion
	panicked []string // panics, recovered here
	wrong    []string // records read without an error that the state never held
	other    []string // errors of another kind
	changed  bool     // the file changed although it was refused
}

// readDamaged opens the damaged state content at path, first read-only
// then as a writer, and reads all of it each time: the snapshot, the
// cache by listing and by lookup, and the export.
func readDamaged(b damageBase, path string, content []byte) (out damageOutcome) {
	note := func(err error) bool {
		switch {
		case err == nil:
			return false
		case errors.Is(err, ErrCorrupt), errors.Is(err, ErrSchemaVersion):
			out.detected = true
		default:
			out.other = append(out.other, err.Error())
		}
		return true
	}
	checkResources := func(rs map[string]Resource) {
		for addr, r := range rs {
			if want, ok := b.snap.Resources[addr]; !ok || !reflect.DeepEqual(r, want) {
				out.wrong = append(out.wrong, fmt.Sprintf("resource %q: %+v", addr, r))
			}
		}
	}
	checkCache := func(es []CacheEntry) {
		for _, e := range es {
			if want, ok := b.cache[e.CacheKey]; !ok || !reflect.DeepEqual(e, want) {
				out.wrong = append(out.wrong, fmt.Sprintf("cache entry %+v", e))
			}
		}
	}
	checkOutputs := func(os map[string]Output) {
		for name, o := range os {
			if want, ok := b.snap.Outputs[name]; !ok || !reflect.DeepEqual(o, want) {
				out.wrong = append(out.wrong, fmt.Sprintf("output %q: %s", name, o.Value))
			}
		}
	}
	for _, ro := range []bool{true, false} {
		func() {
			defer func() {
				if p := recover(); p != nil {
					out.panicked = append(out.panicked, fmt.Sprint(p))
				}
			}()
			l, err := OpenLocal(path, Options{ReadOnly: ro, Command: "apply"})
			if note(err) {
				return
			}
			defer func() { note(l.Close()) }()
			// Point reads first, which a reader makes before the whole
			// file is walked (pointcheck.go).
			h, err := l.Head()
			if note(err) {
				return
			}
			checkOutputs(h.Outputs)
			if h.Lineage != b.snap.Lineage || h.Serial != b.snap.Serial || h.Resources != len(b.snap.Resources) {
				out.wrong = append(out.wrong, fmt.Sprintf("head %q %d %d", h.Lineage, h.Serial, h.Resources))
			}
			addrs := pointAddrs(b)
			rs, serial, err := l.ReadResources(addrs)
			if note(err) {
				return
			}
			checkResources(rs)
			if serial != b.snap.Serial {
				out.wrong = append(out.wrong, fmt.Sprintf("serial %d", serial))
			}
			hits, err := l.LookupCache(pointCacheKeys(b))
			if note(err) {
				return
			}
			for _, e := range hits {
				checkCache([]CacheEntry{e})
			}
			s, err := l.Snapshot()
			if note(err) {
				return
			}
			checkResources(s.Resources)
			checkOutputs(s.Outputs)
			es, err := l.ListCache()
			if note(err) {
				return
			}
			checkCache(es)
			keys := make([]CacheKey, 0, len(b.cache))
			for k := range b.cache {
				keys = append(keys, k)
			}
			hits, err = l.LookupCache(keys)
			if note(err) {
				return
			}
			for _, e := range hits {
				checkCache([]CacheEntry{e})
			}
			doc, err := l.Export()
			if note(err) {
				return
			}
			rs = map[string]Resource{}
			for _, r := range doc.Resources {
				rs[r.Address] = r
			}
			checkResources(rs)
			checkCache(doc.Cache)
			checkOutputs(doc.Outputs)
		}()
		if out.detected {
			// Refused: the file must be as it was, and a writer is not
			// tried on it.
			if now, err := os.ReadFile(path); err != nil || !bytes.Equal(now, content) {
				out.changed = true
			}
			return out
		}
	}
	return out
}

// pointAddrs are addresses a point read asks for in the tests of
// damaged states: a few recorded ones, spread over the state, and one
// that is not.
func pointAddrs(b damageBase) []string {
	addrs := []string{testResource(100000).Address}
	for i := 0; i < len(b.snap.Resources); i += 97 {
		addrs = append(addrs, testResource(i).Address)
	}
	return addrs
}

// pointCacheKeys are cache keys a point read looks up in those tests.
func pointCacheKeys(b damageBase) []CacheKey {
	keys := []CacheKey{entryFor(testResource(100000)).CacheKey}
	for i := 0; i < len(b.snap.Resources); i += 151 {
		keys = append(keys, entryFor(testResource(i)).CacheKey)
	}
	return keys
}

// flipBits returns a copy of file with the bits at the given bit offsets
// flipped.
func flipBits(file []byte, bits []uint64) []byte {
	c := bytes.Clone(file)
	for _, b := range bits {
		b %= uint64(len(c)) * 8
		c[b/8] ^= 1 << (b % 8)
	}
	return c
}

// TestBitFlipTrial flips random bits in copies of a real state and reads
// each: no panic, no record the state never held read without an error,
// and a refused file left as it was. WXMEDIA_SLOW_TESTS runs 1,000 damaged
// files, else 60.
func TestBitFlipTrial(t *testing.T) {
	b := damagedStateBase(t)
	trials := 60
	if os.Getenv("WXMEDIA_SLOW_TESTS") != "" {
		trials = 1000
	}
	rng := rand.New(rand.NewSource(12))
	dir := t.TempDir()
	var detected, unaffected, panics, wrong, other, changed int
	for i := range trials {
		bits := make([]uint64, 1+rng.Intn(8))
		for j := range bits {
			bits[j] = uint64(rng.Int63n(int64(len(b.file)) * 8))
		}
		content := flipBits(b.file, bits)
		path := filepath.Join(dir, fmt.Sprintf("state-%04d.db", i))
		must(t, os.WriteFile(path, content, 0o600))
		out := readDamaged(b, path, content)
		switch {
		case out.detected:
			detected++
		case len(out.wrong) == 0 && len(out.other) == 0 && len(out.panicked) == 0:
			unaffected++
		}
		if len(out.panicked) > 0 {
			panics++
			t.Errorf("trial %d (bits %v): panic: %s", i, bits, out.panicked[0])
		}
		if len(out.wrong) > 0 {
			wrong++
			t.Errorf("trial %d (bits %v): read without an error: %s", i, bits, out.wrong[0])
		}
		if len(out.other) > 0 {
			other++
			t.Errorf("trial %d (bits %v): error not reported as a corrupt state: %s", i, bits, out.other[0])
		}
		if out.changed {
			changed++
			t.Errorf("trial %d (bits %v): the refused file was changed", i, bits)
		}
		os.Remove(path)
		os.Remove(path + ".lock.json")
	}
	t.Logf("%d damaged states of %d bytes: %d refused as corrupt, %d read as before, %d panics, %d with wrong records, %d other errors, %d refused files changed",
		trials, len(b.file), detected, unaffected, panics, wrong, other, changed)
}

// FuzzDamagedState flips the bits the input names (each 4 bytes, a bit
// offset into the file) in a real state and reads it: as TestBitFlipTrial.
func FuzzDamagedState(f *testing.F) {
	f.Add(binary.LittleEndian.AppendUint32(nil, 4096*8*2+16*8))
	f.Add(binary.LittleEndian.AppendUint32(nil, 4096*8*3+100))
	f.Add(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 77), 4096*8+200))
	f.Fuzz(func(t *testing.T, in []byte) {
		b := damagedStateBase(t)
		var bits []uint64
		for len(in) >= 4 && len(bits) < 16 {
			bits = append(bits, uint64(binary.LittleEndian.Uint32(in)))
			in = in[4:]
		}
		content := flipBits(b.file, bits)
		path := filepath.Join(t.TempDir(), "state.db")
		must(t, os.WriteFile(path, content, 0o600))
		out := readDamaged(b, path, content)
		switch {
		case len(out.panicked) > 0:
			t.Fatalf("panic: %s", out.panicked[0])
		case len(out.wrong) > 0:
			t.Fatalf("read without an error: %s", out.wrong[0])
		case len(out.other) > 0:
			t.Fatalf("error not reported as a corrupt state: %s", out.other[0])
		case out.changed:
			t.Fatalf("the refused file was changed")
		}
	})
}

// TestPlanKey checks the state's secret for signing saved plans: made
// with the state, read by readers, never exported, and added by the first
// writer to a state that has none, leaving a reader's file untouched.
func TestPlanKey(t *testing.T) {
	path := statePath(t)
	l := open(t, path, Options{})
	key := snapshot(t, l).PlanKey
	if len(key) != 32 {
		t.Fatalf("new state: plan key of %d bytes", len(key))
	}
	doc, err := l.Export()
	must(t, err)
	b, err := json.Marshal(NewDocument(doc))
	must(t, err)
	if bytes.Contains(b, []byte(hex.EncodeToString(key))) || bytes.Contains(b, []byte(base64.StdEncoding.EncodeToString(key))) {
		t.Errorf("the export holds the plan key")
	}
	// A state of schema version 2, without a key.
	must(t, l.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if err := meta.Delete(keyPlanKey); err != nil {
			return err
		}
		if err := meta.Delete(keySchemaSum); err != nil {
			return err
		}
		return meta.Put(keySchema, binary.BigEndian.AppendUint64(nil, 2))
	}))
	must(t, l.Close())
	before, err := os.ReadFile(path)
	must(t, err)
	r := open(t, path, Options{ReadOnly: true})
	if k := snapshot(t, r).PlanKey; k != nil {
		t.Errorf("a state without a key read as %x", k)
	}
	must(t, r.Close())
	if now, _ := os.ReadFile(path); !bytes.Equal(now, before) {
		t.Errorf("a reader changed the state")
	}
	w := open(t, path, Options{})
	if k := snapshot(t, w).PlanKey; len(k) != 32 || bytes.Equal(k, key) {
		t.Errorf("after a writer opened it: plan key %x", k)
	}
}

// TestUpgradeSealsRecords upgrades a state of schema version 2, whose
// records carry no checksum: a reader reads it as it is, and a writer
// gives every resource, cache entry and output its checksum, keeping what
// they hold.
func TestUpgradeSealsRecords(t *testing.T) {
	path := statePath(t)
	l := open(t, path, Options{})
	must(t, l.db.Update(func(tx *bolt.Tx) error {
		for i := range 300 {
			r := testResource(i)
			v, err := encodeResource(r)
			if err != nil {
				return err
			}
			if err := tx.Bucket(bucketResources).Put([]byte(r.Address), v); err != nil {
				return err
			}
			e := entryFor(r)
			if v, err = encodeCacheEntry(e); err != nil {
				return err
			}
			if err := tx.Bucket(bucketCache).Put(cacheKeyBytes(e.CacheKey), v); err != nil {
				return err
			}
		}
		for name, o := range outputs {
			v, err := encodeOutput(o)
			if err != nil {
				return err
			}
			if err := tx.Bucket(bucketOutputs).Put([]byte(name), v); err != nil {
				return err
			}
		}
		for _, k := range [][]byte{keySchemaSum, keyResourceCountSum} {
			if err := tx.Bucket(bucketMeta).Delete(k); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchema, binary.BigEndian.AppendUint64(nil, 2))
	}))
	must(t, l.Close())
	r := open(t, path, Options{ReadOnly: true})
	before := snapshot(t, r)
	cacheBefore, err := r.ListCache()
	must(t, err)
	must(t, r.Close())
	if len(before.Resources) != 300 || len(cacheBefore) != 300 || !reflect.DeepEqual(before.Outputs, outputs) {
		t.Fatalf("version 2 read: %d resources, %d cache entries, outputs %v", len(before.Resources), len(cacheBefore), before.Outputs)
	}
	w := open(t, path, Options{})
	after := snapshot(t, w)
	cacheAfter, err := w.ListCache()
	must(t, err)
	after.PlanKey, before.PlanKey = nil, nil
	if !reflect.DeepEqual(after, before) || !reflect.DeepEqual(cacheAfter, cacheBefore) {
		t.Errorf("the upgrade changed what the state holds")
	}
	must(t, w.db.View(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketResources, bucketCache, bucketOutputs} {
			if err := tx.Bucket(name).ForEach(func(k, v []byte) error {
				_, err := unseal(k, v)
				return err
			}); err != nil {
				t.Errorf("%s after the upgrade: %v", name, err)
			}
		}
		return nil
	}))
}
