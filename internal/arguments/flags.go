// Package arguments parses the command line of every wxmedia command into
// a typed value (Plan, Apply, StateRm…), with Terraform's
// internal/command/arguments as the model: each ParseX takes the arguments
// after the command's name and returns every flag and positional argument
// as a field, or an error that names the flag and says what to do. It does
// no I/O beyond telling whether a stray argument is a directory, so that
// parsing is tested on its own, without running a command.
//
// Flags may stand anywhere among the positional arguments, as in
// Terraform. -h and -help make a parse return ErrHelp; the command's
// options are listed by WriteOptions.
package arguments

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wxmedia/wxmedia/internal/suggest"
)

// ErrHelp is returned by a parse when -h or -help was given: the caller
// shows the command's help and exits 0.
var ErrHelp = errors.New("help requested")

// Error is a command-line error with hints a user can act on, each shown
// on its own line after the message.
type Error struct {
	Err   error
	Hints []string
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func withHints(err error, hints ...string) error { return &Error{Err: err, Hints: hints} }

// Common holds the flags every command takes.
type Common struct {
	// NoColor is -no-color, also accepted after the command.
	NoColor bool
}

// newFlagSet makes the flag set of a command, with the flags every command
// takes. Errors are reported by parse, in wxmedia's words.
func newFlagSet(name string, c *Common) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.BoolVar(&c.NoColor, "no-color", false, "no colour in the output")
	return fs
}

// parse parses flags wherever they stand among the arguments and returns
// the positional arguments. A flag error names the nearest flag.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := globalAfterCommand(fs.Name(), args); err != nil {
		return nil, err
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, ErrHelp
			}
			return nil, flagError(fs, args, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// noArguments refuses the positional arguments of a command that takes
// none; a directory among them is what Terraform's older commands took,
// and the hint says how wxmedia is pointed at one.
func noArguments(cmd string, pos []string) error {
	if len(pos) == 0 {
		return nil
	}
	err := fmt.Errorf("%s takes no arguments, not %s", cmd, strings.Join(pos, " "))
	if fi, serr := os.Stat(pos[0]); serr == nil && fi.IsDir() {
		return withHints(err, fmt.Sprintf("to work in directory %s, run wxmedia -chdir=%s %s", pos[0], ShellQuote(pos[0]), cmd))
	}
	return withHints(err, fmt.Sprintf("wxmedia %s -h shows its usage", cmd))
}

// globalAfterCommand refuses -chdir among a command's arguments, as
// Terraform users write it, saying where it goes.
func globalAfterCommand(cmd string, args []string) error {
	for i, a := range args {
		if a == "--" {
			return nil
		}
		name, dir, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "chdir" {
			continue
		}
		if !hasValue && i+1 < len(args) {
			dir = args[i+1]
		}
		if dir == "" {
			dir = "DIR"
		}
		return withHints(errors.New("-chdir is a global option: it goes before the command"),
			fmt.Sprintf("run wxmedia -chdir=%s %s", ShellQuote(dir), cmd))
	}
	return nil
}

// flagError rewrites an error of the flag package in wxmedia's words.
func flagError(fs *flag.FlagSet, args []string, err error) error {
	hint := fmt.Sprintf("wxmedia %s -h lists the flags", fs.Name())
	var bad error
	fs.VisitAll(func(f *flag.Flag) {
		if dv, ok := f.Value.(*durationValue); ok && dv.err != nil {
			example := "30s"
			if dv.err.seconds {
				example = dv.err.value + "s"
			}
			bad = withHints(fmt.Errorf("-%s: %w", f.Name, dv.err),
				fmt.Sprintf("a duration is a number with a unit (ms, s, m, h): -%s=%s", f.Name, example))
		}
	})
	if bad != nil {
		return bad
	}
	if err := checkFlagNames(fs, args); err != nil {
		return withHints(err, hint)
	}
	return withHints(fmt.Errorf("%s: %w", fs.Name(), err), hint)
}

// checkFlagNames finds, in the arguments the flag package refused, a flag
// the command does not have (naming the nearest one) or a flag without its
// value, walking them as the flag package does; nil when neither is the
// reason.
func checkFlagNames(fs *flag.FlagSet, args []string) error {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return nil
		}
		if len(a) < 2 || a[0] != '-' {
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		if name == "h" || name == "help" {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			var names []string
			fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
			suggestion := ""
			if best := suggest.Nearest(name, names); best != "" {
				suggestion = fmt.Sprintf(" (did you mean -%s?)", best)
			}
			return fmt.Errorf("unknown flag -%s%s", name, suggestion)
		}
		if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); hasValue || ok && bf.IsBoolFlag() {
			continue
		}
		if i+1 == len(args) {
			arg := "VALUE"
			if flagArg(f) != "" {
				arg = flagArg(f)
			}
			return fmt.Errorf("flag -%s needs a value: -%s=%s", name, name, arg)
		}
		i++ // the value
	}
	return nil
}

// ShellQuote quotes s for a POSIX shell when it needs it, for the command
// lines that messages suggest.
func ShellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

const lockTimeoutUsage = "how long to wait for the state lock, e.g. 30s or 2m (default 0: fail at once)"

// durationFlag registers a duration flag that keeps its parse error, so
// that flagError can say how to write the value.
func durationFlag(fs *flag.FlagSet, d *time.Duration, name, usage string) {
	fs.Var(&durationValue{d: d}, name, usage)
}

// durationValue is a duration flag that keeps its parse error: a number
// without a unit is the usual mistake (-lock-timeout=5 for 5s).
type durationValue struct {
	d   *time.Duration
	err *durationError
}

// durationError is a flag value that is not a Go duration.
type durationError struct {
	value string
	// seconds is set when the value is a plain number, meant as seconds.
	seconds bool
}

func (e *durationError) Error() string {
	if e.seconds {
		return fmt.Sprintf("%q has no unit", e.value)
	}
	return fmt.Sprintf("%q is not a duration", e.value)
}

func (v *durationValue) String() string {
	if v.d == nil || *v.d == 0 {
		return ""
	}
	return v.d.String()
}

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		_, nerr := strconv.ParseFloat(s, 64)
		v.err = &durationError{value: s, seconds: nerr == nil}
		return v.err
	}
	if d < 0 {
		v.err = &durationError{value: s}
		return v.err
	}
	*v.d = d
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
