package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wxmedia/wxmedia/uploader"
)

// The README's and docs' statements that can be checked mechanically.

func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReadmeGoVersion: the Go version the README asks for is go.mod's.
func TestReadmeGoVersion(t *testing.T) {
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(readDoc(t, "go.mod"))
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	if !strings.Contains(readDoc(t, "README.md"), "Go "+m[1]+" or newer") {
		t.Errorf("README.md does not say %q", "Go "+m[1]+" or newer")
	}
}

// TestReadmeLinks: every relative link of the README and docs/ names a file
// that exists and, with a #fragment, a heading of that file.
func TestReadmeLinks(t *testing.T) {
	docs, _ := filepath.Glob("docs/*.md")
	link := regexp.MustCompile(`\]\(([^)#:]*)(#[^)]*)?\)`)
	for _, doc := range append([]string{"README.md"}, docs...) {
		for _, m := range link.FindAllStringSubmatch(readDoc(t, doc), -1) {
			target := doc
			if m[1] != "" {
				target = filepath.Join(filepath.Dir(doc), m[1])
			}
			fi, err := os.Stat(target)
			if err != nil {
				t.Errorf("%s: link %s%s: %v", doc, m[1], m[2], err)
				continue
			}
			if m[2] == "" || fi.IsDir() {
				continue
			}
			if !hasAnchor(readDoc(t, target), m[2][1:]) {
				t.Errorf("%s: link %s%s: no such heading in %s", doc, m[1], m[2], target)
			}
		}
	}
}

// hasAnchor reports whether a Markdown heading of text has GitHub's anchor
// name: lowercase, spaces as hyphens, punctuation dropped.
func hasAnchor(text, anchor string) bool {
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		var b strings.Builder
		for _, r := range h {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
				b.WriteRune(r)
			}
		}
		if b.String() == anchor {
			return true
		}
	}
	return false
}

// TestDocsAPIValues: the reference lists every value -api accepts.
func TestDocsAPIValues(t *testing.T) {
	ref := readDoc(t, "docs/reference.md")
	for _, s := range uploader.Specs() {
		if !strings.Contains(ref, "`"+string(s.API)+"`") {
			t.Errorf("docs/reference.md does not list -api value %s", s.API)
		}
	}
}

// TestStaticBinary: built as the README says, with CGO_ENABLED=0, wxmedia
// is a static executable: no program interpreter, no shared libraries.
func TestStaticBinary(t *testing.T) {
	slowTests(t)
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	bin := filepath.Join(t.TempDir(), "wxmedia")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Skipf("not an ELF platform: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary has a %v program header: it is not static", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}
}
