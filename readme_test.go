package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wxmedia/wxmedia/internal/arguments"
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

// TestReadmeTestCommand: the test command the README gives is the one CI
// runs, with the variable CI sets that the README names.
func TestReadmeTestCommand(t *testing.T) {
	readme, ci := readDoc(t, "README.md"), readDoc(t, ".ci/run")
	i := strings.Index(readme, "## Development")
	if i < 0 {
		t.Fatal("README.md has no Development section")
	}
	dev := readme[i:]
	for _, cmd := range []string{"go vet ./...", "go test ./..."} {
		if !strings.Contains(dev, "\n"+cmd+"\n") {
			t.Errorf("README.md's Development section does not give %q", cmd)
		}
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(cmd) + `$`).MatchString(ci) {
			t.Errorf(".ci/run does not run %q as the README says", cmd)
		}
	}
	for _, v := range []string{"WXMEDIA_SLOW_TESTS=1"} {
		if !strings.Contains(ci, "export "+v) {
			t.Errorf(".ci/run does not export %s", v)
		}
		if !strings.Contains(dev, v) {
			t.Errorf("README.md's Development section does not name %s, which CI sets", v)
		}
	}
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

// TestFlagsDocumented: every flag of every command (but -no-color, which
// every command takes) is named in the reference or the pages its commands
// table links, as the README promises.
func TestFlagsDocumented(t *testing.T) {
	var docs strings.Builder
	for _, d := range []string{"docs/reference.md", "docs/state.md", "docs/sandbox.md"} {
		docs.WriteString(readDoc(t, d))
	}
	text := docs.String()
	opt := regexp.MustCompile(`(?m)^  (-[a-z0-9-]+)`)
	for _, c := range commands() {
		if !arguments.HasOptions(c.name) {
			continue
		}
		var b strings.Builder
		arguments.WriteOptions(&b, c.name)
		flags := opt.FindAllStringSubmatch(b.String(), -1)
		if len(flags) == 0 {
			t.Errorf("%s: no flags found in its options", c.name)
		}
		for _, m := range flags {
			if m[1] == "-no-color" {
				continue
			}
			if !regexp.MustCompile("[`\\[ (]" + regexp.QuoteMeta(m[1]) + `\b`).MatchString(text) {
				t.Errorf("wxmedia %s %s: not named in docs/reference.md, state.md or sandbox.md", c.name, m[1])
			}
		}
	}
}
