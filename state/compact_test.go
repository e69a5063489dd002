package state

import (
	"bytes"
	"encoding/binary"
	"os"
	"reflect"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// resourceFill returns how full the resources bucket's leaf pages are.
func resourceFill(t *testing.T, l *Local) float64 {
	t.Helper()
	var s bolt.BucketStats
	must(t, l.db.View(func(tx *bolt.Tx) error { s = tx.Bucket(bucketResources).Stats(); return nil }))
	return float64(s.LeafInuse) / float64(s.LeafAlloc)
}

func metaUint64(t *testing.T, l *Local, key []byte) uint64 {
	t.Helper()
	var v uint64
	must(t, l.db.View(func(tx *bolt.Tx) error { v = getUint64(tx.Bucket(bucketMeta), key); return nil }))
	return v
}

// TestScatteredResourcesAreRewritten records resources from the last
// address to the first, each splitting a full page, and checks that the
// writer's close rewrites them into full pages, keeping every record and
// the serial.
func TestScatteredResourcesAreRewritten(t *testing.T) {
	path := statePath(t)
	l := open(t, path, Options{Command: "apply"})
	const n = 2000
	want := map[string]Resource{}
	for i := n - 1; i >= 0; i-- {
		r := testResource(i)
		want[r.Address] = r
		must(t, l.CommitUpload(r, entryFor(r)))
	}
	if got := metaUint64(t, l, keyScattered); got != n-1 {
		t.Errorf("scattered count %d, want %d", got, n-1)
	}
	if fill := resourceFill(t, l); fill > 0.7 {
		t.Fatalf("pages %.0f%% full before the rewrite; the test needs scattered pages", 100*fill)
	}
	serial := snapshot(t, l).Serial
	must(t, l.Close())

	l = open(t, path, Options{ReadOnly: true})
	defer l.Close()
	if fill := resourceFill(t, l); fill < 0.9 {
		t.Errorf("pages %.0f%% full after the rewrite", 100*fill)
	}
	s := snapshot(t, l)
	if s.Serial != serial {
		t.Errorf("serial %d after the rewrite, want %d", s.Serial, serial)
	}
	if !reflect.DeepEqual(s.Resources, want) {
		t.Errorf("the rewrite changed the resources")
	}
	if got := metaUint64(t, l, keyScattered); got != 0 {
		t.Errorf("scattered count %d after the rewrite", got)
	}
}

// TestFewScatteredResourcesAreLeft checks that a close does not rewrite a
// state for a few resources recorded out of order.
func TestFewScatteredResourcesAreLeft(t *testing.T) {
	path := statePath(t)
	l := open(t, path, Options{Command: "apply"})
	for i := range 3000 {
		if i%100 != 50 {
			r := testResource(i)
			must(t, l.CommitUpload(r, entryFor(r)))
		}
	}
	for i := 50; i < 3000; i += 100 {
		r := testResource(i)
		must(t, l.PutResource(r))
	}
	if got := metaUint64(t, l, keyScattered); got != 30 {
		t.Errorf("scattered count %d, want 30", got)
	}
	must(t, l.Close())
	l = open(t, path, Options{ReadOnly: true})
	defer l.Close()
	if got := metaUint64(t, l, keyScattered); got != 30 {
		t.Errorf("scattered count %d after close, want 30 (no rewrite)", got)
	}
}

// TestUpgradeFromSchema1 builds a state as schema version 1 wrote it, with
// JSON records, and checks that a reader reads it without changing a byte
// and a writer upgrades it, keeping every record, the lineage and the
// serial.
func TestUpgradeFromSchema1(t *testing.T) {
	path := statePath(t)
	l := open(t, path, Options{})
	const n = 500
	want := map[string]Resource{}
	must(t, l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketResources)
		for i := range n {
			r := testResource(i)
			want[r.Address] = r
			v, err := jsonRecord(r)
			if err != nil {
				return err
			}
			if err := b.Put([]byte(r.Address), v); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if err := meta.Put(keySerial, binary.BigEndian.AppendUint64(nil, 41)); err != nil {
			return err
		}
		for _, k := range [][]byte{keySchemaSum, keyResourceCount, keyResourceCountSum} {
			if err := meta.Delete(k); err != nil {
				return err
			}
		}
		return meta.Put(keySchema, binary.BigEndian.AppendUint64(nil, 1))
	}))
	before := snapshot(t, l)
	must(t, l.Close())
	v1, err := os.ReadFile(path)
	must(t, err)

	r := open(t, path, Options{ReadOnly: true})
	if got := snapshot(t, r); !reflect.DeepEqual(got, before) || !reflect.DeepEqual(got.Resources, want) {
		t.Errorf("reading a version 1 state: %d resources, serial %d", len(got.Resources), got.Serial)
	}
	// A version 1 state keeps no resource count: Head counts the keys,
	// and point reads decode its JSON records.
	if h, err := r.Head(); err != nil || h.Resources != n || h.Serial != 41 || h.Lineage != before.Lineage {
		t.Errorf("Head of a version 1 state: %+v, %v; want %d resources at serial 41", h, err, n)
	}
	a := testResource(7).Address
	if got, serial, err := r.ReadResources([]string{a}); err != nil || serial != 41 || !reflect.DeepEqual(got[a], want[a]) {
		t.Errorf("ReadResources of a version 1 state: %+v at %d, %v", got, serial, err)
	}
	must(t, r.Close())
	if now, _ := os.ReadFile(path); !bytes.Equal(now, v1) {
		t.Errorf("a reader changed the version 1 state")
	}

	w := open(t, path, Options{Command: "apply"})
	defer w.Close()
	if got := metaUint64(t, w, keySchema); got != SchemaVersion {
		t.Errorf("schema version %d after a writer opened it, want %d", got, SchemaVersion)
	}
	after := snapshot(t, w)
	if h, err := w.Head(); err != nil || h.Resources != n {
		t.Errorf("Head after the upgrade: %+v, %v; want %d resources", h, err, n)
	}
	// The upgrade gives the state a write identifier for its serial.
	if after.WriteID == "" || before.WriteID != "" {
		t.Errorf("write identifier %q before the upgrade, %q after; want none, then one", before.WriteID, after.WriteID)
	}
	after.WriteID = before.WriteID
	if !reflect.DeepEqual(after, before) {
		t.Errorf("the upgrade changed the state: serial %d → %d, lineage %q → %q", before.Serial, after.Serial, before.Lineage, after.Lineage)
	}
	must(t, w.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketResources).ForEach(func(k, v []byte) error {
			if v[0] != recordTag {
				t.Errorf("%s still stored as %q", k, v)
			}
			return nil
		})
	}))
}

// TestResourceCount checks the count readers size their maps by after
// every kind of write.
func TestResourceCount(t *testing.T) {
	path := statePath(t)
	l := open(t, path, Options{Command: "apply"})
	check := func(when string) {
		t.Helper()
		if got, want := metaUint64(t, l, keyResourceCount), uint64(len(snapshot(t, l).Resources)); got != want {
			t.Errorf("%s: count %d, want %d", when, got, want)
		}
	}
	check("new state")
	for _, i := range []int{5, 1, 9, 3, 5, 7} {
		r := testResource(i)
		must(t, l.CommitUpload(r, entryFor(r)))
	}
	check("after commits, one twice")
	r := testResource(1)
	r.ID = "other"
	must(t, l.PutResource(r))
	must(t, l.PutResource(testResource(2)))
	check("after puts")
	must(t, l.RemoveResources(testResource(9).Address, "missing", testResource(9).Address, ""))
	check("after a removal")
	to := testResource(100)
	from := testResource(3)
	to.SHA256, to.Size, to.ID = from.SHA256, from.Size, from.ID
	must(t, l.MoveResource(from.Address, to))
	check("after a move")
	doc, err := l.Export()
	must(t, err)
	doc.Resources = append(doc.Resources[1:], testResource(200), testResource(0))
	must(t, l.Push(doc, true))
	check("after a push")
	must(t, l.db.Update(func(tx *bolt.Tx) error { return rewriteResources(tx, true) }))
	check("after a rewrite")
	must(t, l.Close())
}

// TestUpgradeGivesWriteID checks that a state whose serial an older
// wxmedia bumped (leaving the write identifier of the serial before) gets
// a write identifier for its serial when a writer opens it, with the
// serial and records unchanged, and that a reader changes nothing.
func TestUpgradeGivesWriteID(t *testing.T) {
	path := statePath(t)
	l := open(t, path, Options{})
	r1 := testResource(1)
	must(t, l.CommitUpload(r1, entryFor(r1)))
	must(t, l.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		return meta.Put(keySerial, binary.BigEndian.AppendUint64(nil, getUint64(meta, keySerial)+1))
	}))
	before := snapshot(t, l)
	must(t, l.Close())
	if before.WriteID != "" {
		t.Fatalf("write identifier %q for a serial it was not written at", before.WriteID)
	}
	raw, err := os.ReadFile(path)
	must(t, err)
	r := open(t, path, Options{ReadOnly: true})
	if h, err := r.Head(); err != nil || h.WriteID != "" {
		t.Errorf("reader's head: %+v, %v; want no write identifier", h, err)
	}
	must(t, r.Close())
	if now, _ := os.ReadFile(path); !bytes.Equal(now, raw) {
		t.Errorf("a reader changed the state")
	}
	w := open(t, path, Options{Command: "apply"})
	defer w.Close()
	after := snapshot(t, w)
	h, err := w.Head()
	if err != nil || h.WriteID == "" || h.WriteID != after.WriteID || h.Serial != before.Serial {
		t.Fatalf("after a writer opened it: head %+v, %v; snapshot write identifier %q; want one at serial %d", h, err, after.WriteID, before.Serial)
	}
	after.WriteID = ""
	if !reflect.DeepEqual(after, before) {
		t.Errorf("the upgrade changed what the state records")
	}
}
