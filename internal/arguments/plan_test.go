package arguments

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// wantError checks that err is a command-line error whose message is msg
// and, when hint is not "", whose first hint is hint.
func wantError(t *testing.T, err error, msg, hint string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", msg)
	}
	if err.Error() != msg {
		t.Errorf("error %q, want %q", err, msg)
	}
	if hint == "" {
		return
	}
	var ae *Error
	if !errors.As(err, &ae) || len(ae.Hints) == 0 {
		t.Fatalf("error %q has no hint, want %q", err, hint)
	}
	if ae.Hints[0] != hint {
		t.Errorf("hint %q, want %q", ae.Hints[0], hint)
	}
}

func TestParsePlan(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want Plan
	}{
		{nil, Plan{Input: true}},
		{[]string{"-detailed-exitcode"}, Plan{Input: true, DetailedExitcode: true}},
		{[]string{"-out=p.plan"}, Plan{Input: true, Out: "p.plan"}},
		{[]string{"-out", "p.plan"}, Plan{Input: true, Out: "p.plan"}},
		{[]string{"-input=false"}, Plan{}},
		{[]string{"-json"}, Plan{Input: true, View: ViewJSON}},
		{[]string{"-markdown"}, Plan{Input: true, View: ViewMarkdown}},
		{[]string{"-no-color"}, Plan{Common: Common{NoColor: true}, Input: true}},
		{[]string{"-refresh-hashes"}, Plan{Input: true, Operation: Operation{RefreshHashes: true}}},
		{[]string{"-lock-timeout=2m"}, Plan{Input: true, Operation: Operation{State: State{LockTimeout: 2 * time.Minute}}}},
		// -target and -replace repeat, in command-line order.
		{[]string{"-target=a.b", "-replace", "c.d", "-target", `a.e["x"]`, "-replace=c.f"},
			Plan{Input: true, Operation: Operation{Targets: []string{"a.b", `a.e["x"]`}, Replace: []string{"c.d", "c.f"}}}},
		// -var and -var-file keep their order across both flags; a value
		// may hold "=".
		{[]string{"-var-file=a.hcl", "-var", "x=1", "-var=y=a=b", "-var-file", "b.hcl", "-var=x=2"},
			Plan{Input: true, Operation: Operation{Vars: Vars{{File: true, Text: "a.hcl"}, {Text: "x=1"}, {Text: "y=a=b"}, {File: true, Text: "b.hcl"}, {Text: "x=2"}}}}},
		// Flags after a "--" are not flags; none stands here.
		{[]string{"-out=x", "--"}, Plan{Input: true, Out: "x"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			got, err := ParsePlan(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("got %+v\nwant %+v", *got, tc.want)
			}
		})
	}
}

func TestParsePlanInvalid(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		msg, hint string
	}{
		{[]string{"-json", "-markdown"}, "-json and -markdown cannot be used together", ""},
		{[]string{"-paralelism=2"}, "unknown flag -paralelism", "wxmedia plan -h lists the flags"},
		{[]string{"-tagret=a.b"}, "unknown flag -tagret (did you mean -target?)", "wxmedia plan -h lists the flags"},
		{[]string{"-out"}, "flag -out needs a value: -out=FILE", "wxmedia plan -h lists the flags"},
		{[]string{"-var"}, "flag -var needs a value: -var=NAME=VALUE", ""},
		{[]string{"-var=x"}, `plan: invalid value "x" for flag -var: "x" is not name=value`, "wxmedia plan -h lists the flags"},
		{[]string{"-var-file="}, `plan: invalid value "" for flag -var-file: -var-file needs a file name`, ""},
		{[]string{"-lock-timeout=5"}, `-lock-timeout: "5" has no unit`, "a duration is a number with a unit (ms, s, m, h): -lock-timeout=5s"},
		{[]string{"-lock-timeout=soon"}, `-lock-timeout: "soon" is not a duration`, "a duration is a number with a unit (ms, s, m, h): -lock-timeout=30s"},
		{[]string{"-lock-timeout=-1s"}, `-lock-timeout: "-1s" is not a duration`, ""},
		{[]string{"-detailed-exitcode=maybe"}, `plan: invalid boolean value "maybe" for -detailed-exitcode: parse error`, ""},
		{[]string{"-chdir=media"}, "-chdir is a global option: it goes before the command", "run wxmedia -chdir=media plan"},
		{[]string{"-chdir", "my dir"}, "-chdir is a global option: it goes before the command", "run wxmedia -chdir='my dir' plan"},
		{[]string{"extra", "args"}, "plan takes no arguments, not extra args", "wxmedia plan -h shows its usage"},
		// A directory is what Terraform's older commands took.
		{[]string{"."}, "plan takes no arguments, not .", "to work in directory ., run wxmedia -chdir=. plan"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			got, err := ParsePlan(tc.args)
			if got != nil {
				t.Errorf("got %+v with the error", got)
			}
			wantError(t, err, tc.msg, tc.hint)
		})
	}
}

func TestParseHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"-help"}, {"--help"}, {"-out=x", "-h"}} {
		if _, err := ParsePlan(args); !errors.Is(err, ErrHelp) {
			t.Errorf("%q: %v, want ErrHelp", args, err)
		}
	}
	if _, err := ParseStateRm([]string{"-h"}); !errors.Is(err, ErrHelp) {
		t.Errorf("state rm -h: %v, want ErrHelp", err)
	}
}

func TestParseApply(t *testing.T) {
	def := Apply{Input: true, Parallelism: 4, RetryTimeout: 5 * time.Minute}
	with := func(f func(*Apply)) Apply { a := def; f(&a); return a }
	for _, tc := range []struct {
		args []string
		want Apply
	}{
		{nil, def},
		{[]string{"-auto-approve"}, with(func(a *Apply) { a.AutoApprove = true })},
		{[]string{"-input=false"}, with(func(a *Apply) { a.Input = false })},
		{[]string{"-parallelism=1"}, with(func(a *Apply) { a.Parallelism = 1 })},
		{[]string{"-parallelism", "256"}, with(func(a *Apply) { a.Parallelism = 256 })},
		{[]string{"-retry-timeout=10m"}, with(func(a *Apply) { a.RetryTimeout = 10 * time.Minute })},
		{[]string{"-target=a.b", "-target=a.c"}, with(func(a *Apply) { a.Targets = []string{"a.b", "a.c"} })},
		{[]string{"-replace=a.b", "-refresh-hashes"}, with(func(a *Apply) { a.Replace = []string{"a.b"}; a.RefreshHashes = true })},
		// A saved plan takes the flags that do not change what is applied,
		// before or after it.
		{[]string{"-auto-approve", "p.plan", "-parallelism=8", "-lock-timeout=1s", "-var=x=1", "-var-file=v.hcl", "-input=false", "-retry-timeout=1m", "-no-color"},
			Apply{Common: Common{NoColor: true}, AutoApprove: true, PlanPath: "p.plan", Parallelism: 8, RetryTimeout: time.Minute,
				Operation: Operation{State: State{LockTimeout: time.Second}, Vars: Vars{{Text: "x=1"}, {File: true, Text: "v.hcl"}}}}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			got, err := ParseApply(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("got %+v\nwant %+v", *got, tc.want)
			}
		})
	}
}

func TestParseApplyInvalid(t *testing.T) {
	const parHint = "the default, 4, suits most merchants; the APIs rate-limit long before hundreds of concurrent uploads"
	for _, tc := range []struct {
		args      []string
		msg, hint string
	}{
		// -parallelism is bounded by the contract: 1 to 256.
		{[]string{"-parallelism=0"}, "-parallelism must be between 1 and 256, not 0", parHint},
		{[]string{"-parallelism=257"}, "-parallelism must be between 1 and 256, not 257", parHint},
		{[]string{"-parallelism=-3"}, "-parallelism must be between 1 and 256, not -3", parHint},
		{[]string{"-parallelism=four"}, `apply: invalid value "four" for flag -parallelism: parse error`, "wxmedia apply -h lists the flags"},
		{[]string{"-paralelism=4"}, "unknown flag -paralelism (did you mean -parallelism?)", "wxmedia apply -h lists the flags"},
		{[]string{"-retry-timeout=0s"}, "-retry-timeout must be a positive duration such as 10m, not 0s", ""},
		{[]string{"-retry-timeout=-1m"}, "-retry-timeout must be a positive duration such as 10m, not -1m0s", ""},
		{[]string{"-retry-timeout=ten"}, `apply: invalid value "ten" for flag -retry-timeout: parse error`, ""},
		{[]string{"a.plan", "b.plan"}, "apply takes at most one plan file, not 2 arguments: a.plan b.plan", ""},
		{[]string{"-json"}, "unknown flag -json", ""},
		{[]string{"p.plan", "-target=a.b", "-refresh-hashes"}, "-refresh-hashes, -target cannot be used with a saved plan: the plan already fixes what is applied",
			"give planning flags to plan -out=FILE instead"},
		{[]string{"-replace=a.b", "p.plan"}, "-replace cannot be used with a saved plan: the plan already fixes what is applied", ""},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := ParseApply(tc.args)
			wantError(t, err, tc.msg, tc.hint)
		})
	}
}

func TestVarNameValue(t *testing.T) {
	n, v := Var{Text: "a=b=c"}.NameValue()
	if n != "a" || v != "b=c" {
		t.Errorf("got %q %q", n, v)
	}
}
