package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	for _, d := range []Durability{Replace, Durable} {
		if err := WriteBytes(path, []byte("new"), 0o640, d); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil || string(b) != "new" {
			t.Fatalf("content %q, %v", b, err)
		}
		if st, _ := os.Stat(path); runtime.GOOS != "windows" && st.Mode().Perm() != 0o640 {
			t.Errorf("mode %v, want 0640", st.Mode().Perm())
		}
	}
	// A failed write leaves the old file and no temporary file.
	boom := errors.New("boom")
	err := Write(path, 0o600, Durable, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("a failed write changed the file: %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}
	// A directory that is not there is a CreateError naming it.
	missing := filepath.Join(dir, "no", "f")
	var ce *CreateError
	if err := WriteBytes(missing, nil, 0o600, Replace); !errors.As(err, &ce) || ce.Dir != filepath.Dir(missing) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v", err)
	}
}
