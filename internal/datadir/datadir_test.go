package datadir

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMkdirAllWritesGitignore(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, ".wxmedia", "sandbox", "merchants")
	if err := MkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, ".wxmedia", ".gitignore"))
	if err != nil {
		t.Fatalf("no .gitignore in the data directory: %v", err)
	}
	if got, want := string(data), "# Written by wxmedia: state, sandbox keys and machine-local caches stay out of version control.\n*\n"; got != want {
		t.Errorf(".gitignore = %q, want %q", got, want)
	}
	for _, d := range []string{filepath.Join(root, ".wxmedia"), dir} {
		st, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if perm := st.Mode().Perm(); perm != 0o700 {
			t.Errorf("%s made with mode %04o, want 0700", d, perm)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".gitignore")); err == nil {
		t.Errorf(".gitignore written below the data directory too")
	}
}

func TestMkdirAllExistingDirectory(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, ".wxmedia")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := MkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".gitignore")); err != nil {
		t.Errorf("an existing data directory got no .gitignore: %v", err)
	}
	// A user's own is kept.
	own := filepath.Join(dir, ".gitignore")
	if err := os.WriteFile(own, []byte("state.db\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := MkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(own); string(data) != "state.db\n" {
		t.Errorf("a user's .gitignore was replaced by %q", data)
	}
}

func TestMkdirAllOtherDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "states", "prod")
	if err := MkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".gitignore")); err == nil {
		t.Errorf(".gitignore written into a directory that is not .wxmedia")
	}
}
