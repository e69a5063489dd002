package schema

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// FormatFiles lists the configuration (ConfigSuffix) and variables
// (VarsSuffix) files in dir that fmt formats, sorted; with recursive, those
// of its subdirectories too, hidden ones (.wxmedia, .git) excepted. Hidden
// files are never listed. An error names dir.
func FormatFiles(dir string, recursive bool) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && (!recursive || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		n := d.Name()
		if !strings.HasPrefix(n, ".") && (strings.HasSuffix(n, ConfigSuffix) || strings.HasSuffix(n, VarsSuffix)) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	sort.Strings(out)
	return out, nil
}

// Format returns src, the bytes of the file name, in canonical format
// (hclwrite's), after checking that it is text (CheckText) that HCL
// parses. With error diagnostics, out is nil; file is what was parsed, nil
// when the text check failed, for the diagnostics' source snippets.
func Format(src []byte, name string) (out []byte, file *hcl.File, diags hcl.Diagnostics) {
	if d := CheckText(src, name); d.HasErrors() {
		return nil, nil, d
	}
	file, diags = hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, file, diags
	}
	return hclwrite.Format(src), file, diags
}
