package plan

import (
	"bytes"
	"fmt"
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

// loadLater and newLater give a cache whose hashing happens an hour from
// now, as if every file had settled long before it was hashed.
func loadLater(path string) *StatCache { return later(LoadStatCache(path)) }
func newLater() *StatCache             { return later(NewStatCache()) }

func later(c *StatCache) *StatCache {
	c.clock = func() time.Time { return time.Now().Add(time.Hour) }
	return c
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

	sc := loadLater(cachePath)
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
	sc = loadLater(cachePath)
	sc.Hash(paths)
	if sc.Misses < 1 {
		t.Fatalf("a file newer than the cache was trusted")
	}
	os.Chtimes(c, old, old)
	sc.Hash([]string{c})
	sc.Save(cachePath)
	ageCache(t, cachePath)

	// Warm: every file vouched for, results identical to a full hash.
	sc = loadLater(cachePath)
	warm := sc.Hash(paths)
	if sc.Hits != 3 {
		t.Fatalf("warm cache: %d hits, %d misses", sc.Hits, sc.Misses)
	}
	for i := range paths {
		if warm[i].SHA256() != first[i].SHA256() || string(warm[i].Head()) != string(first[i].Head()) || warm[i].Size() != first[i].Size() {
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

	sc = loadLater(cachePath)
	got := sc.Hash(paths)
	full := HashFiles(paths)
	for i := range paths {
		if got[i].SHA256() != full[i].SHA256() {
			t.Errorf("%s: stale cache hid a change (cached %s, actual %s)", paths[i], got[i].SHA256()[:12], full[i].SHA256()[:12])
		}
	}
	if got[0].SHA256() == first[0].SHA256() || got[1].SHA256() == first[1].SHA256() {
		t.Fatalf("edits not detected")
	}
	if sc.Hits != 1 {
		t.Fatalf("%d hits, want 1 (only c.png unchanged)", sc.Hits)
	}

	// A corrupt cache is an empty cache.
	os.WriteFile(cachePath, []byte("garbage"), 0o600)
	sc = loadLater(cachePath)
	sc.Hash(paths)
	if sc.Hits != 0 {
		t.Fatalf("corrupt cache gave hits")
	}
}

// TestStatCacheFileEditedDuringPlan edits a file while it is being hashed:
// the result is the new content, and the cache vouches for the new
// content only.
func TestStatCacheFileEditedDuringPlan(t *testing.T) {
	dir := t.TempDir()
	cachePath := filepath.Join(dir, "statcache")
	a := filepath.Join(dir, "a.png")
	os.WriteFile(a, pngBytes("before"), 0o644)
	edits := 0
	sc := loadLater(cachePath)
	sc.afterRead = func(path string) {
		if path == a && edits == 0 {
			edits++
			os.WriteFile(a, pngBytes("after the edit, longer"), 0o644)
		}
	}
	got := sc.Hash([]string{a})[0]
	want := HashFiles([]string{a})[0]
	if got.Err() != nil || got.SHA256() != want.SHA256() || got.Size() != want.Size() {
		t.Fatalf("edited during hashing: got %+v, want the new content %+v", got, want)
	}
	sc.Save(cachePath)
	ageCache(t, cachePath)
	sc = loadLater(cachePath)
	if got := sc.Hash([]string{a})[0]; sc.Hits != 1 || got.SHA256() != want.SHA256() {
		t.Fatalf("next plan: hits %d, sha256 %s, want the new content", sc.Hits, got.SHA256())
	}

	// A file that keeps changing while it is read is refused, not cached.
	sc = newLater()
	sc.afterRead = func(path string) { os.WriteFile(a, pngBytes(time.Now().String()), 0o644) }
	if got := sc.Hash([]string{a})[0]; got.Err() == nil {
		t.Fatalf("a file changing on every read hashed as %s", got.SHA256())
	}
}

// TestStatCacheSettle checks that a file changed just before it was hashed
// is hashed again next time: a same-size rewrite in the same clock tick
// would otherwise keep every time the cache compares.
func TestStatCacheSettle(t *testing.T) {
	dir := t.TempDir()
	cachePath := filepath.Join(dir, "statcache")
	a := filepath.Join(dir, "a.png")
	os.WriteFile(a, pngBytes("original"), 0o644)
	sc := LoadStatCache(cachePath)
	sc.Hash([]string{a})
	sc.Save(cachePath)
	ageCache(t, cachePath)
	sc = LoadStatCache(cachePath)
	sc.Hash([]string{a})
	if sc.Hits != 0 {
		t.Fatal("a file written just before hashing was trusted")
	}
	sc = loadLater(cachePath)
	sc.Hash([]string{a})
	sc.Save(cachePath)
	ageCache(t, cachePath)
	sc = loadLater(cachePath)
	sc.Hash([]string{a})
	if sc.Hits != 1 {
		t.Fatal("a settled file was not trusted")
	}
}

// TestStatCacheSaveUnchanged checks that a cache whose every lookup hit is
// not rewritten, and that a truncated or altered cache is ignored.
func TestStatCacheSaveUnchanged(t *testing.T) {
	dir := t.TempDir()
	cachePath := filepath.Join(dir, "statcache")
	var paths []string
	for i := range 50 {
		p := filepath.Join(dir, fmt.Sprintf("f%d.png", i))
		os.WriteFile(p, pngBytes(p), 0o644)
		paths = append(paths, p)
	}
	sc := loadLater(cachePath)
	sc.Hash(paths)
	must(t, sc.Save(cachePath))
	ageCache(t, cachePath)
	before, _ := os.Stat(cachePath)
	sc = loadLater(cachePath)
	sc.Hash(paths)
	must(t, sc.Save(cachePath))
	if after, _ := os.Stat(cachePath); sc.Hits != 50 || !after.ModTime().Equal(before.ModTime()) {
		t.Fatalf("hits %d; unchanged cache rewritten: %v", sc.Hits, after.ModTime())
	}
	// Fewer files: rewritten without the dropped ones.
	sc = loadLater(cachePath)
	sc.Hash(paths[:10])
	must(t, sc.Save(cachePath))
	ageCache(t, cachePath)
	if sc = loadLater(cachePath); sc.loaded.len() != 10 {
		t.Fatalf("%d entries after dropping 40 of 50", sc.loaded.len())
	}
	data, _ := os.ReadFile(cachePath)
	for _, bad := range [][]byte{data[:len(data)-1], append(bytes.Clone(data[:40]), data[41:]...)} {
		data2 := bytes.Clone(bad)
		os.WriteFile(cachePath, data2, 0o600)
		if sc := loadLater(cachePath); sc.loaded.len() != 0 {
			t.Fatal("a damaged cache was read")
		}
	}
	flipped := bytes.Clone(data)
	flipped[60] ^= 1
	os.WriteFile(cachePath, flipped, 0o600)
	if sc := loadLater(cachePath); sc.loaded.len() != 0 {
		t.Fatal("a cache with a flipped bit was read")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestDirStatMatchesStatFile stats files through one dirStat, in an order
// that moves between directories, and requires what statFile gives.
func TestDirStatMatchesStatFile(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	os.WriteFile(filepath.Join(dir, "a.png"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(sub, "b.png"), []byte("bb"), 0o644)
	os.Symlink("a.png", filepath.Join(dir, "link.png"))
	os.Symlink("missing.png", filepath.Join(dir, "dangling.png"))
	paths := []string{
		filepath.Join(dir, "a.png"), filepath.Join(dir, "link.png"), filepath.Join(sub, "b.png"),
		filepath.Join(dir, "a.png"), filepath.Join(dir, "sub"), filepath.Join(dir, "dangling.png"),
		filepath.Join(dir, "missing.png"), filepath.Join(dir, "nodir", "x.png"), filepath.Join(sub, "b.png"),
		filepath.Join(sub, ".."), dir + "/", "relative.png", "",
	}
	var d dirStat
	defer d.close()
	for _, p := range paths {
		got, gotOK := d.stat(p)
		want, wantOK := statFile(p)
		if got != want || gotOK != wantOK {
			t.Errorf("%q: dirStat %+v %v, statFile %+v %v", p, got, gotOK, want, wantOK)
		}
	}
}

// A loaded cache (read in place, mapped on Linux) and the results it gave
// keep their content when the file is replaced, as Save does, or removed.
func TestLoadedStatCacheOutlivesItsFile(t *testing.T) {
	dir := t.TempDir()
	cachePath := filepath.Join(dir, "statcache")
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	var paths []string
	for i := range 20 {
		p := filepath.Join(dir, fmt.Sprintf("f%02d.png", i))
		os.WriteFile(p, pngBytes(p), 0o644)
		os.Chtimes(p, old, old)
		paths = append(paths, p)
	}
	sc := newLater()
	first := sc.Hash(paths)
	if err := sc.Save(cachePath); err != nil {
		t.Fatal(err)
	}
	ageCache(t, cachePath)
	sc = loadLater(cachePath)
	// Truncated in place, as a hand or another tool may do while a plan
	// runs: the loaded entries must not be read from the file any more.
	if err := os.Truncate(cachePath, 0); err != nil {
		t.Fatal(err)
	}
	got := sc.Hash(paths)
	if sc.Hits != len(paths) {
		t.Fatalf("%d hits of %d", sc.Hits, len(paths))
	}
	// Another cache, of other files, saved over it; then none.
	other := newLater()
	other.Hash(paths[:2])
	if err := other.Save(cachePath); err != nil {
		t.Fatal(err)
	}
	os.Remove(cachePath)
	for i := range paths {
		if got[i].SHA256() != first[i].SHA256() || got[i].SHA256() == "" || got[i].Size() != first[i].Size() {
			t.Fatalf("%s: %q %d after the file was replaced, want %q %d", paths[i], got[i].SHA256(), got[i].Size(), first[i].SHA256(), first[i].Size())
		}
	}
	again := sc.Hash(paths)
	for i := range paths {
		if again[i].SHA256() != first[i].SHA256() {
			t.Fatalf("%s: %q from the loaded cache after its file was replaced", paths[i], again[i].SHA256())
		}
	}
}
