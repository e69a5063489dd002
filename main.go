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
			var names []string
			for _, c := range commands() {
				names = append(names, c.name)
			}
			sugg := ""
			if best := nearest(strings.TrimLeft(strings.SplitN(a, "=", 2)[0], "-"), append(names, "chdir", "no-color")); best != "" {
				if best == "chdir" || best == "no-color" {
					best = "-" + best
				}
				sugg = fmt.Sprintf(" (did you mean %s?)", best)
			}
			u.errorf([]string{"global options are -chdir=DIR and -no-color; command flags go after the command"}, "unknown global option %s%s", a, sugg)
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
	u.chdir = g.Chdir
	if len(args) == 0 {
		usage(u.stderr)
		return 1
	}
	name, rest := args[0], args[1:]
	if name == "help" {
		if len(rest) == 0 || rest[0] == "help" {
			usage(u.stdout)
			return 0
		}
		// help CMD [SUB…] is CMD [SUB…] -h.
		name, rest = rest[0], append(rest[1:len(rest):len(rest)], "-h")
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
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	if best := nearest(name, names); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// nearest returns the option closest to name: within an edit distance of
// 2, or the only option that name is a prefix of; "" when none is close.
func nearest(name string, options []string) string {
	best, bestD := "", 3
	for _, o := range options {
		if d := editDistance(name, o); d < bestD {
			best, bestD = o, d
		}
	}
	if best != "" || len(name) < 2 {
		return best
	}
	var prefixed []string
	for _, o := range options {
		if strings.HasPrefix(o, name) {
			prefixed = append(prefixed, o)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0]
	}
	return ""
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
