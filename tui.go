package main

import (
	"io"
	"sync"

	"github.com/hashicorp/hcl/v2"

	"github.com/wxmedia/wxmedia/internal/terminal"
	"github.com/wxmedia/wxmedia/plan"
)

// ui is the terminal of one run (internal/terminal, which owns how
// wxmedia talks to the person at it), with what the commands add: the
// -chdir kept in the commands that hints suggest.
type ui struct {
	*terminal.Terminal
	stdin          io.Reader
	stdout, stderr io.Writer
	// chdir is the -chdir the user gave, kept in the commands hints suggest.
	chdir string
	// env is the environment, read when wxmedia started.
	env environment
	// permChecked guards the data directory's permission check: a command
	// opening its state more than once warns once.
	permChecked sync.Once
}

// newUI is the ui of one run: colour unless noColor (-no-color) or env
// says otherwise.
func newUI(stdin io.Reader, stdout, stderr io.Writer, noColor bool, env environment) *ui {
	u := &ui{Terminal: terminal.New(stdin, stdout, stderr, noColor || env.noColor), stdin: stdin, stdout: stdout, stderr: stderr, env: env}
	u.Hint = func(h string) string { return withChdir(h, u.chdir) }
	u.ProgressEvery = env.progressEvery
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
