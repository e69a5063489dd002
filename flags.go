package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/wxmedia/wxmedia/schema"
)

// varFlags collects -var name=value flags.
type varFlags struct{ vals []string }

func (v *varFlags) String() string { return strings.Join(v.vals, ",") }

func (v *varFlags) Set(s string) error {
	if !strings.Contains(s, "=") {
		return fmt.Errorf("%q is not name=value", s)
	}
	v.vals = append(v.vals, s)
	return nil
}

// values merges WXMEDIA_VAR_* (lowest) and -var flags.
func (v *varFlags) values() (map[string]schema.VarValue, error) {
	out := map[string]schema.VarValue{}
	for _, kv := range os.Environ() {
		if name, val, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(name, "WXMEDIA_VAR_") {
			n := strings.TrimPrefix(name, "WXMEDIA_VAR_")
			out[n] = schema.VarValue{Raw: val, Source: name, FromEnv: true}
		}
	}
	if v == nil {
		return out, nil
	}
	for _, kv := range v.vals {
		name, val, _ := strings.Cut(kv, "=")
		out[name] = schema.VarValue{Raw: val, Source: "-var " + name}
	}
	return out, nil
}

// newFlags makes a flag set that reports to the user's stderr.
func newFlags(u *ui, name, usageLine, desc string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(u.stderr)
	fs.Usage = func() {
		fmt.Fprintf(u.stderr, "Usage: wxmedia [global options] %s\n\n%s\n\nOptions:\n", usageLine, desc)
		fs.PrintDefaults()
	}
	fs.Bool("no-color", false, "no colour in the output")
	return fs
}

// parseFlags parses flags wherever they stand among the arguments and
// returns the positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitError{0}
			}
			return nil, exitError{1}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
