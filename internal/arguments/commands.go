package arguments

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Validate is the command line of wxmedia validate.
type Validate struct {
	Common
	Vars Vars
}

func validateFlags(v *Validate) *flag.FlagSet {
	fs := newFlagSet("validate", &v.Common)
	v.Vars.register(fs)
	return fs
}

// ParseValidate parses the arguments of wxmedia validate.
func ParseValidate(args []string) (*Validate, error) {
	v := new(Validate)
	pos, err := parse(validateFlags(v), args)
	if err != nil {
		return nil, err
	}
	if err := noArguments("validate", pos); err != nil {
		return nil, err
	}
	return v, nil
}

// Show is the command line of wxmedia show.
type Show struct {
	Common
	View ViewType
	// PlanPath is the saved plan to show, "" for the current state.
	PlanPath string
}

func showFlags(s *Show, v *viewFlags) *flag.FlagSet {
	fs := newFlagSet("show", &s.Common)
	v.register(fs)
	return fs
}

// ParseShow parses the arguments of wxmedia show.
func ParseShow(args []string) (*Show, error) {
	s, v := new(Show), new(viewFlags)
	pos, err := parse(showFlags(s, v), args)
	if err != nil {
		return nil, err
	}
	if s.View, err = v.view(); err != nil {
		return nil, err
	}
	if len(pos) > 1 {
		return nil, fmt.Errorf("show takes at most one plan file, not %d arguments: %s", len(pos), strings.Join(pos, " "))
	}
	if len(pos) == 1 {
		s.PlanPath = pos[0]
	}
	return s, nil
}

// Output is the command line of wxmedia output.
type Output struct {
	Common
	State
	// JSON is -json, Raw is -raw; they exclude each other.
	JSON, Raw bool
	// Name is the output to show, "" for all of them.
	Name string
}

func outputFlags(o *Output) *flag.FlagSet {
	fs := newFlagSet("output", &o.Common)
	fs.BoolVar(&o.JSON, "json", false, "print as JSON: {name: {value, type, sensitive}}, or the value of NAME")
	fs.BoolVar(&o.Raw, "raw", false, "print the value of NAME, a string, number or bool, without quotes or newline")
	o.State.register(fs)
	return fs
}

// ParseOutput parses the arguments of wxmedia output.
func ParseOutput(args []string) (*Output, error) {
	o := new(Output)
	pos, err := parse(outputFlags(o), args)
	if err != nil {
		return nil, err
	}
	if o.JSON && o.Raw {
		return nil, errors.New("-json and -raw cannot be used together")
	}
	if len(pos) > 1 {
		return nil, fmt.Errorf("output takes at most one output name, not %d", len(pos))
	}
	if o.Raw && len(pos) == 0 {
		return nil, errors.New("-raw needs an output name")
	}
	if len(pos) == 1 {
		o.Name = pos[0]
	}
	return o, nil
}

// Import is the command line of wxmedia import.
type Import struct {
	Common
	State
	Vars Vars
	// Addr is the resource instance address, as given; ID the identifier.
	Addr, ID string
}

func importFlags(i *Import) *flag.FlagSet {
	fs := newFlagSet("import", &i.Common)
	i.Vars.register(fs)
	i.State.register(fs)
	return fs
}

// ParseImport parses the arguments of wxmedia import.
func ParseImport(args []string) (*Import, error) {
	i := new(Import)
	pos, err := parse(importFlags(i), args)
	if err != nil {
		return nil, err
	}
	if len(pos) != 2 {
		return nil, errors.New("import needs exactly two arguments: ADDR ID")
	}
	i.Addr, i.ID = pos[0], pos[1]
	return i, nil
}

// ForceUnlock is the command line of wxmedia force-unlock.
type ForceUnlock struct {
	Common
	// LockID is the lock's ID as given, "" for none.
	LockID string
}

func forceUnlockFlags(f *ForceUnlock) *flag.FlagSet { return newFlagSet("force-unlock", &f.Common) }

// ParseForceUnlock parses the arguments of wxmedia force-unlock.
func ParseForceUnlock(args []string) (*ForceUnlock, error) {
	f := new(ForceUnlock)
	pos, err := parse(forceUnlockFlags(f), args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 1 {
		return nil, errors.New("force-unlock takes no arguments besides an optional lock ID")
	}
	if len(pos) == 1 {
		f.LockID = pos[0]
	}
	return f, nil
}

// Fmt is the command line of wxmedia fmt.
type Fmt struct {
	Common
	Check, Diff, Recursive, List, Write bool
	// Paths are the files and directories to format; "." when none is given.
	Paths []string
}

func fmtFlags(f *Fmt) *flag.FlagSet {
	fs := newFlagSet("fmt", &f.Common)
	fs.BoolVar(&f.Check, "check", false, "write nothing; list the files that are not formatted and exit 3 if there are any")
	fs.BoolVar(&f.Diff, "diff", false, "show the changes as a unified diff")
	fs.BoolVar(&f.Recursive, "recursive", false, "also process the subdirectories")
	fs.BoolVar(&f.List, "list", true, "list the files whose formatting differs")
	fs.BoolVar(&f.Write, "write", true, "write the formatted files back; -check turns it off")
	return fs
}

// ParseFmt parses the arguments of wxmedia fmt.
func ParseFmt(args []string) (*Fmt, error) {
	f := new(Fmt)
	pos, err := parse(fmtFlags(f), args)
	if err != nil {
		return nil, err
	}
	if f.Paths = pos; len(pos) == 0 {
		f.Paths = []string{"."}
	}
	return f, nil
}

// DefaultSandboxMchID is the merchant the sandbox registers, and a sandbox
// merchant block gets when it names none.
const DefaultSandboxMchID = "1900000001"

// Sandbox is the command line of wxmedia sandbox.
type Sandbox struct {
	Common
	Listen, Dir string
	// Faults is -faults as given; package sandbox parses it.
	Faults string
	// MchIDs are the merchants of -mchid, without blanks or repeats, or
	// the Merchants generated ones of -merchants.
	MchIDs []string
	// Merchants is -merchants: how many merchant IDs to generate; 0
	// without it.
	Merchants int
}

// MaxSandboxMerchants is the most merchants -merchants registers: each
// takes an RSA key to generate.
const MaxSandboxMerchants = 1000

func sandboxFlags(s *Sandbox, mchids *string) *flag.FlagSet {
	fs := newFlagSet("sandbox", &s.Common)
	fs.StringVar(&s.Listen, "listen", "127.0.0.1:8787", "address to listen on")
	fs.StringVar(&s.Dir, "dir", ".wxmedia-sandbox", "directory for the sandbox's keys, CA and database")
	fs.StringVar(&s.Faults, "faults", "", "inject faults and limits, e.g. 500=0.2,429=0.1,reset=0.05,badsig=0.02,delay=50ms,rps=20,quota=100,sign=certificate")
	fs.StringVar(mchids, "mchid", DefaultSandboxMchID, "merchant IDs to register, comma-separated; the first gets merchant.wxm.hcl, each other merchant-MCHID.wxm.hcl with a block named sandbox_MCHID")
	fs.IntVar(&s.Merchants, "merchants", 0, fmt.Sprintf("register N merchant IDs (%s and on, at most %d) instead of -mchid, every block in merchant.wxm.hcl: sandbox, then sandbox_MCHID", DefaultSandboxMchID, MaxSandboxMerchants))
	return fs
}

// ParseSandbox parses the arguments of wxmedia sandbox.
func ParseSandbox(args []string) (*Sandbox, error) {
	s, mchids := new(Sandbox), new(string)
	fs := sandboxFlags(s, mchids)
	pos, err := parse(fs, args)
	if err != nil {
		return nil, err
	}
	if err := noArguments("sandbox", pos); err != nil {
		return nil, err
	}
	// Flags given, even with their default value: -merchants=0 and
	// -mchid=1900000001 beside -merchants are mistakes too.
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if given["merchants"] {
		switch {
		case s.Merchants < 1 || s.Merchants > MaxSandboxMerchants:
			return nil, fmt.Errorf("-merchants=%d: want 1 to %d merchants", s.Merchants, MaxSandboxMerchants)
		case given["mchid"]:
			return nil, errors.New("-merchants and -mchid: give one of them")
		}
		first, _ := strconv.ParseInt(DefaultSandboxMchID, 10, 64)
		for i := range s.Merchants {
			s.MchIDs = append(s.MchIDs, strconv.FormatInt(first+int64(i), 10))
		}
		return s, nil
	}
	for _, id := range strings.Split(*mchids, ",") {
		id = strings.TrimSpace(id)
		if strings.Trim(id, "0123456789") != "" {
			// The merchant block written for it would not validate.
			return nil, fmt.Errorf("-mchid: %q is not a merchant ID: a WeChat Pay mchid is made of digits only, such as %s", id, DefaultSandboxMchID)
		}
		if id != "" && !slices.Contains(s.MchIDs, id) {
			s.MchIDs = append(s.MchIDs, id)
		}
	}
	if len(s.MchIDs) == 0 {
		return nil, errors.New("-mchid: want at least one merchant ID")
	}
	return s, nil
}

// Version is the command line of wxmedia version.
type Version struct{ Common }

func versionFlags(v *Version) *flag.FlagSet { return newFlagSet("version", &v.Common) }

// ParseVersion parses the arguments of wxmedia version.
func ParseVersion(args []string) (*Version, error) {
	v := new(Version)
	pos, err := parse(versionFlags(v), args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, withHints(fmt.Errorf("version takes no arguments, not %q", strings.Join(pos, " ")), "run wxmedia version")
	}
	return v, nil
}
