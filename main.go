// Command wxmedia keeps a merchant's WeChat Pay media in sync with a
// manifest kept in version control: plan, apply, outputs, state.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	suggestpkg "github.com/wxmedia/wxmedia/internal/suggest"
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
	stateNotes = u
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
			if err := checkEnv(); err != nil {
				return exitCode(u, err)
			}
			return exitCode(u, c.run(u, g, rest))
		}
	}
	if msg, hint, ok := otherCommand(name, rest); ok {
		u.errorf([]string{hint}, "%s", msg)
		return 1
	}
	u.errorf([]string{"run wxmedia help to list the commands"}, "unknown command %q%s", name, suggest(name))
	return 1
}

// terraformCommands are Terraform's commands that wxmedia has no use for,
// with what it does instead.
var terraformCommands = map[string][2]string{
	"init": {"wxmedia has no init: there are no providers or modules to install, and the state is created by the first apply",
		"run wxmedia validate, then wxmedia plan"},
	"destroy": {"wxmedia has no destroy: WeChat Pay has no API to delete uploaded media",
		"to stop managing media, remove their blocks and run wxmedia apply (they are forgotten), or run wxmedia state rm ADDR"},
	"taint": {"wxmedia has no taint: an instance is uploaded again with -replace",
		"run wxmedia apply -replace=ADDR"},
	"untaint": {"wxmedia has no untaint: nothing is marked for upload outside a plan",
		"run wxmedia plan to see what would be uploaded"},
	"refresh": {"wxmedia has no refresh: every plan compares the files with the state (uploaded media cannot be read back from WeChat Pay)",
		"run wxmedia plan; -refresh-hashes hashes every file again instead of trusting the stat cache"},
}

// otherCommand recognises a Terraform command, or a subcommand of state
// given without "state", and says what to run instead.
func otherCommand(name string, rest []string) (msg, hint string, ok bool) {
	if tc, ok := terraformCommands[name]; ok {
		return tc[0], tc[1], true
	}
	switch name {
	case "cache", "list", "rm", "mv", "pull", "push":
		cmd := "state " + name
		if name == "cache" {
			sub := "list"
			if len(rest) > 0 && (rest[0] == "list" || rest[0] == "rm" || rest[0] == "ls") {
				sub = rest[0]
			}
			cmd = "state cache " + sub
		}
		return fmt.Sprintf("unknown command %q (did you mean %q?)", name, cmd), "run wxmedia " + cmd + ", or wxmedia help to list the commands", true
	}
	return "", "", false
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

// nearest returns the option closest to name (see package suggest).
func nearest(name string, options []string) string { return suggestpkg.Nearest(name, options) }
