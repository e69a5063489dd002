package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestDamagedPagesRefused damages a real state in the ways reported
// against bbolt (a freelist page of another type, a page that names
// another page number, a page number past the end of the file, a page
// referenced twice, an element running past its page): each is refused
// with ErrCorrupt by a reader and a writer, without a panic, leaving the
// file as it was.
func TestDamagedPagesRefused(t *testing.T) {
	b := damagedStateBase(t)
	ne := binary.NativeEndian
	m0, ok0 := parseBoltMeta(b.file)
	m1, ok1 := parseBoltMeta(b.file[m0.pageSize:])
	if !ok0 || !ok1 {
		t.Fatal("the base state has an invalid meta page")
	}
	m := m0
	if m1.txid > m0.txid {
		m = m1
	}
	ps := int(m.pageSize)
	page := func(c []byte, id uint64) []byte { return c[int(id)*ps : (int(id)+1)*ps] }
	// The root page is a leaf of the four buckets; elem returns the
	// offset of the named bucket's element and of its value.
	elem := func(c []byte, name string) (int, int) {
		p := page(c, m.root)
		for i := range int(ne.Uint16(p[10:])) {
			off := 16 + i*16
			pos, ksize := int(ne.Uint32(p[off+4:])), int(ne.Uint32(p[off+8:]))
			if string(p[off+pos:off+pos+ksize]) == name {
				return off, off + pos + ksize
			}
		}
		t.Fatalf("no bucket %q in the root page", name)
		return 0, 0
	}
	_, rv := elem(b.file, "resources")
	resRoot := ne.Uint64(page(b.file, m.root)[rv:])
	if resRoot == 0 || ne.Uint16(page(b.file, resRoot)[8:]) != pageBranch {
		t.Fatal("the resources bucket's root is not a branch: the base state is too small")
	}
	cases := map[string]func(c []byte){
		"freelist of another type": func(c []byte) { ne.PutUint16(page(c, m.freelist)[8:], 0x04) },
		"freelist count past its page": func(c []byte) {
			p := page(c, m.freelist)
			ne.PutUint16(p[10:], 0xFFFF)
			ne.PutUint64(p[16:], 1<<40)
		},
		"page naming another number":   func(c []byte) { ne.PutUint64(page(c, resRoot), 8316213599780548146) },
		"page of unexpected type":      func(c []byte) { ne.PutUint16(page(c, resRoot)[8:], 0x20) },
		"bucket root past the file":    func(c []byte) { ne.PutUint64(page(c, m.root)[rv:], 1<<40) },
		"bucket root referenced twice": func(c []byte) { ne.PutUint64(page(c, m.root)[rv:], m.root) },
		"overflow past the file":       func(c []byte) { ne.PutUint32(page(c, resRoot)[12:], 1<<30) },
		// A tree that loops, which bbolt would read for ever
		// (etcd-io/bbolt#174): the resources bucket's root is a branch.
		"branch child naming its branch": func(c []byte) { ne.PutUint64(page(c, resRoot)[16+8:], resRoot) },
		"element count past its page":    func(c []byte) { ne.PutUint16(page(c, resRoot)[10:], 0xFFFF) },
		"element key past its page":      func(c []byte) { ne.PutUint32(page(c, resRoot)[16+8:], 1<<31) },
		"element position past its page": func(c []byte) { ne.PutUint32(page(c, resRoot)[16+4:], 1<<31) },
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			content := bytes.Clone(b.file)
			damage(content)
			path := filepath.Join(t.TempDir(), "state.db")
			must(t, os.WriteFile(path, content, 0o600))
			for _, ro := range []bool{true, false} {
				func() {
					defer func() {
						if p := recover(); p != nil {
							t.Errorf("read-only %v: panic: %v", ro, p)
						}
					}()
					l, err := OpenLocal(path, Options{ReadOnly: ro})
					if err == nil {
						_, err = l.Snapshot()
						l.Close()
					}
					if !errors.Is(err, ErrCorrupt) {
						t.Errorf("read-only %v: %v, want ErrCorrupt", ro, err)
					}
				}()
				if now, _ := os.ReadFile(path); !bytes.Equal(now, content) {
					t.Errorf("read-only %v: the file changed", ro)
				}
			}
		})
	}
}

// TestOutputsFileChecksum flips a bit in an identifier in outputs.json, as
// another configuration reads it: refused as corrupt, not used.
func TestOutputsFileChecksum(t *testing.T) {
	path := filepath.Join(t.TempDir(), OutputsFileName)
	must(t, WriteOutputsFile(path, outputs))
	got, err := ReadOutputsFile(path)
	must(t, err)
	if len(got) != len(outputs) {
		t.Fatalf("read %d outputs", len(got))
	}
	b, err := os.ReadFile(path)
	must(t, err)
	i := bytes.Index(b, []byte("media-000001"))
	if i < 0 {
		t.Fatalf("no identifier in %s", b)
	}
	b[i+7] ^= 1
	must(t, os.WriteFile(path, b, 0o600))
	if _, err := ReadOutputsFile(path); !errors.Is(err, ErrCorrupt) {
		t.Errorf("damaged identifier: %v, want ErrCorrupt", err)
	}
}
