package main

// This file is the one place where wxmedia talks to the person at the
// terminal: messages are lowercase, prefixed "wxmedia:", without a trailing
// period, and hints stand on their own lines.

import (
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/term"

	"github.com/wxmedia/wxmedia/plan"
)

type ui struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// outColor and errColor say whether each stream gets colour.
	outColor, errColor bool
}

func newUI(stdin io.Reader, stdout, stderr io.Writer, noColor bool) *ui {
	_, envNoColor := os.LookupEnv("NO_COLOR")
	allow := !noColor && !envNoColor && os.Getenv("TERM") != "dumb"
	return &ui{
		stdin: stdin, stdout: stdout, stderr: stderr,
		outColor: allow && isTerminal(stdout),
		errColor: allow && isTerminal(stderr),
	}
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// styles are the plan colours for stdout.
func (u *ui) styles() plan.Styles { return plan.NewStyles(u.outColor) }

// errorf prints an error message, then each hint on its own line.
func (u *ui) errorf(hints []string, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if u.errColor {
		fmt.Fprintf(u.stderr, "\x1b[31mwxmedia:\x1b[0m %s\n", msg)
	} else {
		fmt.Fprintf(u.stderr, "wxmedia: %s\n", msg)
	}
	for _, h := range hints {
		fmt.Fprintf(u.stderr, "wxmedia: hint: %s\n", h)
	}
}

// warnf prints a warning.
func (u *ui) warnf(format string, args ...any) {
	fmt.Fprintf(u.stderr, "wxmedia: warning: "+format+"\n", args...)
}

// printf writes to stdout.
func (u *ui) printf(format string, args ...any) {
	fmt.Fprintf(u.stdout, format, args...)
}

// diagnostics renders HCL diagnostics with file:line:column and snippets.
func (u *ui) diagnostics(files map[string]*hcl.File, diags hcl.Diagnostics) {
	if len(diags) == 0 {
		return
	}
	w := hcl.NewDiagnosticTextWriter(u.stderr, files, 100, u.errColor)
	for _, d := range diags {
		// Terraform's form: "Error: summary" and the location with snippet.
		_ = w.WriteDiagnostic(d)
	}
}
