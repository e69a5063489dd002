package arguments

import (
	"fmt"
	"strings"

	"github.com/wxmedia/wxmedia/internal/suggest"
)

// Global holds the options that come before the command.
type Global struct {
	// Chdir is -chdir=DIR: the directory to work in, "" for the current one.
	Chdir string
	// NoColor is -no-color, given before the command or among its
	// arguments.
	NoColor bool
}

// ParseGlobal parses the global options before the command and returns the
// command with its arguments. -help and -version stand for the help and
// version commands. commands are the command names, for the "did you
// mean" of an unknown option.
func ParseGlobal(args, commands []string) (Global, []string, error) {
	var g Global
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
			sugg := ""
			if best := suggest.Nearest(strings.TrimLeft(strings.SplitN(a, "=", 2)[0], "-"), append(commands[:len(commands):len(commands)], "chdir", "no-color")); best != "" {
				if best == "chdir" || best == "no-color" {
					best = "-" + best
				}
				sugg = fmt.Sprintf(" (did you mean %s?)", best)
			}
			return g, nil, withHints(fmt.Errorf("unknown global option %s%s", a, sugg),
				"global options are -chdir=DIR and -no-color; command flags go after the command")
		}
		args = args[1:]
	}
	for _, a := range args {
		if a == "-no-color" {
			g.NoColor = true
		}
	}
	return g, args, nil
}
