package terminal

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/fatih/color"
	"github.com/hashicorp/hcl/v2"
	"golang.org/x/term"
)

// Diagnostics renders HCL diagnostics as Terraform does, with HCL's
// diagnostic writer: "Error: summary", the file and line, the source
// snippet with the range highlighted (on a terminal) and the detail. Under
// the snippet, carets mark the range and name it as file:line:column, the
// form editors and terminals open. A diagnostic that reads exactly as one
// already shown (a mistake in a module's text, found once per instance of
// the module) is shown once.
func (t *Terminal) Diagnostics(files map[string]*hcl.File, diags hcl.Diagnostics) {
	if len(diags) == 0 {
		return
	}
	defer t.hideProgress()()
	width := 100
	if f, ok := t.Stderr.(*os.File); ok && t.ErrTerminal {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 40 {
			width = w
		}
	}
	var buf bytes.Buffer
	files = safeSources(files)
	w := hcl.NewDiagnosticTextWriter(&buf, files, uint(width), t.ErrColor)
	shown := map[string]bool{}
	for _, d := range diags {
		d = safeDiagnostic(d)
		buf.Reset()
		if err := w.WriteDiagnostic(d); err != nil {
			continue
		}
		text := t.scrub(string(markRange(buf.Bytes(), files, d, t.ErrColor)))
		if shown[text] {
			continue
		}
		shown[text] = true
		t.Stderr.Write([]byte(text))
	}
}

// safeDiagnostic is d made fit for the terminal: its summary and detail
// with control characters shown as escapes, and without the values of
// the expression's references ("with local.k as …") when any of them is
// sensitive or a credential, even inside a collection (HCL's writer skips
// only values marked as a whole).
func safeDiagnostic(d *hcl.Diagnostic) *hcl.Diagnostic {
	c := *d
	c.Summary, c.Detail = visible(c.Summary, false), visible(c.Detail, true)
	// A configuration file's name comes from outside: HCL's writer prints
	// it in "on FILE line N", where a newline would start a line of its own.
	for _, r := range []**hcl.Range{&c.Subject, &c.Context} {
		if *r != nil {
			if v := visible((*r).Filename, false); v != (*r).Filename {
				e := **r
				e.Filename = v
				*r = &e
			}
		}
	}
	if c.Expression != nil && c.EvalContext != nil {
		for _, tr := range c.Expression.Variables() {
			if v, diags := tr.TraverseAbs(c.EvalContext); !diags.HasErrors() && v.ContainsMarked() {
				c.Expression, c.EvalContext = nil, nil
				break
			}
		}
	}
	return &c
}

// markRange adds the caret line under the first snippet line of a
// rendered diagnostic.
func markRange(text []byte, files map[string]*hcl.File, d *hcl.Diagnostic, colour bool) []byte {
	if d.Subject == nil {
		return text
	}
	f := files[d.Subject.Filename]
	if f == nil || f.Bytes == nil {
		return text
	}
	r := *d.Subject
	src := f.Bytes
	if r.Start.Byte < 0 || r.Start.Byte > len(src) {
		return text
	}
	lineStart := bytes.LastIndexByte(src[:r.Start.Byte], '\n') + 1
	lineEnd := len(src)
	if i := bytes.IndexByte(src[r.Start.Byte:], '\n'); i >= 0 {
		lineEnd = r.Start.Byte + i
	}
	var pad strings.Builder
	for _, c := range string(src[lineStart:r.Start.Byte]) {
		if c == '\t' {
			pad.WriteByte('\t')
		} else {
			pad.WriteByte(' ')
		}
	}
	n := utf8.RuneCount(src[r.Start.Byte:min(max(r.End.Byte, r.Start.Byte), lineEnd)])
	carets := strings.Repeat("^", max(n, 1))
	if colour {
		attr := color.FgRed
		if d.Severity == hcl.DiagWarning {
			attr = color.FgYellow
		}
		carets = Paint(true, carets, attr, color.Bold)
	}
	mark := fmt.Sprintf("      %s%s %s:%d:%d\n", pad.String(), carets, r.Filename, r.Start.Line, r.Start.Column)
	prefix := []byte(fmt.Sprintf("%4d: ", r.Start.Line))
	lines := bytes.SplitAfter(text, []byte("\n"))
	var out bytes.Buffer
	done := false
	for _, l := range lines {
		out.Write(l)
		if !done && bytes.HasPrefix(l, prefix) {
			out.WriteString(mark)
			done = true
		}
	}
	return out.Bytes()
}

// safeSources returns files with the control and format characters of
// their text (and invalid UTF-8) masked, for the source snippets of
// diagnostics: a configuration comes from outside (a pull request), and
// its bytes must not reach the terminal as escape sequences that could
// retitle the window or erase and forge lines. Each such character
// becomes as many bytes of '?' as it takes (a carriage return a space),
// so the diagnostics' byte ranges still point at the same text. The
// summary and detail are escaped separately (safeDiagnostic). Written by
// hand: HCL's diagnostic writer prints source lines as they are.
func safeSources(files map[string]*hcl.File) map[string]*hcl.File {
	var out map[string]*hcl.File
	copied := func() {
		if out == nil {
			out = make(map[string]*hcl.File, len(files))
			for n, g := range files {
				out[n] = g
			}
		}
	}
	for name, f := range files {
		// A file name with control characters is shown escaped (see
		// safeDiagnostic): its source is found under that name too.
		if v := visible(name, false); v != name {
			copied()
			out[v] = f
		}
		if f == nil || !unsafeSource(f.Bytes) {
			continue
		}
		copied()
		c := *f
		c.Bytes = maskSource(f.Bytes)
		out[name] = &c
		if v := visible(name, false); v != name {
			out[v] = &c
		}
	}
	if out == nil {
		return files
	}
	return out
}

func unsafeSource(b []byte) bool {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if maskedRune(r, n) {
			return true
		}
		i += n
	}
	return false
}

func maskedRune(r rune, n int) bool {
	if r == utf8.RuneError && n == 1 {
		return true
	}
	return r != '\n' && r != '\t' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r))
}

func maskSource(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case r == '\r':
			out = append(out, ' ')
		case maskedRune(r, n):
			for range n {
				out = append(out, '?')
			}
		default:
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return out
}
