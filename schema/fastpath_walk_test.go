package schema

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/zclconf/go-cty/cty"
)

// TestWalkSimpleGlobMatchesDoublestar compares the parallel walk with
// doublestar over many patterns and random trees holding hidden files,
// names with glob characters, symbolic links to files and directories,
// dangling links, links closing cycles and a named pipe.
func TestWalkSimpleGlobMatchesDoublestar(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links")
	}
	var patterns []string
	lasts := []string{"*", "*.png", "?.png", "*.{png,jpg}", "{a,b}.*", "a*", "*}*", "c,d.png", "x*", ".*",
		"*.p?g", "{a}.png", "*{png,x}", "a.png", "*.PNG", "{d0,d1}", "*,*", "}", "a}b", "*x*y*"}
	for _, prefix := range []string{"", "d0", "d0/d1", "d}", "s*", "nope", "a.png", "ln-dir", "dangling", "self", "d0/back",
		"d0/back/d0", "self/self", "ln-dir/sub/loop"} {
		for _, deep := range []bool{false, true} {
			for _, last := range lasts {
				p := last
				if deep {
					p = "**/" + p
				}
				if prefix != "" {
					p = prefix + "/" + p
				}
				patterns = append(patterns, p)
			}
		}
	}
	names := []string{"a.png", "b.jpg", ".h.png", "x*y.png", "a}b", "c,d.png", "{e}.png", "sp ace.png", "ü.png",
		"\xff.png", "a\\b.png", "z.PNG", "q", "d0", "d1"}
	dirs := []string{"d0", "d1", "d}", "x{", "s*", ".hd", "e,f"}
	for seed := range 4 {
		root := t.TempDir()
		rng := rand.New(rand.NewSource(int64(seed)))
		var mk func(dir string, depth int)
		mk = func(dir string, depth int) {
			for _, n := range names {
				if rng.Intn(3) > 0 {
					if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			if depth >= 3 {
				return
			}
			for _, d := range dirs {
				if _, err := os.Lstat(filepath.Join(dir, d)); err == nil || rng.Intn(2) == 0 {
					continue
				}
				if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
					t.Fatal(err)
				}
				mk(filepath.Join(dir, d), depth+1)
			}
		}
		mk(root, 0)
		os.MkdirAll(filepath.Join(root, "target", "sub"), 0o755)
		os.WriteFile(filepath.Join(root, "target", "t.png"), nil, 0o644)
		os.WriteFile(filepath.Join(root, "target", "sub", "u.png"), nil, 0o644)
		// Links that close cycles: to the root, to a directory above, to
		// the directory itself.
		for _, l := range [][2]string{{"target", "ln-dir"}, {"target/t.png", "ln-file.png"}, {"missing", "dangling"},
			{"missing", "dangling.png"}, {"../target", "d0/up"}, {"", "d0/back"}, {"d0", "d0/d1/again"},
			{"", "self"}, {"target", "target/sub/loop"}, {"d0/d1", "d0/d1/d0/here"}} {
			os.Symlink(filepath.Join(root, l[0]), filepath.Join(root, l[1]))
		}
		if err := mkfifo(filepath.Join(root, "pipe.png")); err != nil {
			t.Fatal(err)
		}
		for _, p := range patterns {
			g, ok := parseSimpleGlob(p)
			if !ok {
				if slices.Contains([]string{"*}*", "}", "a}b", "*{png,x}"}, filepath.Base(p)) || p[0] == 'd' && p[1] == '}' || p[0] == 's' && p[1] == '*' {
					continue
				}
				t.Fatalf("%q: not a simple pattern", p)
			}
			got := flatten(walkSimpleGlob(root, g))
			want, err := doublestar.Glob(newAcyclicFS(root), p, doublestar.WithFilesOnly())
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("seed %d, %q:\n got %q\nwant %q", seed, p, got, want)
			}
		}
	}
}

func TestParseSimpleGlobRefuses(t *testing.T) {
	for _, p := range []string{"**", "a/**", "**/**/*.png", "*/x.png", "a/*/b.png", "[ab].png", "\\*.png", "a//b.png",
		"./a.png", "../a.png", "{a,{b,c}}.png", "{a,}.png", "{}.png", "{,a}.png", "{a.png", "a}.png", "{*,a}*",
		"a{b,c}/x.png", "", "a/"} {
		if g, ok := parseSimpleGlob(p); ok {
			t.Errorf("%q: parsed as %+v", p, g)
		}
	}
	for _, p := range []string{"*.png", "**/*.png", "a/b/**/*.{png,jpg}", "img/?.png", "x"} {
		if _, ok := parseSimpleGlob(p); !ok {
			t.Errorf("%q: refused", p)
		}
	}
}

// TestMatchNameMatchesDoublestar compares the name test of the walk with
// doublestar.Match.
func TestMatchNameMatchesDoublestar(t *testing.T) {
	patterns := []string{"*", "*.png", "*.PNG", "*png", "*.", "**", "*.p*g", "*.{png,jpg}", "*[a].png", "*\\*.png", "a*", "*.png.bak", "?.png"}
	names := []string{"a.png", ".png", ".h.png", "png", "a.PNG", "\xff.png", "ü.png", "a.png.bak", "*.png", "a", "[a].png", "x*y.png", "a.jpg"}
	for _, p := range patterns {
		for _, n := range names {
			want, _ := doublestar.Match(p, n)
			if got := matchName(p, n); got != want {
				t.Errorf("matchName(%q, %q) = %v, doublestar %v", p, n, got, want)
			}
		}
	}
}

// TestFilesetCycles: directory links that point back up list each real
// file once per path, in both walkers, instead of 41 to 123 bogus
// instances (one link) or 30 s and 440 MB (two links).
func TestFilesetCycles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links")
	}
	base := t.TempDir()
	media := filepath.Join(base, "media")
	for _, d := range []string{"sub", "other"} {
		if err := os.MkdirAll(filepath.Join(media, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"x.png", "sub/y.png", "other/z.png"} {
		if err := os.WriteFile(filepath.Join(media, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range [][2]string{{"..", "sub/up"}, {"..", "sub/up2"}, {".", "other/here"}, {"../other", "sub/side"}} {
		if err := os.Symlink(l[0], filepath.Join(media, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string][]string{
		"**/*.png":       {"other/z.png", "sub/side/z.png", "sub/y.png", "x.png"},
		"sub/**/*.png":   {"sub/side/z.png", "sub/y.png"},
		"sub/up/*.png":   nil,
		"sub/side/*.png": {"sub/side/z.png"},
		"**/{x,y,z}.png": {"other/z.png", "sub/side/z.png", "sub/y.png", "x.png"},
		"*/*/*.png":      {"sub/side/z.png"},
		"sub/up/x.png":   nil,
		"**/up/**/*.png": nil,
		"other/**/*.png": {"other/z.png"},
	}
	for _, fast := range []bool{true, false} {
		for pattern, w := range want {
			start := time.Now()
			got, err := filesetMatches(base, "media", pattern, fast)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			if !slices.Equal(got, w) {
				t.Errorf("fast %v, %q: got %q, want %q", fast, pattern, got, w)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("fast %v, %q: took %v", fast, pattern, d)
			}
		}
	}
}

// TestSortedKeys compares sortedKeys with the plain way of making a
// fileset's keys (normalise, sort, drop repeats) over runs of every
// shape: sorted or not, in order or interleaved, empty, with names that
// normalise to another's; and checks that keyList.at, keyList.each and
// nameRun.at read them all.
func TestSortedKeys(t *testing.T) {
	names := []string{"a", "b", "b/c", "b/d", "b0", "c", "ü", "u\u0308", "z", "a/b", "a.b", "a-b"}
	rng := rand.New(rand.NewSource(1))
	for range 2000 {
		var runs [][]string
		var all []string
		for range rng.Intn(4) {
			var r []string
			for range rng.Intn(5) {
				n := names[rng.Intn(len(names))]
				if !slices.Contains(all, n) {
					r = append(r, n)
					all = append(all, n)
				}
			}
			if rng.Intn(2) == 0 {
				slices.Sort(r)
			}
			runs = append(runs, r)
		}
		if rng.Intn(2) == 0 {
			slices.SortFunc(runs, func(a, b []string) int {
				if len(a) == 0 || len(b) == 0 {
					return len(a) - len(b)
				}
				return strings.Compare(a[0], b[0])
			})
		}
		var want []string
		for _, n := range all {
			want = append(want, cty.NormalizeString(n))
		}
		slices.Sort(want)
		want = slices.Compact(want)
		given := fmt.Sprint(runs)
		var nr []nameRun
		for _, r := range runs {
			nr = append(nr, newNameRuns(r)...)
		}
		l := sortedKeys(nr)
		var got []string
		for i := range l.len() {
			got = append(got, l.at(i))
		}
		var each []string
		lo := rng.Intn(len(want) + 1)
		l.each(lo, len(want), func(i int, k string) {
			if i != lo+len(each) {
				t.Fatalf("each: key %d after %d", i, lo+len(each)-1)
			}
			each = append(each, k)
		})
		if !slices.Equal(got, want) || !slices.Equal(l.strings(), want) || !slices.Equal(each, want[lo:]) {
			t.Fatalf("runs %s: keys %q, want %q", given, got, want)
		}
	}
}
