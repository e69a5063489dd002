package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/rogpeppe/go-internal/diff"

	"github.com/wxmedia/wxmedia/internal/arguments"
	"github.com/wxmedia/wxmedia/internal/atomicfile"
	"github.com/wxmedia/wxmedia/internal/safefile"
	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/schema"
)

// fmtCheckExit is the exit status of fmt -check when a file is not in
// canonical format: 3, as terraform fmt -check.
const fmtCheckExit = 3

func runFmt(u *ui, a *arguments.Fmt) error {
	var files []string
	for _, p := range a.Paths {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("no file or directory %s: %w", p, unwrapPath(err))
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		found, err := schema.FormatFiles(p, a.Recursive)
		if err != nil {
			return err
		}
		files = append(files, found...)
	}
	var diags hcl.Diagnostics
	parsed := map[string]*hcl.File{}
	unformatted := 0
	for _, name := range files {
		src, err := safefile.ReadFile(name, schema.MaxConfigSize)
		if err != nil {
			return fmt.Errorf("read %s: %w", name, unwrapPath(err))
		}
		out, file, d := schema.Format(src, name)
		if file != nil {
			parsed[name] = file
		}
		if d.HasErrors() {
			diags = append(diags, d...)
			continue
		}
		if bytes.Equal(src, out) {
			continue
		}
		unformatted++
		// File names and configuration text come from outside: their
		// control and format characters are shown as escapes.
		if a.List {
			u.printf("%s\n", plan.Visible(filepath.ToSlash(name)))
		}
		if a.Diff {
			name := filepath.ToSlash(name)
			u.printf("%s", plan.VisibleLines(string(diff.Diff("old/"+name, src, "new/"+name, out))))
		}
		if a.Write && !a.Check {
			// Replaced whole and synced: a crash during fmt leaves the
			// old file or the new one, never a half-written configuration.
			// A symbolic link stays one: the file it names is replaced.
			target, err := filepath.EvalSymlinks(name)
			if err != nil {
				return fmt.Errorf("write %s: %w", name, unwrapPath(err))
			}
			fi, err := os.Stat(target)
			if err != nil {
				return err
			}
			if err := atomicfile.WriteBytes(target, out, fi.Mode().Perm(), atomicfile.Durable); err != nil {
				return fmt.Errorf("write %s: %w", name, unwrapPath(err))
			}
		}
	}
	if diags.HasErrors() {
		u.diagnostics(parsed, diags)
		return errReported
	}
	if a.Check && unformatted > 0 {
		return exitError{fmtCheckExit}
	}
	return nil
}
