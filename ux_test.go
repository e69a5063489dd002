package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wxmedia/wxmedia/plan"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenDir is absolute: tests change directory.
var goldenDir, _ = filepath.Abs(filepath.Join("testdata", "golden"))

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(goldenDir, name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -run %s -update rewrites it)\n--- got:\n%s\n--- want:\n%s", path, t.Name(), got, want)
	}
}

// runIn runs wxmedia with args in dir, without a terminal.
func runIn(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	t.Chdir(dir)
	t.Setenv("NO_COLOR", "")
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const badConfig = `merchant "demo" {
  mchid   = "1900000002"
  sandbox = true
}

resource "wechatpay_image" "logo" {
  source = "logo.png"
  colour = "red"
}

resource "wechatpay_image" "banner" {
  source = wechatpay_image.nothing.media_id
}

output "x" {
  value = "naïve ${var.missing}"
}
`

// TestGoldenDiagnostics renders configuration errors without and with
// colour: file, line, snippet, the caret line with file:line:column.
func TestGoldenDiagnostics(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"bad.wxm.hcl": badConfig})
	_, stderr, code := runIn(t, dir, "validate")
	if code != 1 {
		t.Fatalf("validate exit status %d, want 1", code)
	}
	golden(t, "diagnostics.txt", []byte(stderr))

	var colourful bytes.Buffer
	u := newUI(nil, &bytes.Buffer{}, &colourful, true, environment{})
	u.ErrColor = true
	if _, err := loadWorkspace(u, nil); err == nil {
		t.Fatal("the bad configuration loaded")
	}
	if !strings.Contains(colourful.String(), "\x1b[31m") {
		t.Error("no colour in the coloured diagnostics")
	}
	golden(t, "diagnostics_color.txt", colourful.Bytes())
}

// TestGoldenPlan renders the quickstart's first plan, plain and coloured.
func TestGoldenPlan(t *testing.T) {
	dir := t.TempDir()
	if err := copyDir("examples/quickstart", dir); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runIn(t, dir, "plan", "-out=first.plan")
	if code != 0 {
		t.Fatalf("plan exit status %d: %s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("plan wrote to stderr: %q", stderr)
	}
	golden(t, "plan.txt", []byte(stdout))

	p, err := plan.Open("first.plan")
	if err != nil {
		t.Fatal(err)
	}
	var colourful bytes.Buffer
	plan.Render(&colourful, p, plan.NewStyles(true))
	for _, want := range []string{"\x1b[32m+", "\x1b[1mPlan:"} {
		if !strings.Contains(colourful.String(), want) {
			t.Errorf("coloured plan lacks %q", want)
		}
	}
	golden(t, "plan_color.txt", colourful.Bytes())
}

// TestHelpEveryCommand checks each command's -h: the usage line, every
// flag of the command line contract, examples and exit statuses.
func TestHelpEveryCommand(t *testing.T) {
	lockT := []string{"-lock-timeout"}
	planFlags := []string{"-out=FILE", "-json", "-markdown", "-detailed-exitcode", "-target=ADDR", "-replace=ADDR", "-var=NAME=VALUE", "-var-file=FILE", "-lock-timeout=DURATION", "-refresh-hashes"}
	cases := map[string][]string{
		"validate":         {"-var=NAME=VALUE", "-var-file=FILE"},
		"fmt":              {"-check", "-diff", "-recursive"},
		"plan":             planFlags,
		"apply":            append([]string{"-auto-approve", "-input", "-parallelism=N"}, planFlags[4:]...),
		"show":             {"-json", "-markdown"},
		"output":           {"-json", "-raw"},
		"import":           lockT,
		"force-unlock":     nil,
		"sandbox":          {"-listen=ADDR", "-dir=DIR", "-faults=SPEC"},
		"version":          nil,
		"state list":       lockT,
		"state show":       lockT,
		"state rm":         lockT,
		"state mv":         lockT,
		"state pull":       lockT,
		"state push":       {"-force", "-lock-timeout"},
		"state cache list": {"-mchid=ID", "-api=API", "-service=SERVICE", "-json"},
		"state cache rm":   {"-all", "-mchid=ID", "-api=API"},
	}
	for name, flags := range cases {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			if c, ok := lookupCommand(name); !ok || c.usage == "" {
				t.Fatalf("main.go has no command %s with help", name)
			}
			var out, errb bytes.Buffer
			code := run(append(strings.Fields(name), "-h"), strings.NewReader(""), &out, &errb)
			if code != 0 || errb.Len() > 0 {
				t.Fatalf("%s -h: exit status %d, stderr %q", name, code, errb.String())
			}
			help := out.String()
			var viaHelp bytes.Buffer
			run(append([]string{"help"}, strings.Fields(name)...), strings.NewReader(""), &viaHelp, &errb)
			if viaHelp.String() != help {
				t.Errorf("wxmedia help %s differs from %s -h", name, name)
			}
			if !strings.HasPrefix(help, "Usage: wxmedia [global options] "+name) {
				t.Errorf("usage line: %q", strings.SplitN(help, "\n", 2)[0])
			}
			for _, f := range append(flags, "-no-color") {
				if !strings.Contains(help, "\n  "+f) {
					t.Errorf("flag %s not listed:\n%s", f, help)
				}
			}
			for _, section := range []string{"\nOptions:\n", "\nExamples:\n  wxmedia ", "\nExit status:\n  0  "} {
				if !strings.Contains(help, section) {
					t.Errorf("no %q section:\n%s", strings.TrimSpace(section), help)
				}
			}
		})
	}
	for _, c := range commands() {
		if (c.usage == "" || len(c.exit) == 0) && c.name != "help" {
			t.Errorf("command %s has no help", c.name)
		}
	}
}

// TestHints checks that hints attached to errors are printed on their own
// lines, after the message, and that messages hold no hint.
func TestHints(t *testing.T) {
	var errb bytes.Buffer
	u := newUI(nil, &bytes.Buffer{}, &errb, true, environment{})
	err := withHints(withHints(os.ErrNotExist, "inner"), "outer", "second")
	if code := exitCode(u, err); code != 1 {
		t.Fatalf("exit status %d", code)
	}
	want := "wxmedia: file does not exist\nwxmedia: hint: outer\nwxmedia: hint: second\nwxmedia: hint: inner\n"
	if errb.String() != want {
		t.Errorf("got %q, want %q", errb.String(), want)
	}
}
