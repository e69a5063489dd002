package main

import (
	"regexp"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// sleep DURATION: pause, e.g. between two signals.
func cmdSleep(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: sleep DURATION")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	time.Sleep(d)
}

// samenum FILE1 REGEXP1 FILE2 REGEXP2: the first group of REGEXP1 in FILE1
// and of REGEXP2 in FILE2 match the same text, e.g. the count of not
// started uploads in the headline and in the message below it. FILE may
// be stdout or stderr, the last command's.
func cmdSameNum(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 4 || neg {
		ts.Fatalf("usage: samenum FILE1 REGEXP1 FILE2 REGEXP2")
	}
	find := func(file, expr string) string {
		re, err := regexp.Compile("(?m)" + expr)
		ts.Check(err)
		m := re.FindStringSubmatch(ts.ReadFile(file))
		if len(m) < 2 {
			ts.Fatalf("no match for %q with a group in %s", expr, file)
		}
		return m[1]
	}
	a, b := find(args[0], args[1]), find(args[2], args[3])
	if a != b {
		ts.Fatalf("%s says %s, %s says %s", args[0], a, args[2], b)
	}
	ts.Logf("both say %s", a)
}
