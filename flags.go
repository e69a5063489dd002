package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/wxmedia/wxmedia/schema"
)

// varFlags collects -var name=value and -var-file FILE flags, in
// command-line order.
type varFlags struct{ args []varArg }

type varArg struct {
	file bool   // -var-file
	text string // name=value, or the file name
}

func (v *varFlags) String() string { return "" }

// Set records a -var flag.
func (v *varFlags) Set(s string) error {
	if !strings.Contains(s, "=") {
		return fmt.Errorf("%q is not name=value", s)
	}
	v.args = append(v.args, varArg{text: s})
	return nil
}

// varFileFlag records -var-file flags into the same ordered list.
type varFileFlag struct{ v *varFlags }

func (f varFileFlag) String() string { return "" }

func (f varFileFlag) Set(s string) error {
	if s == "" {
		return errors.New("-var-file needs a file name")
	}
	f.v.args = append(f.v.args, varArg{file: true, text: s})
	return nil
}

// register adds -var and -var-file to fs.
func (v *varFlags) register(fs *flag.FlagSet) {
	fs.Var(v, "var", "set a variable: -var name=value (repeatable)")
	fs.Var(varFileFlag{v}, "var-file", "set variables from an HCL file of name = value lines (repeatable)")
}

// values merges the variables given from outside the configuration, each
// source overriding the ones before it, as Terraform does: WXMEDIA_VAR_name
// (lowest), then the *.auto.wxmvars.hcl files of the configuration directory
// in lexical order, then -var and -var-file in command-line order.
func (v *varFlags) values(cfg *schema.Config) (map[string]schema.VarValue, hcl.Diagnostics) {
	out := map[string]schema.VarValue{}
	for _, kv := range os.Environ() {
		if name, val, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(name, "WXMEDIA_VAR_") {
			n := strings.TrimPrefix(name, "WXMEDIA_VAR_")
			out[n] = schema.VarValue{Raw: val, Source: name, FromEnv: true}
		}
	}
	var diags hcl.Diagnostics
	merge := func(file string) {
		vals, d := cfg.ParseVarFile(file)
		diags = append(diags, d...)
		for n, val := range vals {
			out[n] = val
		}
	}
	autos, err := cfg.AutoVarFiles()
	if err != nil {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot list variables files", Detail: err.Error()})
	}
	for _, f := range autos {
		merge(f)
	}
	if v == nil {
		return out, diags
	}
	for _, a := range v.args {
		if a.file {
			merge(a.text)
			continue
		}
		name, val, _ := strings.Cut(a.text, "=")
		out[name] = schema.VarValue{Raw: val, Source: "-var " + name}
	}
	return out, diags
}

// newFlags makes the flag set of a command; its long help (description,
// examples, exit statuses) is in help.go under the same name. Flag errors
// are reported by parseFlags, help goes to stdout.
func newFlags(u *ui, name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() { printHelp(u.stdout, name, fs) }
	fs.Bool("no-color", false, "no colour in the output")
	return fs
}

// parseFlags parses flags wherever they stand among the arguments and
// returns the positional arguments. -h and -help print the command's help;
// a flag error names the nearest flag.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := globalAfterCommand(fs.Name(), args); err != nil {
		return nil, err
	}
	help := fs.Usage
	fs.Usage = func() {}
	defer func() { fs.Usage = help }()
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				help()
				return nil, exitError{0}
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
		return withHints(err, fmt.Sprintf("to work in directory %s, run wxmedia -chdir=%s %s", pos[0], shellQuote(pos[0]), cmd))
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
			fmt.Sprintf("run wxmedia -chdir=%s %s", shellQuote(dir), cmd))
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
			if best := nearest(name, names); best != "" {
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

const lockTimeoutUsage = "how long to wait for the state lock, e.g. 30s or 2m (default 0: fail at once)"

// lockTimeoutFlag registers -lock-timeout.
func lockTimeoutFlag(fs *flag.FlagSet) *time.Duration {
	d := new(time.Duration)
	fs.Var(&durationValue{d: d}, "lock-timeout", lockTimeoutUsage)
	return d
}

// durationValue is a duration flag that keeps its parse error, so that
// flagError can say how to write the value: a number without a unit is
// the usual mistake (-lock-timeout=5 for 5s).
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

type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
