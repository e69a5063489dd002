package state

import (
	"errors"
	"os"
	"testing"
)

func TestMoveResource(t *testing.T) {
	l := open(t, statePath(t), Options{})
	a, b := testResource(1), testResource(2)
	must(t, l.CommitUpload(a, entryFor(a)))
	must(t, l.CommitUpload(b, entryFor(b)))
	before := snapshot(t, l).Serial

	to := a
	to.Address, to.Name, to.Key = "wechatpay_image.logo", "logo", ""
	must(t, l.MoveResource(a.Address, to))
	s := snapshot(t, l)
	if _, ok := s.Resources[a.Address]; ok {
		t.Errorf("%s still recorded after the move", a.Address)
	}
	if got := s.Resources[to.Address]; got.ID != a.ID || got.Name != "logo" {
		t.Errorf("moved resource = %+v", got)
	}
	if s.Serial != before+1 {
		t.Errorf("serial = %d, want %d", s.Serial, before+1)
	}

	if err := l.MoveResource("wechatpay_image.nothing", to); !errors.Is(err, ErrNotFound) {
		t.Errorf("moving a missing resource: %v, want ErrNotFound", err)
	}
	clash := b
	clash.Address = to.Address
	if err := l.MoveResource(b.Address, clash); !errors.Is(err, ErrExists) {
		t.Errorf("moving onto a recorded address: %v, want ErrExists", err)
	}
	if s2 := snapshot(t, l); s2.Serial != s.Serial || len(s2.Resources) != 2 {
		t.Errorf("failed moves changed the state: serial %d, %d resources", s2.Serial, len(s2.Resources))
	}
}

func TestPutAndRemoveCache(t *testing.T) {
	l := open(t, statePath(t), Options{})
	var entries []CacheEntry
	for i := range 4 {
		e := entryFor(testResource(i))
		if i >= 2 {
			e.MchID = "1900000002"
		}
		entries = append(entries, e)
	}
	must(t, l.PutCache(entries...))
	must(t, l.PutCache())
	serial := snapshot(t, l).Serial

	n, err := l.RemoveCache(CacheFilter{SHA256: entries[0].SHA256})
	must(t, err)
	if n != 1 {
		t.Errorf("removed %d by SHA-256, want 1", n)
	}
	n, err = l.RemoveCache(CacheFilter{MchID: "1900000002", API: "merchant_media_image"})
	must(t, err)
	if n != 2 {
		t.Errorf("removed %d by merchant and API, want 2", n)
	}
	if s := snapshot(t, l).Serial; s != serial+2 {
		t.Errorf("serial = %d, want %d", s, serial+2)
	}
	n, err = l.RemoveCache(CacheFilter{MchID: "nobody"})
	must(t, err)
	if s := snapshot(t, l).Serial; n != 0 || s != serial+2 {
		t.Errorf("removing nothing: n=%d serial=%d, want 0 and %d", n, s, serial+2)
	}
	left, err := l.ListCache()
	must(t, err)
	if len(left) != 1 || left[0].CacheKey != entries[1].CacheKey {
		t.Errorf("cache left = %+v", left)
	}
	n, err = l.RemoveCache(CacheFilter{})
	must(t, err)
	if n != 1 {
		t.Errorf("removed %d with the empty filter, want 1", n)
	}
	if err := l.PutCache(CacheEntry{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("PutCache of an empty entry: %v, want ErrInvalid", err)
	}
}

func TestExportPush(t *testing.T) {
	src := open(t, statePath(t), Options{})
	a := testResource(1)
	must(t, src.CommitUpload(a, entryFor(a)))
	must(t, src.SetOutputs(outputs))
	doc, err := src.Export()
	must(t, err)
	if doc.Lineage == "" || doc.Serial != 2 || len(doc.Resources) != 1 || len(doc.Cache) != 1 || len(doc.Outputs) != 2 {
		t.Fatalf("export = %+v", doc)
	}
	if !doc.Outputs["ids"].Sensitive {
		t.Errorf("sensitive output lost its mark")
	}

	// A fresh state takes any lineage.
	dst := open(t, statePath(t), Options{})
	must(t, dst.Push(doc, false))
	got, err := dst.Export()
	must(t, err)
	if got.Lineage != doc.Lineage || got.Serial != doc.Serial+1 || len(got.Resources) != 1 || len(got.Cache) != 1 || len(got.Outputs) != 2 {
		t.Fatalf("after push = %+v", got)
	}

	// The old document is now behind.
	if err := dst.Push(doc, false); !errors.Is(err, ErrSerialBehind) {
		t.Errorf("pushing an older state: %v, want ErrSerialBehind", err)
	}
	other := *got
	other.Lineage = "00000000-0000-4000-8000-000000000000"
	if err := dst.Push(&other, false); !errors.Is(err, ErrLineage) {
		t.Errorf("pushing another lineage: %v, want ErrLineage", err)
	}
	if again, _ := dst.Export(); again.Serial != got.Serial {
		t.Errorf("refused pushes moved the serial to %d", again.Serial)
	}

	// -force takes the document, and the serial never goes back.
	empty := &Export{FormatVersion: ExportFormatVersion, Lineage: other.Lineage}
	must(t, dst.Push(empty, true))
	final, err := dst.Export()
	must(t, err)
	if final.Lineage != other.Lineage || final.Serial != got.Serial+1 || len(final.Resources) != 0 || len(final.Outputs) != 0 {
		t.Errorf("after a forced push = %+v", final)
	}
	if len(final.Cache) != 1 {
		t.Errorf("a push dropped cache entries: %d left", len(final.Cache))
	}

	bad := *got
	bad.Resources = append([]Resource{}, a, a)
	if err := dst.Push(&bad, true); !errors.Is(err, ErrInvalid) {
		t.Errorf("pushing duplicate addresses: %v, want ErrInvalid", err)
	}
	bad.FormatVersion = 99
	if err := dst.Push(&bad, true); !errors.Is(err, ErrSchemaVersion) {
		t.Errorf("pushing a newer format: %v, want ErrSchemaVersion", err)
	}
}

func TestReadOnlyRefusesSurgery(t *testing.T) {
	path := statePath(t)
	w := open(t, path, Options{})
	a := testResource(1)
	must(t, w.CommitUpload(a, entryFor(a)))
	must(t, w.Close())
	r := open(t, path, Options{ReadOnly: true})
	if err := r.MoveResource(a.Address, a); !errors.Is(err, ErrReadOnly) {
		t.Errorf("MoveResource read-only: %v", err)
	}
	if _, err := r.RemoveCache(CacheFilter{}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("RemoveCache read-only: %v", err)
	}
	doc, err := r.Export()
	must(t, err)
	if err := r.Push(doc, true); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Push read-only: %v", err)
	}
}

func TestForceUnlockLocal(t *testing.T) {
	path := statePath(t)
	if _, err := ForceUnlockLocal(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("force-unlock of a missing state: %v", err)
	}
	l := open(t, path, Options{Command: "apply"})
	var le *LockedError
	if _, err := ForceUnlockLocal(path); !errors.As(err, &le) {
		t.Fatalf("force-unlock of a held lock: %v, want *LockedError", err)
	}
	// Leave details behind as a process that died would.
	data, err := os.ReadFile(lockInfoPath(path))
	must(t, err)
	must(t, l.Close())
	must(t, os.WriteFile(lockInfoPath(path), data, 0o600))
	info, err := ForceUnlockLocal(path)
	must(t, err)
	if info == nil || info.Command != "apply" {
		t.Errorf("stale holder = %+v", info)
	}
	if _, err := os.Stat(lockInfoPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock details left behind: %v", err)
	}
}
