package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSettingsIdentity(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	id, err := Settings{}.Identity()
	if want := "local:" + filepath.Join(dir, DefaultPath); err != nil || id != want {
		t.Fatalf("default local state: %q %v, want %q", id, err, want)
	}
	id, err = Settings{Type: TypeLocal, Path: "x/s.db"}.Identity()
	if want := "local:" + filepath.Join(dir, "x/s.db"); err != nil || id != want {
		t.Fatalf("local state: %q %v, want %q", id, err, want)
	}
	// Through a symbolic link to the directory: the same state.
	os.MkdirAll(filepath.Join(dir, ".wxmedia"), 0o700)
	os.WriteFile(filepath.Join(dir, DefaultPath), nil, 0o600)
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	direct, _ := Settings{}.Identity()
	viaLink, err := Settings{Path: filepath.Join(link, DefaultPath)}.Identity()
	if err != nil || viaLink != direct {
		t.Fatalf("through a link: %q %v, directly %q", viaLink, err, direct)
	}

	// The password, in either form of connection string, never shows;
	// host, port, database and schema tell states apart.
	const secret = "pw-Secr3t"
	seen := map[string]string{}
	for _, s := range []Settings{
		{Type: TypePostgres, ConnStr: "postgres://alice:" + secret + "@db1.example.test:5433/media?sslmode=disable"},
		{Type: TypePostgres, ConnStr: "host=db1.example.test port=5433 dbname=media user=bob password=" + secret + " sslmode=disable", SchemaName: "other"},
		{Type: TypePostgres, ConnStr: "postgres://alice:" + secret + "@db2.example.test:5433/media?sslmode=disable"},
		{Type: TypePostgres, ConnStr: "postgres://alice:" + secret + "@db1.example.test:5433/media2?sslmode=disable"},
	} {
		id, err := s.Identity()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(id, secret) || strings.Contains(id, "alice") || strings.Contains(id, "bob") {
			t.Fatalf("identity %q holds credentials", id)
		}
		if prev, dup := seen[id]; dup {
			t.Fatalf("%q and %q have one identity %q", prev, s.ConnStr, id)
		}
		seen[id] = s.ConnStr
	}
	id, err = Settings{Type: TypePostgres, ConnStr: "postgres://alice:" + secret + "@db1.example.test:5433/media?sslmode=disable"}.Identity()
	if want := `postgres:"db1.example.test":5433/"media"/"wxmedia"`; err != nil || id != want {
		t.Fatalf("postgres: %q %v, want %q", id, err, want)
	}
	_, err = Settings{Type: TypePostgres, ConnStr: "postgres://alice:" + secret + "@[bad"}.Identity()
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("bad connection string: %v", err)
	}
}
