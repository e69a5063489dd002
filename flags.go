package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

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
