package arguments

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// flagArgs names the argument of flags whose type says too little.
var flagArgs = map[string]string{
	"var": "NAME=VALUE", "var-file": "FILE", "target": "ADDR", "replace": "ADDR",
	"out": "FILE", "lock-timeout": "DURATION", "parallelism": "N", "listen": "ADDR",
	"dir": "DIR", "faults": "SPEC", "mchid": "ID", "merchants": "N", "api": "API", "service": "SERVICE",
}

// flagArg is the argument name shown for flag f, "" for a boolean flag.
func flagArg(f *flag.Flag) string {
	arg, _ := flag.UnquoteUsage(f)
	if arg == "" {
		return ""
	}
	if a, ok := flagArgs[f.Name]; ok {
		return a
	}
	return strings.ToUpper(arg)
}

// HasOptions tells whether command (e.g. "plan", "state rm") has flags of
// its own to list.
func HasOptions(command string) bool {
	_, ok := flagSets[command]
	return ok
}

// WriteOptions lists the flags of command, each with its argument and
// default, for its help.
func WriteOptions(w io.Writer, command string) {
	mk, ok := flagSets[command]
	if !ok {
		return
	}
	mk().VisitAll(func(f *flag.Flag) {
		_, usage := flag.UnquoteUsage(f)
		head := "-" + f.Name
		if arg := flagArg(f); arg != "" {
			head += "=" + arg
		}
		if def := f.DefValue; def != "" && def != "false" && def != "0" && def != "0s" && def != "[]" {
			usage += fmt.Sprintf(" (default %s)", def)
		}
		if len(head) <= 24 {
			fmt.Fprintf(w, "  %-24s %s\n", head, usage)
		} else {
			fmt.Fprintf(w, "  %s\n  %-24s %s\n", head, "", usage)
		}
	})
}

// flagSets makes the flag set of every command, for its help.
var flagSets = map[string]func() *flag.FlagSet{
	"validate":         func() *flag.FlagSet { return validateFlags(new(Validate)) },
	"plan":             func() *flag.FlagSet { return planFlags(new(Plan), new(viewFlags)) },
	"apply":            func() *flag.FlagSet { return applyFlags(new(Apply)) },
	"show":             func() *flag.FlagSet { return showFlags(new(Show), new(viewFlags)) },
	"output":           func() *flag.FlagSet { return outputFlags(new(Output)) },
	"import":           func() *flag.FlagSet { return importFlags(new(Import)) },
	"force-unlock":     func() *flag.FlagSet { return forceUnlockFlags(new(ForceUnlock)) },
	"fmt":              func() *flag.FlagSet { return fmtFlags(new(Fmt)) },
	"sandbox":          func() *flag.FlagSet { return sandboxFlags(new(Sandbox), new(string)) },
	"version":          func() *flag.FlagSet { return versionFlags(new(Version)) },
	"state list":       func() *flag.FlagSet { return stateListFlags(new(StateList)) },
	"state show":       func() *flag.FlagSet { return stateShowFlags(new(StateShow)) },
	"state rm":         func() *flag.FlagSet { return stateRmFlags(new(StateRm)) },
	"state mv":         func() *flag.FlagSet { return stateMvFlags(new(StateMv)) },
	"state pull":       func() *flag.FlagSet { return statePullFlags(new(StatePull)) },
	"state push":       func() *flag.FlagSet { return statePushFlags(new(StatePush)) },
	"state cache list": func() *flag.FlagSet { return stateCacheListFlags(new(StateCacheList)) },
	"state cache rm":   func() *flag.FlagSet { return stateCacheRmFlags(new(StateCacheRm)) },
}
