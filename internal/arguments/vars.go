package arguments

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"
)

// Var is one -var or -var-file flag.
type Var struct {
	// File is set for -var-file; Text is then the file name, otherwise
	// name=value.
	File bool
	Text string
}

// NameValue splits a -var flag's text at its first "=".
func (v Var) NameValue() (name, value string) {
	name, value, _ = strings.Cut(v.Text, "=")
	return name, value
}

// Vars are the -var and -var-file flags in command-line order: a later
// one overrides an earlier one, as in Terraform.
type Vars []Var

// varValue records -var flags.
type varValue struct{ v *Vars }

func (f varValue) String() string { return "" }

func (f varValue) Set(s string) error {
	if !strings.Contains(s, "=") {
		return fmt.Errorf("%q is not name=value", s)
	}
	*f.v = append(*f.v, Var{Text: s})
	return nil
}

// varFileValue records -var-file flags into the same ordered list.
type varFileValue struct{ v *Vars }

func (f varFileValue) String() string { return "" }

func (f varFileValue) Set(s string) error {
	if s == "" {
		return errors.New("-var-file needs a file name")
	}
	*f.v = append(*f.v, Var{File: true, Text: s})
	return nil
}

func (v *Vars) register(fs *flag.FlagSet) {
	fs.Var(varValue{v}, "var", "set a variable: -var name=value (repeatable)")
	fs.Var(varFileValue{v}, "var-file", "set variables from an HCL file of name = value lines (repeatable)")
}

// State holds the flags of commands that use the state.
type State struct {
	// LockTimeout is -lock-timeout: how long to wait for the state lock.
	LockTimeout time.Duration
}

func (s *State) register(fs *flag.FlagSet) {
	durationFlag(fs, &s.LockTimeout, "lock-timeout", lockTimeoutUsage)
}
