package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/wxmedia/wxmedia/internal/arguments"
	"github.com/wxmedia/wxmedia/internal/safefile"
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
		found, err := fmtFiles(p, a.Recursive)
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
		if d := schema.CheckText(src, name); d.HasErrors() {
			diags = append(diags, d...)
			continue
		}
		file, d := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
		parsed[name] = file
		if d.HasErrors() {
			diags = append(diags, d...)
			continue
		}
		out := hclwrite.Format(src)
		if bytes.Equal(src, out) {
			continue
		}
		unformatted++
		if a.List {
			u.printf("%s\n", filepath.ToSlash(name))
		}
		if a.Diff {
			u.printf("%s", unifiedDiff(filepath.ToSlash(name), string(src), string(out)))
		}
		if a.Write && !a.Check {
			fi, err := os.Stat(name)
			if err != nil {
				return err
			}
			if err := os.WriteFile(name, out, fi.Mode().Perm()); err != nil {
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

// fmtFiles lists the files fmt processes in dir, sorted; with recursive,
// those of its subdirectories too, hidden ones (.wxmedia, .git) excepted.
func fmtFiles(dir string, recursive bool) ([]string, error) {
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
		if !strings.HasPrefix(n, ".") && (strings.HasSuffix(n, schema.ConfigSuffix) || strings.HasSuffix(n, schema.VarsSuffix)) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, unwrapPath(err))
	}
	sort.Strings(out)
	return out, nil
}

// unifiedDiff renders the change from a to b as a unified diff with three
// lines of context.
func unifiedDiff(name, a, b string) string {
	x, y := splitLines(a), splitLines(b)
	ops := diffLines(x, y)
	var buf strings.Builder
	fmt.Fprintf(&buf, "--- old/%s\n+++ new/%s\n", name, name)
	const ctx = 3
	// Group the edit script into hunks.
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		start := max(i-ctx, 0)
		end := i
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*ctx {
				end = min(end+ctx, len(ops))
				break
			}
			end = run
		}
		ax, ay := ops[start].ai, ops[start].bi
		var na, nb int
		for _, op := range ops[start:end] {
			if op.kind != '+' {
				na++
			}
			if op.kind != '-' {
				nb++
			}
		}
		fmt.Fprintf(&buf, "@@ -%d,%d +%d,%d @@\n", ax+1, na, ay+1, nb)
		for _, op := range ops[start:end] {
			buf.WriteByte(op.kind)
			buf.WriteString(op.line)
			if !strings.HasSuffix(op.line, "\n") {
				buf.WriteString("\n\\ No newline at end of file\n")
			}
		}
		i = end
	}
	return buf.String()
}

type diffOp struct {
	kind   byte // ' ', '-' or '+'
	line   string
	ai, bi int // line indexes in a and b where this op stands
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// diffLines is a longest-common-subsequence line diff. Configuration files
// are small; for very large ones it degrades to replacing every line.
func diffLines(a, b []string) []diffOp {
	var ops []diffOp
	if len(a)*len(b) > 16<<20 {
		for i, l := range a {
			ops = append(ops, diffOp{'-', l, i, 0})
		}
		for j, l := range b {
			ops = append(ops, diffOp{'+', l, len(a), j})
		}
		return ops
	}
	n, m := len(a), len(b)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			ops = append(ops, diffOp{' ', a[i], i, j})
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, diffOp{'-', a[i], i, j})
			i++
		default:
			ops = append(ops, diffOp{'+', b[j], i, j})
			j++
		}
	}
	return ops
}
