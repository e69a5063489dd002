package main

// This file is the one place where wxmedia talks to the person at the
// terminal: messages are lowercase, prefixed "wxmedia:", without a trailing
// period, and hints stand on their own lines.
//
// Colour is decided per stream: stdout (plans, per-change lines, the apply
// summary) and stderr (errors, warnings, diagnostics, progress) each get it
// only when they are a terminal, and neither with -no-color, a non-empty
// NO_COLOR or TERM=dumb.

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/fatih/color"
	"github.com/hashicorp/hcl/v2"
	"golang.org/x/term"

	"github.com/wxmedia/wxmedia/apply"
	"github.com/wxmedia/wxmedia/plan"
)

type ui struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// outColor and errColor say whether each stream gets colour.
	outColor, errColor bool
	// errTerminal says whether stderr is a terminal (a progress bar rather
	// than periodic lines).
	errTerminal bool
	// outTerminal says whether stdout is a terminal, which the progress
	// bar on stderr is then taken to share.
	outTerminal bool
	// progress is the progress display in use, if any: every message
	// clears it first so that lines never mix with the bar.
	progress atomic.Pointer[progress]
	// chdir is the -chdir the user gave, kept in the commands hints suggest.
	chdir string
	// secrets are those this run has seen: every message redacts them.
	secrets *redactor
}

func newUI(stdin io.Reader, stdout, stderr io.Writer, noColor bool) *ui {
	// https://no-color.org: NO_COLOR set to a non-empty value.
	allow := !noColor && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
	errTerm := isTerminal(stderr)
	outTerm := isTerminal(stdout)
	return &ui{
		stdin: stdin, stdout: stdout, stderr: stderr,
		outColor:    allow && outTerm,
		errColor:    allow && errTerm,
		errTerminal: errTerm,
		outTerminal: outTerm,
		secrets:     &redactor{},
	}
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// styles are the plan colours for stdout.
func (u *ui) styles() plan.Styles { return plan.NewStyles(u.outColor) }

// errStyles are the same colours for stderr.
func (u *ui) errStyles() plan.Styles { return plan.NewStyles(u.errColor) }

// paint colours s with attrs when on is true.
func paint(on bool, s string, attrs ...color.Attribute) string {
	c := color.New(attrs...)
	if on {
		c.EnableColor()
	} else {
		c.DisableColor()
	}
	return c.Sprint(s)
}

// hideProgress makes room on stderr for a message; see aboveProgress.
func (u *ui) hideProgress() func() { return u.aboveProgress(u.stderr) }

// aboveProgress makes room for a message written to stream while a
// progress bar may be on screen. When stream shares the bar's terminal,
// the bar is cleared, and the returned function, called once the message
// is written, draws it again at once: messages scroll up above the bar,
// which stays on screen. A stream that is not a terminal (stdout to a
// file) does not disturb the bar.
func (u *ui) aboveProgress(stream io.Writer) func() {
	p := u.progress.Load()
	if p == nil {
		return func() {}
	}
	p.mu.Lock()
	if stream == u.stdout && !u.outTerminal {
		return p.mu.Unlock
	}
	shown := p.visible
	p.clearLocked()
	return func() {
		if shown {
			p.drawLocked()
		}
		p.mu.Unlock()
	}
}

// message formats a message for the terminal. Its arguments come from
// outside as often as not (server messages, identifiers, file names,
// addresses), so the message is made safe as a whole: credentials and the
// passwords of URLs redacted, control and format characters shown as
// escapes, and the lines of a multi-line error indented so that none can
// pass for a line of wxmedia's own. The format strings are wxmedia's and
// hold no control characters.
func (u *ui) message(format string, args ...any) string {
	return strings.ReplaceAll(visible(u.secrets.scrub(fmt.Sprintf(format, args...)), true), "\n", "\n  ")
}

// visible shows the control and format characters of s as escapes (see
// plan.Visible); with keepNL, newlines and tabs stay.
func visible(s string, keepNL bool) string {
	if keepNL {
		return plan.VisibleLines(s)
	}
	return plan.Visible(s)
}

// errorf prints an error message, then each hint on its own line.
func (u *ui) errorf(hints []string, format string, args ...any) {
	defer u.hideProgress()()
	fmt.Fprintf(u.stderr, "%s %s\n", paint(u.errColor, "wxmedia:", color.FgRed, color.Bold), u.message(format, args...))
	u.writeHints(hints)
}

// hints prints hints on their own lines.
func (u *ui) hints(hints []string) {
	defer u.hideProgress()()
	u.writeHints(hints)
}

func (u *ui) writeHints(hints []string) {
	for _, h := range hints {
		fmt.Fprintf(u.stderr, "wxmedia: %s %s\n", paint(u.errColor, "hint:", color.Bold), u.message("%s", withChdir(h, u.chdir)))
	}
}

// detailf prints an indented detail line under an error, such as one
// failed change of an apply.
func (u *ui) detailf(format string, args ...any) {
	defer u.hideProgress()()
	fmt.Fprintf(u.stderr, "  %s\n", u.message(format, args...))
}

// warnf prints a warning.
func (u *ui) warnf(format string, args ...any) {
	defer u.hideProgress()()
	fmt.Fprintf(u.stderr, "wxmedia: %s %s\n", paint(u.errColor, "warning:", color.FgYellow, color.Bold), u.message(format, args...))
}

// infof prints a message about the work, such as a server being ready.
func (u *ui) infof(format string, args ...any) {
	defer u.hideProgress()()
	fmt.Fprintf(u.stderr, "wxmedia: %s\n", u.message(format, args...))
}

// statusLine writes one plain progress line; the caller holds the
// progress lock.
func (u *ui) statusLine(verb, detail string) {
	fmt.Fprintf(u.stderr, "wxmedia: %s\n", u.message("%s: %s", verb, detail))
}

// printf writes to stdout.
func (u *ui) printf(format string, args ...any) {
	defer u.aboveProgress(u.stdout)()
	fmt.Fprintf(u.stdout, format, args...)
}

// diagnostics renders HCL diagnostics as Terraform does, with HCL's
// diagnostic writer: "Error: summary", the file and line, the source
// snippet with the range highlighted (on a terminal) and the detail. Under
// the snippet, carets mark the range and name it as file:line:column, the
// form editors and terminals open.
func (u *ui) diagnostics(files map[string]*hcl.File, diags hcl.Diagnostics) {
	if len(diags) == 0 {
		return
	}
	defer u.hideProgress()()
	width := 100
	if f, ok := u.stderr.(*os.File); ok && u.errTerminal {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 40 {
			width = w
		}
	}
	var buf bytes.Buffer
	files = safeSources(files)
	w := hcl.NewDiagnosticTextWriter(&buf, files, uint(width), u.errColor)
	for _, d := range diags {
		d = safeDiagnostic(d)
		buf.Reset()
		if err := w.WriteDiagnostic(d); err != nil {
			continue
		}
		u.stderr.Write([]byte(u.secrets.scrub(string(markRange(buf.Bytes(), files, d, u.errColor)))))
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
		carets = paint(true, carets, attr, color.Bold)
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

// applySummary prints the headline of an apply, which says how it ended:
// "Apply complete!" only when every planned change was made, "Apply
// failed!" when some failed, "Apply interrupted!" when some were not
// started. Each count stands once, with the bytes of the action it
// belongs to, and the lines that follow use the same counts.
func (u *ui) applySummary(res *apply.Result) {
	st := u.styles()
	failed := res.Failed()
	head, attr := "Apply complete!", color.FgGreen
	switch {
	case res.Interrupted():
		head, attr = "Apply interrupted!", color.FgYellow
	case failed > 0:
		head, attr = "Apply failed!", color.FgRed
	}
	if u.outColor {
		head = paint(true, head, attr, color.Bold)
	} else {
		head = st.Bold.Sprint(head)
	}
	withBytes := func(n int, b int64, s string) string {
		if n == 0 {
			return s
		}
		return fmt.Sprintf("%s (%s)", s, plan.FormatBytes(b))
	}
	parts := []string{
		withBytes(res.Uploaded, res.UploadedBytes, st.Upload.Sprint(res.Uploaded)+" uploaded"),
		withBytes(res.Reuploaded, res.ReuploadedBytes, st.Reupload.Sprint(res.Reuploaded)+" re-uploaded"),
		st.Reuse.Sprint(res.Reused) + " reused",
		st.Forget.Sprint(res.Forgotten) + " forgotten",
	}
	if failed > 0 || res.Interrupted() {
		f := fmt.Sprint(failed)
		if failed > 0 {
			f = st.Forget.Sprint(failed)
		}
		parts = append(parts, f+" failed")
	}
	if res.Interrupted() {
		parts = append(parts, fmt.Sprintf("%d not started", res.NotStarted))
	}
	u.printf("\n%s %s.\n", head, strings.Join(parts, ", "))
}
