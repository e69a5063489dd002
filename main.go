// Command wxmedia keeps a merchant's WeChat Pay media in sync with a
// manifest kept in version control: plan, apply, outputs, state.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// version is the wxmedia release; set at build time with -ldflags "-X main.version=…".
var version = "0.1.0"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// globalOptions come before the command.
type globalOptions struct {
	Chdir   string
	NoColor bool
}

// exitError carries an exit status; its message, if any, was already shown.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// errReported is returned when the problem was already shown to the user.
var errReported = errors.New("reported")

type command struct {
	name    string
	summary string
	run     func(u *ui, g globalOptions, args []string) error
}

func commands() []command {
	return []command{
		{"validate", "check the configuration and the source files, offline", cmdValidate},
		{"plan", "show what apply would upload, reuse and forget", cmdPlan},
		{"apply", "upload what changed and record the identifiers", cmdApply},
		{"show", "show a saved plan, or the current state", cmdShow},
		{"output", "show output values", cmdOutput},
		{"state", "inspect and change the state: list, show, rm, mv, pull, push, cache", cmdState},
		{"import", "adopt an identifier uploaded before wxmedia managed it", cmdImport},
		{"force-unlock", "release a state lock left by a process that is gone", cmdForceUnlock},
		{"fmt", "rewrite configuration files in canonical format", cmdFmt},
		{"sandbox", "run the WeChat Pay API emulator as an HTTPS server", cmdSandbox},
		{"version", "print the version", cmdVersion},
		{"help", "show help for a command", nil},
	}
}

// run is the whole program; it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var g globalOptions
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		a := args[0]
		switch {
		case a == "-no-color" || a == "--no-color":
			g.NoColor = true
		case strings.HasPrefix(a, "-chdir=") || strings.HasPrefix(a, "--chdir="):
			g.Chdir = a[strings.Index(a, "=")+1:]
		case a == "-h" || a == "-help" || a == "--help":
			args = []string{"help"}
			continue
		case a == "-v" || a == "-version" || a == "--version":
			args = []string{"version"}
			continue
		default:
			u := newUI(stdin, stdout, stderr, g.NoColor)
			u.errorf([]string{"global options are -chdir=DIR and -no-color; command flags go after the command"}, "unknown global option %s", a)
			return 1
		}
		args = args[1:]
	}
	for _, a := range args {
		if a == "-no-color" {
			g.NoColor = true
		}
	}
	u := newUI(stdin, stdout, stderr, g.NoColor)
	if len(args) == 0 {
		usage(u.stderr)
		return 1
	}
	name, rest := args[0], args[1:]
	if name == "help" {
		if len(rest) == 0 {
			usage(u.stdout)
			return 0
		}
		name, rest = rest[0], []string{"-h"}
	}
	if g.Chdir != "" {
		if err := os.Chdir(g.Chdir); err != nil {
			u.errorf(nil, "cannot change to directory %s: %v", g.Chdir, unwrapPath(err))
			return 1
		}
	}
	for _, c := range commands() {
		if c.name == name && c.run != nil {
			return exitCode(u, c.run(u, g, rest))
		}
	}
	u.errorf([]string{"run wxmedia help to list the commands"}, "unknown command %q%s", name, suggest(name))
	return 1
}

// exitCode is the one place that maps errors to exit statuses.
func exitCode(u *ui, err error) int {
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, errReported):
		return 1
	default:
		u.errorf(hintsFor(err), "%s", err)
		return 1
	}
}

func suggest(name string) string {
	best, bestD := "", 3
	for _, c := range commands() {
		if d := editDistance(name, c.name); d < bestD {
			best, bestD = c.name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: wxmedia [-chdir=DIR] [-no-color] COMMAND [flags] [args]\n\n")
	fmt.Fprintf(w, "wxmedia keeps a merchant's WeChat Pay media in sync with the *.wxm.hcl files\nof a directory: it uploads new or changed files and records their identifiers.\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nGlobal options:\n  -chdir=DIR  work in DIR instead of the current directory\n  -no-color   no colour in the output\n\nExit status: 0 success, 1 error, 2 changes present (plan -detailed-exitcode).\n")
}
