package plan

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// ageCache makes the saved cache look written one minute after every
// entry, as it is when the files were not touched around the save.
func ageCache(t *testing.T, path string) {
	t.Helper()
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
}

func TestStatCache(t *testing.T) {
	dir := t.TempDir()
	cachePath := filepath.Join(dir, "statcache")
	a, b, c := filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png"), filepath.Join(dir, "c.png")
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	for _, p := range []string{a, b, c} {
		os.WriteFile(p, pngBytes("original "+filepath.Base(p)), 0o644)
		os.Chtimes(p, old, old)
	}
	paths := []string{a, b, c}

	sc := LoadStatCache(cachePath)
	first := sc.Hash(paths)
	if sc.Hits != 0 || sc.Misses != 3 {
		t.Fatalf("cold cache: %d hits, %d misses", sc.Hits, sc.Misses)
	}
	if err := sc.Save(cachePath); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(cachePath); st.Mode().Perm() != 0o600 {
		t.Fatalf("stat cache mode %v", st.Mode().Perm())
	}

	// Racy: the cache was written in the same moment as it was hashed, so
	// nothing may be trusted yet if a file's times are not older.
	now := time.Now()
	os.Chtimes(c, now.Add(time.Hour), now.Add(time.Hour))
	sc = LoadStatCache(cachePath)
	sc.Hash(paths)
	if sc.Misses < 1 {
		t.Fatalf("a file newer than the cache was trusted")
	}
	os.Chtimes(c, old, old)
	sc.Hash([]string{c})
	sc.Save(cachePath)
	ageCache(t, cachePath)

	// Warm: every file vouched for, results identical to a full hash.
	sc = LoadStatCache(cachePath)
	warm := sc.Hash(paths)
	if sc.Hits != 3 {
		t.Fatalf("warm cache: %d hits, %d misses", sc.Hits, sc.Misses)
	}
	for i := range paths {
		if warm[i].SHA256 != first[i].SHA256 || string(warm[i].Head) != string(first[i].Head) || warm[i].Size != first[i].Size {
			t.Fatalf("%s: cached %+v, hashed %+v", paths[i], warm[i], first[i])
		}
	}
	sc.Save(cachePath)
	ageCache(t, cachePath)

	// An edit that keeps the size and the mtime (touch -d back) changes
	// the ctime: it must be seen.
	edited := pngBytes("modified " + filepath.Base(a))
	if len(edited) != len(pngBytes("original "+filepath.Base(a))) {
		t.Fatal("test needs same-size content")
	}
	os.WriteFile(a, edited, 0o644)
	os.Chtimes(a, old, old)
	// A replaced file (new inode) with the same size and mtime.
	tmp := b + ".new"
	os.WriteFile(tmp, pngBytes("modified "+filepath.Base(b)), 0o644)
	os.Chtimes(tmp, old, old)
	os.Rename(tmp, b)
	ageCache(t, cachePath)

	sc = LoadStatCache(cachePath)
	got := sc.Hash(paths)
	full := HashFiles(paths)
	for i := range paths {
		if got[i].SHA256 != full[i].SHA256 {
			t.Errorf("%s: stale cache hid a change (cached %s, actual %s)", paths[i], got[i].SHA256[:12], full[i].SHA256[:12])
		}
	}
	if got[0].SHA256 == first[0].SHA256 || got[1].SHA256 == first[1].SHA256 {
		t.Fatalf("edits not detected")
	}
	if sc.Hits != 1 {
		t.Fatalf("%d hits, want 1 (only c.png unchanged)", sc.Hits)
	}

	// A corrupt cache is an empty cache.
	os.WriteFile(cachePath, []byte("garbage"), 0o600)
	sc = LoadStatCache(cachePath)
	sc.Hash(paths)
	if sc.Hits != 0 {
		t.Fatalf("corrupt cache gave hits")
	}
}
