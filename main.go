// Command wxmedia keeps a merchant's WeChat Pay media in sync with a
// manifest kept in version control: plan, apply, outputs, state.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/wxmedia/wxmedia/internal/arguments"
	suggestpkg "github.com/wxmedia/wxmedia/internal/suggest"
)

// version is the wxmedia release; set at build time with -ldflags "-X main.version=…".
var version = "0.1.0"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// exitError carries an exit status; its message, if any, was already shown.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// errReported is returned when the problem was already shown to the user.
var errReported = errors.New("reported")

// command is everything about one command: its name, the line that lists
// it, its help (usage, description, examples, exit statuses) and its run,
// which parses the arguments into the command's typed value (package
// arguments) and runs it. The options of the help are those the parse
// takes.
type command struct {
	name     string // "plan", or "state rm" for a subcommand
	synopsis string // the line in the list of commands; "" for a subcommand
	usage    string // after "wxmedia [global options] "
	help     string // paragraphs
	examples []string
	exit     []string // "N  meaning" lines
	run      func(u *ui, args []string) error
}

// with makes a command's run: parse, then run the typed value.
func with[A any](parse func([]string) (*A, error), run func(*ui, *A) error) func(*ui, []string) error {
	return func(u *ui, args []string) error {
		a, err := parse(args)
		var ae *arguments.Error
		switch {
		case errors.As(err, &ae):
			return withHints(ae.Err, ae.Hints...)
		case err != nil:
			return err
		}
		return run(u, a)
	}
}

var (
	exitDefault = []string{"0  success", "1  an error (the message says which), or a flag or argument the command does not accept"}
	exitLocked  = []string{"0  success", "1  an error; a state lock held elsewhere fails at once unless -lock-timeout gives it time"}
)

// commands are wxmedia's commands, in the order help lists them, followed
// by the subcommands of state.
func commands() []command {
	return []command{
		{
			name: "validate", synopsis: "check the configuration and the source files, offline",
			usage: "validate [options]",
			help: "Check the configuration, its references, the merchants' keys and certificates (they exist,\n" +
				"parse, are RSA and belong together; mchid, serial_no, api_v2_key), and that every source file\n" +
				"is acceptable to its API (suffix, size, filename, magic bytes). Every problem is shown in one\n" +
				"run. Offline: no network, no state.",
			examples: []string{"wxmedia validate", "wxmedia -chdir=media validate -var env=prod"},
			exit:     []string{"0  the configuration is valid", "1  it is not: every problem is shown with its file, line and column"},
			run:      with(arguments.ParseValidate, runValidate),
		},
		{
			name: "plan", synopsis: "show what apply would upload, reuse and forget",
			usage: "plan [options]",
			help: "Hash the source files, compare them with the state, and show what apply would upload (+),\n" +
				"re-upload (~), reuse (=) and forget (-). Nothing is uploaded and the state is not written.\n" +
				"On a terminal, hashing many files shows a progress bar on stderr.",
			examples: []string{
				"wxmedia plan",
				"wxmedia plan -out=media.plan          # save it, then: wxmedia apply media.plan",
				"wxmedia plan -json > plan.json        # for programs; see docs/json.md",
				"wxmedia plan -markdown                # for a pull-request comment",
				"wxmedia plan -detailed-exitcode       # CI: exit 2 when there are changes",
				"wxmedia plan -target='wechatpay_image.banner[\"a.png\"]'",
				"wxmedia plan -target='module.store[\"sh-001\"]'  # everything in one module instance",
			},
			exit: []string{"0  success (with -detailed-exitcode: no changes)", "1  an error", "2  with -detailed-exitcode: the plan has changes"},
			run:  with(arguments.ParsePlan, runPlan),
		},
		{
			name: "apply", synopsis: "upload what changed and record the identifiers",
			usage: "apply [options] [PLANFILE]",
			help: "Plan, ask for confirmation, then upload what changed and record every identifier in the state\n" +
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
			run:  with(arguments.ParseApply, runApply),
		},
		{
			name: "show", synopsis: "show a saved plan, or the current state",
			usage:    "show [options] [PLANFILE]",
			help:     "Show a saved plan (from plan -out=FILE), or the current state when no file is given.",
			examples: []string{"wxmedia show", "wxmedia show media.plan", "wxmedia show -json media.plan"},
			exit:     exitDefault,
			run:      with(arguments.ParseShow, runShow),
		},
		{
			name: "output", synopsis: "show output values",
			usage: "output [options] [NAME]",
			help: "Show the output values recorded by the last apply: all of them, or the value of NAME.\n" +
				"Sensitive values show as (sensitive), in the list and by name; -json and -raw print them.\n" +
				"Lists and maps are written as HCL over several lines; -json writes JSON.",
			examples: []string{"wxmedia output", "wxmedia output -json", "wxmedia output -raw banner_id"},
			exit:     []string{"0  success", "1  an error, or no output NAME"},
			run:      with(arguments.ParseOutput, runOutput),
		},
		{
			name: "state", synopsis: "inspect and change the state: list, show, rm, mv, pull, push, cache",
			usage: "state SUBCOMMAND [options] [args]",
			help: "Inspect and change the state. Subcommands:\n\n" +
				"  list [ADDR…]            list the resource instances in the state\n" +
				"  show ADDR               show one resource instance\n" +
				"  rm ADDR…                forget resource instances; the content cache is kept,\n" +
				"                          so a later plan binds the same content again (reuse)\n" +
				"  mv SRC DST              record a resource, instance or module instance under\n" +
				"                          another address (into or out of a module too)\n" +
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
			run:      runState,
		},
		{
			name: "import", synopsis: "adopt an identifier uploaded before wxmedia managed it",
			usage: "import [options] ADDR ID",
			help: "Adopt an identifier (media_id, file_id, image_url or media_url) uploaded before wxmedia managed it: record\n" +
				"it for the resource instance ADDR of the configuration, with the SHA-256 of the instance's\n" +
				"source file as it is now, and in the content cache. The next plan is a no-op for it.\n" +
				"Nothing is uploaded and the identifier is not checked with the service: import only the\n" +
				"identifier of exactly these bytes.",
			examples: []string{"wxmedia import 'wechatpay_image.banner[\"a.png\"]' 6uqyGjGrCf2GtyXP8bxrbuH9-aAoTjH-rKeSl3Lf4_So"},
			exit:     exitLocked,
			run:      with(arguments.ParseImport, runImport),
		},
		{
			name: "force-unlock", synopsis: "release a state lock left by a process that is gone",
			usage: "force-unlock [LOCK_ID]",
			help: "Release the state lock and remove the holder details it left.\n\n" +
				"Local state (the default): only a lock left by a wxmedia process that is gone (killed, crashed,\n" +
				"or on a machine that went away) is released. A lock whose holder still runs is never taken\n" +
				"away: stop that process instead.\n\n" +
				"PostgreSQL backend: the lock lives as long as the holder's server session, so force-unlock ends\n" +
				"that session (pg_terminate_backend), even when the holder still runs. That is safe: the holder\n" +
				"writes only through that session, so it can write nothing more, and its next write fails.\n" +
				"LOCK_ID, the session ID the lock error shows, makes sure it is that session that ends.",
			examples: []string{"wxmedia force-unlock", "wxmedia force-unlock 12345      # postgres: only if session 12345 holds the lock"},
			exit:     []string{"0  the lock was released, or it was not locked", "1  an error; with a local state, also when the holder still runs"},
			run:      with(arguments.ParseForceUnlock, runForceUnlock),
		},
		{
			name: "fmt", synopsis: "rewrite configuration files in canonical format",
			usage: "fmt [options] [FILE|DIR…]",
			help: "Rewrite *.wxm.hcl and *.wxmvars.hcl files in canonical HCL format and list the files changed.\n" +
				"Without arguments, the current directory.",
			examples: []string{"wxmedia fmt", "wxmedia fmt -recursive", "wxmedia fmt -check -diff       # CI"},
			exit: []string{"0  every file is formatted (or was rewritten)", "1  a syntax error or another error",
				"3  with -check: some file is not formatted, as terraform fmt -check"},
			run: with(arguments.ParseFmt, runFmt),
		},
		{
			name: "sandbox", synopsis: "run the WeChat Pay API emulator as an HTTPS server",
			usage: "sandbox [options]",
			help: "Run the WeChat Pay upload API emulator (all seven APIs) as an HTTPS server, and write\n" +
				"DIR/merchant.wxm.hcl, a ready merchant block for it (with api_v3_key: it also serves GET\n" +
				"/v3/certificates). -faults=sign=certificate signs every reply with the platform certificate\n" +
				"(sign=unknown: with one its download never lists);\n" +
				"POST /_sandbox/rotate-certificate rotates it. It runs until Ctrl-C.",
			examples: []string{"wxmedia sandbox", "wxmedia sandbox -listen=127.0.0.1:9000 -faults=500=0.2,delay=50ms"},
			exit:     exitDefault,
			run:      with(arguments.ParseSandbox, runSandbox),
		},
		{
			name: "version", synopsis: "print the version",
			usage:    "version",
			help:     "Print the version and build information: platform, Go version, module version and revision.",
			examples: []string{"wxmedia version"},
			exit:     []string{"0  always"},
			run:      with(arguments.ParseVersion, runVersion),
		},
		{name: "help", synopsis: "show help for a command"},
		{
			name:     "state list",
			usage:    "state list [options] [ADDR…]",
			help:     "List the resource instances in the state, or those under the given addresses.",
			examples: []string{"wxmedia state list", "wxmedia state list wechatpay_image.banner"},
			exit:     exitLocked,
			run:      with(arguments.ParseStateList, runStateList),
		},
		{
			name:     "state show",
			usage:    "state show [options] ADDR",
			help:     "Show one resource instance of the state: its identifier, source, SHA-256, merchant and upload time.",
			examples: []string{"wxmedia state show 'wechatpay_image.banner[\"a.png\"]'"},
			exit:     exitLocked,
			run:      with(arguments.ParseStateShow, runStateShow),
		},
		{
			name:  "state rm",
			usage: "state rm [options] ADDR…",
			help: "Forget resource instances: wxmedia stops managing them. The remote media stay, and so does the\n" +
				"content cache, so a later plan binds the same content again without uploading it.\n" +
				"A resource address (type.name) removes all its instances.",
			examples: []string{"wxmedia state rm wechatpay_image.banner", "wxmedia state rm 'wechatpay_image.banner[\"a.png\"]'"},
			exit:     exitLocked,
			run:      with(arguments.ParseStateRm, runStateRm),
		},
		{
			name:  "state mv",
			usage: "state mv [options] SRC DST",
			help: "Record a resource instance (or every instance of a resource) under another address of the same\n" +
				"type, so that a renamed block keeps its identifiers; into a module or out of one too. A module\n" +
				"instance moves with every resource in it. Nothing is uploaded.",
			examples: []string{"wxmedia state mv wechatpay_image.logo wechatpay_image.brand",
				"wxmedia state mv wechatpay_image.logo 'module.store[\"sh-001\"].wechatpay_image.logo'",
				"wxmedia state mv 'module.store[\"sh-001\"]' 'module.store[\"sh-002\"]'"},
			exit: exitLocked,
			run:  with(arguments.ParseStateMv, runStateMv),
		},
		{
			name:  "state pull",
			usage: "state pull [options]",
			help: "Print the whole state as JSON on stdout: resources, outputs (sensitive values included) and the\n" +
				"content cache, with the state's lineage and serial. It never holds credentials nor the\n" +
				"machine-local stat cache. state push reads it back.",
			examples: []string{"wxmedia state pull > backup.json"},
			exit:     exitLocked,
			run:      with(arguments.ParseStatePull, runStatePull),
		},
		{
			name:  "state push",
			usage: "state push [options] FILE",
			help: "Replace the state's resources and outputs with those of FILE, a state pull document (- for stdin),\n" +
				"and add its cache entries. Refused when its lineage differs from the state's or its serial is\n" +
				"behind, unless -force. The serial afterwards is above both.",
			examples: []string{"wxmedia state push backup.json", "wxmedia state pull | jq … | wxmedia state push -"},
			exit:     exitLocked,
			run:      with(arguments.ParseStatePush, runStatePush),
		},
		{
			name:  "state cache list",
			usage: "state cache list [options] [SHA256…]",
			help: "List the content cache: which identifier each uploaded content has, per service, merchant and API.\n" +
				"SHA-256 arguments may be prefixes.",
			examples: []string{"wxmedia state cache list", "wxmedia state cache list -mchid=1900000001 -json", "wxmedia state cache list 3f2a"},
			exit:     exitLocked,
			run:      with(arguments.ParseStateCacheList, runStateCacheList),
		},
		{
			name:  "state cache rm",
			usage: "state cache rm [options] SHA256… | -mchid=ID [-api=API] | -all",
			help: "Invalidate content cache entries: a later plan uploads that content again instead of reusing\n" +
				"its identifier. Resources in the state keep their identifiers.",
			examples: []string{"wxmedia state cache rm 3f2a9c", "wxmedia state cache rm -mchid=1900000001 -api=merchant_media_image", "wxmedia state cache rm -all"},
			exit:     exitLocked,
			run:      with(arguments.ParseStateCacheRm, runStateCacheRm),
		},
	}
}

// run is the whole program; it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g, args, err := arguments.ParseGlobal(args, commandNames())
	env := readEnvironment(os.Environ())
	u := newUI(stdin, stdout, stderr, g.NoColor, env)
	if err != nil {
		var ae *arguments.Error
		errors.As(err, &ae)
		u.errorf(ae.Hints, "%s", ae.Err)
		return 1
	}
	u.chdir = g.Chdir
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
	if c, ok := lookupCommand(name); ok && c.synopsis != "" && c.run != nil {
		if env.err != nil {
			return exitCode(u, env.err)
		}
		return exitCode(u, runCommand(u, c, rest))
	}
	if msg, hint, ok := otherCommand(name, rest); ok {
		u.errorf([]string{hint}, "%s", msg)
		return 1
	}
	u.errorf([]string{"run wxmedia help to list the commands"}, "unknown command %q%s", name, suggest(name))
	return 1
}

// lookupCommand finds the command (or subcommand, "state rm") called name.
func lookupCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// runCommand runs c with its arguments; -h shows its help.
func runCommand(u *ui, c command, args []string) error {
	err := c.run(u, args)
	if errors.Is(err, arguments.ErrHelp) {
		printHelp(u.stdout, c)
		return nil
	}
	return err
}

// commandNames are the names of the commands help lists.
func commandNames() []string {
	var names []string
	for _, c := range commands() {
		if c.synopsis != "" {
			names = append(names, c.name)
		}
	}
	return names
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

func suggest(name string) string { return suggestFrom(name, commandNames()) }

// suggestFrom is the " (did you mean …?)" of a message about name, naming
// the option nearest to it (see package suggest), or "".
func suggestFrom(name string, options []string) string {
	if best := suggestpkg.Nearest(name, options); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}
