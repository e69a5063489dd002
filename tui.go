package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/fatih/color"
	"github.com/hashicorp/hcl/v2"

	"github.com/wxmedia/wxmedia/apply"
	"github.com/wxmedia/wxmedia/internal/terminal"
	"github.com/wxmedia/wxmedia/plan"
)

// ui is the terminal of one run (internal/terminal, which owns how
// wxmedia talks to the person at it), with what the commands add: the
// -chdir kept in the commands that hints suggest, and the secrets this
// run has seen, redacted from every message.
type ui struct {
	*terminal.Terminal
	stdin          io.Reader
	stdout, stderr io.Writer
	// chdir is the -chdir the user gave, kept in the commands hints suggest.
	chdir string
	// secrets are those this run has seen: every message redacts them.
	secrets *redactor
}

func newUI(stdin io.Reader, stdout, stderr io.Writer, noColor bool) *ui {
	u := &ui{Terminal: terminal.New(stdin, stdout, stderr, noColor), stdin: stdin, stdout: stdout, stderr: stderr, secrets: &redactor{}}
	u.Scrub = u.secrets.scrub
	u.Hint = func(h string) string { return withChdir(h, u.chdir) }
	if every, on, _ := progressIntervalEnv(); on { // checked by checkEnv before any command
		u.ProgressEvery = every
	}
	return u
}

func isTerminal(w any) bool { return terminal.IsTerminal(w) }

// The messages of the commands; see terminal.Terminal.
func (u *ui) styles() plan.Styles                       { return u.Styles() }
func (u *ui) message(format string, args ...any) string { return u.Message(format, args...) }
func (u *ui) errorf(hints []string, format string, args ...any) {
	u.Errorf(hints, format, args...)
}
func (u *ui) hints(hints []string)               { u.Hints(hints) }
func (u *ui) detailf(format string, args ...any) { u.Detailf(format, args...) }
func (u *ui) warnf(format string, args ...any)   { u.Warnf(format, args...) }
func (u *ui) infof(format string, args ...any)   { u.Infof(format, args...) }
func (u *ui) statusLine(verb, detail string)     { u.StatusLine(verb, detail) }
func (u *ui) printf(format string, args ...any)  { u.Printf(format, args...) }
func (u *ui) diagnostics(files map[string]*hcl.File, diags hcl.Diagnostics) {
	u.Diagnostics(files, diags)
}
func (u *ui) startProgress(verb string, files int, size int64) *terminal.Progress {
	return u.StartProgress(verb, files, size)
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
	if u.OutColor {
		head = terminal.Paint(true, head, attr, color.Bold)
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
