// Package terminal is where wxmedia talks to the person at the terminal:
// messages are lowercase, prefixed "wxmedia:", without a trailing period,
// and hints stand on their own lines; everything from outside is escaped
// and credentials are redacted before it is written. It renders HCL
// diagnostics with their source snippets made safe, and shows the progress
// of long work (hashing, uploading).
//
// Colour is decided per stream: stdout (plans, per-change lines, the apply
// summary) and stderr (errors, warnings, diagnostics, progress) each get it
// only when they are a terminal, and neither with -no-color, a non-empty
// NO_COLOR or TERM=dumb.
package terminal

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fatih/color"
	"golang.org/x/term"

	"github.com/wxmedia/wxmedia/plan"
)

// Terminal is the standard streams of one run. It is safe for concurrent
// use once set up.
type Terminal struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// OutColor and ErrColor say whether each stream gets colour.
	OutColor, ErrColor bool
	// ErrTerminal says whether stderr is a terminal (a progress bar rather
	// than periodic lines).
	ErrTerminal bool
	// OutTerminal says whether stdout is a terminal, which the progress
	// bar on stderr is then taken to share.
	OutTerminal bool
	// Secrets are the credentials this run has seen: every message and
	// diagnostic redacts them, and the passwords of URLs.
	Secrets *Redactor
	// Hint, when set, rewrites each hint before it is shown (e.g. to put
	// -chdir into the commands it suggests).
	Hint func(string) string
	// ProgressEvery is the interval of plain progress lines when stderr is
	// not a terminal; 0 shows no progress at all.
	ProgressEvery time.Duration
	// progress is the progress display in use, if any: every message
	// clears it first so that lines never mix with the bar.
	progress atomic.Pointer[Progress]
}

// New returns the terminal of the given streams, with colour on each
// stream that is a terminal unless noColor (the caller's -no-color,
// NO_COLOR or TERM=dumb) says otherwise.
func New(stdin io.Reader, stdout, stderr io.Writer, noColor bool) *Terminal {
	allow := !noColor
	errTerm, outTerm := IsTerminal(stderr), IsTerminal(stdout)
	return &Terminal{
		Stdin: stdin, Stdout: stdout, Stderr: stderr,
		OutColor: allow && outTerm, ErrColor: allow && errTerm,
		ErrTerminal: errTerm, OutTerminal: outTerm,
		Secrets: &Redactor{},
	}
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Styles are the plan colours for stdout.
func (t *Terminal) Styles() plan.Styles { return plan.NewStyles(t.OutColor) }

// ErrStyles are the same colours for stderr.
func (t *Terminal) ErrStyles() plan.Styles { return plan.NewStyles(t.ErrColor) }

func (t *Terminal) scrub(s string) string { return t.Secrets.Scrub(s) }

func (t *Terminal) hint(h string) string {
	if t.Hint != nil {
		return t.Hint(h)
	}
	return h
}

// Paint colours s with attrs when on is true.
func Paint(on bool, s string, attrs ...color.Attribute) string {
	c := color.New(attrs...)
	if on {
		c.EnableColor()
	} else {
		c.DisableColor()
	}
	return c.Sprint(s)
}

// hideProgress makes room on stderr for a message; see aboveProgress.
func (t *Terminal) hideProgress() func() { return t.aboveProgress(t.Stderr) }

// aboveProgress makes room for a message written to stream while a
// progress bar may be on screen. When stream shares the bar's terminal,
// the bar is cleared, and the returned function, called once the message
// is written, draws it again at once: messages scroll up above the bar,
// which stays on screen. A stream that is not a terminal (stdout to a
// file) does not disturb the bar.
func (t *Terminal) aboveProgress(stream io.Writer) func() {
	p := t.progress.Load()
	if p == nil {
		return func() {}
	}
	p.mu.Lock()
	if stream == t.Stdout && !t.OutTerminal {
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

// Message formats a message for the terminal. Its arguments come from
// outside as often as not (server messages, identifiers, file names,
// addresses), so the message is made safe as a whole: credentials and the
// passwords of URLs redacted, control and format characters shown as
// escapes, and the lines of a multi-line error indented so that none can
// pass for a line of wxmedia's own. The format strings are wxmedia's and
// hold no control characters.
func (t *Terminal) Message(format string, args ...any) string {
	return strings.ReplaceAll(visible(t.scrub(fmt.Sprintf(format, args...)), true), "\n", "\n  ")
}

// visible shows the control and format characters of s as escapes (see
// plan.Visible); with keepNL, newlines and tabs stay.
func visible(s string, keepNL bool) string {
	if keepNL {
		return plan.VisibleLines(s)
	}
	return plan.Visible(s)
}

// Errorf prints an error message, then each hint on its own line.
func (t *Terminal) Errorf(hints []string, format string, args ...any) {
	defer t.hideProgress()()
	fmt.Fprintf(t.Stderr, "%s %s\n", Paint(t.ErrColor, "wxmedia:", color.FgRed, color.Bold), t.Message(format, args...))
	t.writeHints(hints)
}

// Hints prints hints on their own lines.
func (t *Terminal) Hints(hints []string) {
	defer t.hideProgress()()
	t.writeHints(hints)
}

func (t *Terminal) writeHints(hints []string) {
	for _, h := range hints {
		fmt.Fprintf(t.Stderr, "wxmedia: %s %s\n", Paint(t.ErrColor, "hint:", color.Bold), t.Message("%s", t.hint(h)))
	}
}

// Detailf prints an indented detail line under an error, such as one
// failed change of an apply.
func (t *Terminal) Detailf(format string, args ...any) {
	defer t.hideProgress()()
	fmt.Fprintf(t.Stderr, "  %s\n", t.Message(format, args...))
}

// Warnf prints a warning.
func (t *Terminal) Warnf(format string, args ...any) {
	defer t.hideProgress()()
	fmt.Fprintf(t.Stderr, "wxmedia: %s %s\n", Paint(t.ErrColor, "warning:", color.FgYellow, color.Bold), t.Message(format, args...))
}

// Infof prints a message about the work, such as a server being ready.
func (t *Terminal) Infof(format string, args ...any) {
	defer t.hideProgress()()
	fmt.Fprintf(t.Stderr, "wxmedia: %s\n", t.Message(format, args...))
}

// StatusLine writes one plain progress line; the caller holds the
// progress lock.
func (t *Terminal) StatusLine(verb, detail string) {
	fmt.Fprintf(t.Stderr, "wxmedia: %s\n", t.Message("%s: %s", verb, detail))
}

// Printf writes to stdout.
func (t *Terminal) Printf(format string, args ...any) {
	defer t.aboveProgress(t.Stdout)()
	fmt.Fprintf(t.Stdout, format, args...)
}
