package schema

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFormat(t *testing.T) {
	out, file, diags := Format([]byte("a=1\nbb = \"x\"\n"), "main.wxm.hcl")
	if diags.HasErrors() || file == nil || string(out) != "a  = 1\nbb = \"x\"\n" {
		t.Errorf("Format = %q, %v", out, diags)
	}
	if out, file, diags := Format([]byte("a = {\n"), "bad.wxm.hcl"); !diags.HasErrors() || out != nil || file == nil {
		t.Errorf("unparsable: %q, %v", out, diags)
	}
	deep := "a = " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "\n"
	if out, file, diags := Format([]byte(deep), "deep.wxm.hcl"); !diags.HasErrors() || out != nil || file != nil {
		t.Errorf("nesting bomb: %d bytes out, %v", len(out), diags)
	}
}

func TestFormatFiles(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"b.wxm.hcl", "a.wxmvars.hcl", "x.hcl", ".hidden.wxm.hcl", "sub/c.wxm.hcl", ".git/d.wxm.hcl"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), nil, 0o644)
	}
	rel := func(ps []string) string {
		for i, p := range ps {
			ps[i], _ = filepath.Rel(dir, p)
		}
		return strings.Join(ps, " ")
	}
	got, err := FormatFiles(dir, false)
	if err != nil || rel(got) != "a"+VarsSuffix+" b.wxm.hcl" {
		t.Errorf("FormatFiles = %v, %v", got, err)
	}
	got, err = FormatFiles(dir, true)
	if err != nil || rel(got) != "a"+VarsSuffix+" b.wxm.hcl sub/c.wxm.hcl" {
		t.Errorf("recursive FormatFiles = %v, %v", got, err)
	}
	if _, err := FormatFiles(filepath.Join(dir, "missing"), false); err == nil || !strings.HasPrefix(err.Error(), "list ") {
		t.Errorf("missing directory: %v", err)
	}
}
