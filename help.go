package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// helpTopic is the long help of one command: shown by "wxmedia help CMD"
// and "wxmedia CMD -h", after the usage line and before the flags.
type helpTopic struct {
	usage    string   // after "wxmedia [global options] "
	desc     string   // paragraphs
	examples []string // command lines, each with an optional "  # comment"
	exit     []string // "N  meaning" lines
}

var (
	exitDefault = []string{"0  success", "1  an error (the message says which), or a flag or argument the command does not accept"}
	exitLocked  = []string{"0  success", "1  an error; a state lock held elsewhere fails at once unless -lock-timeout gives it time"}
)

// helpTopics holds the long help of every command, by command name
// ("state rm" for subcommands).
var helpTopics = map[string]helpTopic{
	"validate": {
		usage: "validate [options]",
		desc: "Check the configuration, its references, the merchants' keys and certificates (they exist,\n" +
			"parse, are RSA and belong together; mchid, serial_no, api_v2_key), and that every source file\n" +
			"is acceptable to its API (suffix, size, filename, magic bytes). Every problem is shown in one\n" +
			"run. Offline: no network, no state.",
		examples: []string{"wxmedia validate", "wxmedia -chdir=media validate -var env=prod"},
		exit:     []string{"0  the configuration is valid", "1  it is not: every problem is shown with its file, line and column"},
	},
	"plan": {
		usage: "plan [options]",
		desc: "Hash the source files, compare them with the state, and show what apply would upload (+),\n" +
			"re-upload (~), reuse (=) and forget (-). Nothing is uploaded and the state is not written.\n" +
			"On a terminal, hashing many files shows a progress bar on stderr.",
		examples: []string{
			"wxmedia plan",
			"wxmedia plan -out=media.plan          # save it, then: wxmedia apply media.plan",
			"wxmedia plan -json > plan.json        # for programs; see docs/reference.md",
			"wxmedia plan -markdown                # for a pull-request comment",
			"wxmedia plan -detailed-exitcode       # CI: exit 2 when there are changes",
			"wxmedia plan -target='wechatpay_image.banner[\"a.png\"]'",
		},
		exit: []string{"0  success (with -detailed-exitcode: no changes)", "1  an error", "2  with -detailed-exitcode: the plan has changes"},
	},
	"apply": {
		usage: "apply [options] [PLANFILE]",
		desc: "Plan, ask for confirmation, then upload what changed and record every identifier in the state\n" +
			"as soon as its reply verifies. With PLANFILE (from plan -out), apply exactly that plan, without\n" +
			"asking: it is refused if the state, the configuration or a planned file changed since planning;\n" +
			"only -lock-timeout, -parallelism, -input, -var, -var-file and -no-color go with it.\n\n" +
			"One line per finished change goes to stdout; on a terminal, uploads show a progress bar on\n" +
			"stderr, otherwise a progress line every few seconds. Ctrl-C once stops starting uploads and lets\n" +
			"those in flight finish and be recorded; twice ends at once.",
		examples: []string{
			"wxmedia apply                          # plan, confirm with yes, upload",
			"wxmedia apply -auto-approve            # CI: no confirmation",
			"wxmedia apply media.plan               # a plan saved with plan -out",
			"wxmedia apply -auto-approve -parallelism=8",
		},
		exit: []string{"0  every change applied", "1  an error, some change failed (each is listed; the rest was applied and recorded), or an interrupt (first Ctrl-C: uploads in flight finish and are recorded; second: they are abandoned)"},
	},
	"show": {
		usage:    "show [options] [PLANFILE]",
		desc:     "Show a saved plan (from plan -out=FILE), or the current state when no file is given.",
		examples: []string{"wxmedia show", "wxmedia show media.plan", "wxmedia show -json media.plan"},
		exit:     exitDefault,
	},
	"output": {
		usage: "output [options] [NAME]",
		desc: "Show the output values recorded by the last apply: all of them, or the value of NAME.\n" +
			"Sensitive values show as (sensitive), in the list and by name; -json and -raw print them.\n" +
			"Lists and maps are written as HCL over several lines; -json writes JSON.",
		examples: []string{"wxmedia output", "wxmedia output -json", "wxmedia output -raw banner_id"},
		exit:     []string{"0  success", "1  an error, or no output NAME"},
	},
	"state": {
		usage: "state SUBCOMMAND [options] [args]",
		desc: "Inspect and change the state. Subcommands:\n\n" +
			"  list [ADDR…]            list the resource instances in the state\n" +
			"  show ADDR               show one resource instance\n" +
			"  rm ADDR…                forget resource instances; the content cache is kept,\n" +
			"                          so a later plan binds the same content again (reuse)\n" +
			"  mv SRC DST              record a resource or instance under another address\n" +
			"  pull                    print the whole state as JSON: resources, outputs and\n" +
			"                          the content cache, with lineage and serial\n" +
			"  push [-force] FILE      replace the state with a pulled copy (- reads stdin);\n" +
			"                          refused when its lineage differs or its serial is\n" +
			"                          behind, unless -force\n" +
			"  cache list [SHA256…]    list the content cache [-mchid=ID] [-api=API] [-service=S]\n" +
			"  cache rm SHA256…        invalidate cache entries by content\n" +
			"  cache rm -mchid=ID [-api=API]   … by merchant (and API)\n" +
			"  cache rm -all           … every entry\n\n" +
			"Commands that change the state take its lock (-lock-timeout=DUR, default 0)\n" +
			"and increment its serial. wxmedia help state SUBCOMMAND shows each one's flags.",
		examples: []string{"wxmedia state list", "wxmedia state mv wechatpay_image.old wechatpay_image.new", "wxmedia state pull > backup.json"},
		exit:     exitLocked,
	},
	"state list": {
		usage:    "state list [options] [ADDR…]",
		desc:     "List the resource instances in the state, or those under the given addresses.",
		examples: []string{"wxmedia state list", "wxmedia state list wechatpay_image.banner"},
		exit:     exitLocked,
	},
	"state show": {
		usage:    "state show [options] ADDR",
		desc:     "Show one resource instance of the state: its identifier, source, SHA-256, merchant and upload time.",
		examples: []string{"wxmedia state show 'wechatpay_image.banner[\"a.png\"]'"},
		exit:     exitLocked,
	},
	"state rm": {
		usage: "state rm [options] ADDR…",
		desc: "Forget resource instances: wxmedia stops managing them. The remote media stay, and so does the\n" +
			"content cache, so a later plan binds the same content again without uploading it.\n" +
			"A resource address (type.name) removes all its instances.",
		examples: []string{"wxmedia state rm wechatpay_image.banner", "wxmedia state rm 'wechatpay_image.banner[\"a.png\"]'"},
		exit:     exitLocked,
	},
	"state mv": {
		usage: "state mv [options] SRC DST",
		desc: "Record a resource instance (or every instance of a resource) under another address of the same\n" +
			"type, so that a renamed block keeps its identifiers. Nothing is uploaded.",
		examples: []string{"wxmedia state mv wechatpay_image.logo wechatpay_image.brand"},
		exit:     exitLocked,
	},
	"state pull": {
		usage: "state pull [options]",
		desc: "Print the whole state as JSON on stdout: resources, outputs (sensitive values included) and the\n" +
			"content cache, with the state's lineage and serial. It never holds credentials nor the\n" +
			"machine-local stat cache. state push reads it back.",
		examples: []string{"wxmedia state pull > backup.json"},
		exit:     exitLocked,
	},
	"state push": {
		usage: "state push [options] FILE",
		desc: "Replace the state's resources and outputs with those of FILE, a state pull document (- for stdin),\n" +
			"and add its cache entries. Refused when its lineage differs from the state's or its serial is\n" +
			"behind, unless -force. The serial afterwards is above both.",
		examples: []string{"wxmedia state push backup.json", "wxmedia state pull | jq … | wxmedia state push -"},
		exit:     exitLocked,
	},
	"state cache list": {
		usage: "state cache list [options] [SHA256…]",
		desc: "List the content cache: which identifier each uploaded content has, per service, merchant and API.\n" +
			"SHA-256 arguments may be prefixes.",
		examples: []string{"wxmedia state cache list", "wxmedia state cache list -mchid=1900000001 -json", "wxmedia state cache list 3f2a"},
		exit:     exitLocked,
	},
	"state cache rm": {
		usage: "state cache rm [options] SHA256… | -mchid=ID [-api=API] | -all",
		desc: "Invalidate content cache entries: a later plan uploads that content again instead of reusing\n" +
			"its identifier. Resources in the state keep their identifiers.",
		examples: []string{"wxmedia state cache rm 3f2a9c", "wxmedia state cache rm -mchid=1900000001 -api=merchant_media_image", "wxmedia state cache rm -all"},
		exit:     exitLocked,
	},
	"import": {
		usage: "import [options] ADDR ID",
		desc: "Adopt an identifier (media_id, file_id, image_url or media_url) uploaded before wxmedia managed it: record\n" +
			"it for the resource instance ADDR of the configuration, with the SHA-256 of the instance's\n" +
			"source file as it is now, and in the content cache. The next plan is a no-op for it.\n" +
			"Nothing is uploaded and the identifier is not checked with the service: import only the\n" +
			"identifier of exactly these bytes.",
		examples: []string{"wxmedia import 'wechatpay_image.banner[\"a.png\"]' 6uqyGjGrCf2GtyXP8bxrbuH9-aAoTjH-rKeSl3Lf4_So"},
		exit:     exitLocked,
	},
	"force-unlock": {
		usage: "force-unlock [LOCK_ID]",
		desc: "Release the state lock and remove the holder details it left.\n\n" +
			"Local state (the default): only a lock left by a wxmedia process that is gone (killed, crashed,\n" +
			"or on a machine that went away) is released. A lock whose holder still runs is never taken\n" +
			"away: stop that process instead.\n\n" +
			"PostgreSQL backend: the lock lives as long as the holder's server session, so force-unlock ends\n" +
			"that session (pg_terminate_backend), even when the holder still runs. That is safe: the holder\n" +
			"writes only through that session, so it can write nothing more, and its next write fails.\n" +
			"LOCK_ID, the session ID the lock error shows, makes sure it is that session that ends.",
		examples: []string{"wxmedia force-unlock", "wxmedia force-unlock 12345      # postgres: only if session 12345 holds the lock"},
		exit:     []string{"0  the lock was released, or it was not locked", "1  an error; with a local state, also when the holder still runs"},
	},
	"fmt": {
		usage: "fmt [options] [FILE|DIR…]",
		desc: "Rewrite *.wxm.hcl and *.wxmvars.hcl files in canonical HCL format and list the files changed.\n" +
			"Without arguments, the current directory.",
		examples: []string{"wxmedia fmt", "wxmedia fmt -recursive", "wxmedia fmt -check -diff       # CI"},
		exit: []string{"0  every file is formatted (or was rewritten)", "1  a syntax error or another error",
			"3  with -check: some file is not formatted, as terraform fmt -check"},
	},
	"sandbox": {
		usage: "sandbox [options]",
		desc: "Run the WeChat Pay upload API emulator (all seven APIs) as an HTTPS server, and write\n" +
			"DIR/merchant.wxm.hcl, a ready merchant block for it (with api_v3_key: it also serves GET\n" +
			"/v3/certificates). -faults=sign=certificate signs every reply with the platform certificate\n" +
			"(sign=unknown: with one its download never lists);\n" +
			"POST /_sandbox/rotate-certificate rotates it. It runs until Ctrl-C.",
		examples: []string{"wxmedia sandbox", "wxmedia sandbox -listen=127.0.0.1:9000 -faults=500=0.2,delay=50ms"},
		exit:     exitDefault,
	},
	"version": {
		usage:    "version",
		desc:     "Print the version and build information: platform, Go version, module version and revision.",
		examples: []string{"wxmedia version"},
		exit:     []string{"0  always"},
	},
}

// globalExamples are shown by "wxmedia" and "wxmedia help".
var globalExamples = []string{
	"wxmedia validate",
	"wxmedia plan",
	"wxmedia apply",
	"wxmedia -chdir=examples/quickstart apply -auto-approve",
	"wxmedia help apply",
}

// printHelp writes the long help of command name with the flags of fs.
func printHelp(w io.Writer, name string, fs *flag.FlagSet) {
	t, ok := helpTopics[name]
	if !ok {
		t = helpTopic{usage: name + " [options]", exit: exitDefault}
	}
	fmt.Fprintf(w, "Usage: wxmedia [global options] %s\n", t.usage)
	if t.desc != "" {
		fmt.Fprintf(w, "\n%s\n", indent(t.desc))
	}
	if fs != nil {
		fmt.Fprintf(w, "\nOptions:\n")
		printFlags(w, fs)
	}
	writeExamples(w, t.examples)
	writeExit(w, t.exit)
}

// flagArgs names the argument of flags whose type says too little.
var flagArgs = map[string]string{
	"var": "NAME=VALUE", "var-file": "FILE", "target": "ADDR", "replace": "ADDR",
	"out": "FILE", "lock-timeout": "DURATION", "parallelism": "N", "listen": "ADDR",
	"dir": "DIR", "faults": "SPEC", "mchid": "ID", "api": "API", "service": "SERVICE",
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

// printFlags lists the flags of fs, each with its argument and default.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
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

func writeExamples(w io.Writer, examples []string) {
	if len(examples) == 0 {
		return
	}
	fmt.Fprintf(w, "\nExamples:\n")
	for _, e := range examples {
		fmt.Fprintf(w, "  %s\n", e)
	}
}

func writeExit(w io.Writer, exit []string) {
	fmt.Fprintf(w, "\nExit status:\n")
	for _, e := range exit {
		fmt.Fprintf(w, "  %s\n", e)
	}
}

func indent(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = "  " + l
		}
	}
	return strings.Join(lines, "\n")
}

// usage writes the program's help: every command, the global options,
// examples and the exit statuses.
func usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: wxmedia [-chdir=DIR] [-no-color] COMMAND [flags] [args]\n\n")
	fmt.Fprintf(w, "  wxmedia keeps a merchant's WeChat Pay media in sync with the *.wxm.hcl files\n  of a directory: it uploads new or changed files and records their identifiers.\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-13s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nGlobal options (before the command):\n")
	fmt.Fprintf(w, "  %-20s %s\n", "-chdir=DIR", "work in DIR instead of the current directory")
	fmt.Fprintf(w, "  %-20s %s\n", "-no-color", "no colour in the output (also NO_COLOR=1, or any stream that is not a terminal)")
	fmt.Fprintf(w, "  %-20s %s\n", "-help", "show this help; wxmedia help COMMAND, or COMMAND -h, for a command's help")
	fmt.Fprintf(w, "  %-20s %s\n", "-version", "show the version")
	fmt.Fprintf(w, "\nEnvironment:\n")
	fmt.Fprintf(w, "  %-27s %s\n", "WXMEDIA_VAR_name=VALUE", "set a variable (lowest precedence)")
	fmt.Fprintf(w, "  %-27s %s\n", "WXMEDIA_LOG=debug|info|off", "structured logs on stderr, credentials redacted; debug: each upload attempt")
	fmt.Fprintf(w, "  %-27s %s\n", "WXMEDIA_PROGRESS_INTERVAL", "how often progress lines are written when stderr is not a terminal (default 5s; off);\n"+strings.Repeat(" ", 30)+"another value of these two is an error")
	fmt.Fprintf(w, "  %-27s %s\n", "NO_COLOR=1", "no colour")
	writeExamples(w, globalExamples)
	writeExit(w, []string{"0  success", "1  an error", "2  plan -detailed-exitcode: the plan has changes", "3  fmt -check: some file is not formatted"})
}
