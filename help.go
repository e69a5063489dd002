package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/wxmedia/wxmedia/internal/arguments"
)

// globalExamples are shown by "wxmedia" and "wxmedia help".
var globalExamples = []string{
	"wxmedia validate",
	"wxmedia plan",
	"wxmedia apply",
	"wxmedia -chdir=examples/quickstart apply -auto-approve",
	"wxmedia help apply",
}

// printHelp writes the long help of command c: "wxmedia help CMD" and
// "wxmedia CMD -h". Its options are those its parse takes.
func printHelp(w io.Writer, c command) {
	fmt.Fprintf(w, "Usage: wxmedia [global options] %s\n", c.usage)
	if c.help != "" {
		fmt.Fprintf(w, "\n%s\n", indent(c.help))
	}
	if arguments.HasOptions(c.name) {
		fmt.Fprintf(w, "\nOptions:\n")
		arguments.WriteOptions(w, c.name)
	}
	writeExamples(w, c.examples)
	writeExit(w, c.exit)
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
		if c.synopsis != "" {
			fmt.Fprintf(w, "  %-13s %s\n", c.name, c.synopsis)
		}
	}
	fmt.Fprintf(w, "\nGlobal options (before the command):\n")
	fmt.Fprintf(w, "  %-20s %s\n", "-chdir=DIR", "work in DIR instead of the current directory")
	fmt.Fprintf(w, "  %-20s %s\n", "-no-color", "no colour in the output (also NO_COLOR=1, or any stream that is not a terminal)")
	fmt.Fprintf(w, "  %-20s %s\n", "-help", "show this help; wxmedia help COMMAND, or COMMAND -h, for a command's help")
	fmt.Fprintf(w, "  %-20s %s\n", "-version", "show the version")
	fmt.Fprintf(w, "\nEnvironment:\n")
	fmt.Fprintf(w, "  %-27s %s\n", "WXMEDIA_VAR_name=VALUE", "set a variable (lowest precedence)")
	fmt.Fprintf(w, "  %-27s %s\n", "WXMEDIA_LOG=debug|info|off", "structured logs on stderr, credentials redacted; debug: each upload attempt")
	fmt.Fprintf(w, "  %-27s %s\n", "WXMEDIA_PROGRESS_INTERVAL", "how often progress lines are written when stderr is not a terminal (default 5s; off: none);\n"+strings.Repeat(" ", 30)+"an unknown value of WXMEDIA_LOG or WXMEDIA_PROGRESS_INTERVAL is an error")
	fmt.Fprintf(w, "  %-27s %s\n", "NO_COLOR=1", "no colour")
	writeExamples(w, globalExamples)
	writeExit(w, []string{"0  success", "1  an error", "2  plan -detailed-exitcode: the plan has changes", "3  fmt -check: some file is not formatted"})
}
