package arguments

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
)

// parsed runs parse on args and checks the value it gives.
func parsed[A any](t *testing.T, parse func([]string) (*A, error), args []string, want A) {
	t.Helper()
	got, err := parse(args)
	if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("%q:\ngot  %+v\nwant %+v", args, *got, want)
	}
}

// refused runs parse on args and checks its error.
func refused[A any](t *testing.T, parse func([]string) (*A, error), args []string, msg, hint string) {
	t.Helper()
	got, err := parse(args)
	if got != nil {
		t.Errorf("%q: got %+v with the error", args, got)
	}
	wantError(t, err, msg, hint)
}

func TestParseValidate(t *testing.T) {
	parsed(t, ParseValidate, nil, Validate{})
	parsed(t, ParseValidate, []string{"-var", "env=prod", "-var-file=p.hcl"}, Validate{Vars: Vars{{Text: "env=prod"}, {File: true, Text: "p.hcl"}}})
	refused(t, ParseValidate, []string{"x"}, "validate takes no arguments, not x", "wxmedia validate -h shows its usage")
	refused(t, ParseValidate, []string{"-lock-timeout=1s"}, "unknown flag -lock-timeout", "wxmedia validate -h lists the flags")
}

func TestParseShow(t *testing.T) {
	parsed(t, ParseShow, nil, Show{})
	parsed(t, ParseShow, []string{"-json", "p.plan"}, Show{View: ViewJSON, PlanPath: "p.plan"})
	parsed(t, ParseShow, []string{"-markdown"}, Show{View: ViewMarkdown})
	refused(t, ParseShow, []string{"-json", "-markdown"}, "-json and -markdown cannot be used together", "")
	refused(t, ParseShow, []string{"a", "b"}, "show takes at most one plan file, not 2 arguments: a b", "")
}

func TestParseOutput(t *testing.T) {
	parsed(t, ParseOutput, nil, Output{})
	parsed(t, ParseOutput, []string{"-json"}, Output{JSON: true})
	parsed(t, ParseOutput, []string{"-raw", "id"}, Output{Raw: true, Name: "id"})
	parsed(t, ParseOutput, []string{"id", "-lock-timeout=3s"}, Output{Name: "id", State: State{LockTimeout: 3 * time.Second}})
	refused(t, ParseOutput, []string{"-json", "-raw", "id"}, "-json and -raw cannot be used together", "")
	refused(t, ParseOutput, []string{"a", "b"}, "output takes at most one output name, not 2", "")
	refused(t, ParseOutput, []string{"-raw"}, "-raw needs an output name", "")
}

func TestParseImport(t *testing.T) {
	parsed(t, ParseImport, []string{`wechatpay_image.a["x.png"]`, "ID", "-var=x=1", "-lock-timeout=1m"},
		Import{Addr: `wechatpay_image.a["x.png"]`, ID: "ID", Vars: Vars{{Text: "x=1"}}, State: State{LockTimeout: time.Minute}})
	refused(t, ParseImport, []string{"a.b"}, "import needs exactly two arguments: ADDR ID", "")
	refused(t, ParseImport, []string{"a.b", "c", "d"}, "import needs exactly two arguments: ADDR ID", "")
}

func TestParseForceUnlock(t *testing.T) {
	parsed(t, ParseForceUnlock, nil, ForceUnlock{})
	parsed(t, ParseForceUnlock, []string{"12345"}, ForceUnlock{LockID: "12345"})
	refused(t, ParseForceUnlock, []string{"1", "2"}, "force-unlock takes no arguments besides an optional lock ID", "")
	refused(t, ParseForceUnlock, []string{"-force"}, "unknown flag -force", "wxmedia force-unlock -h lists the flags")
}

func TestParseFmt(t *testing.T) {
	parsed(t, ParseFmt, nil, Fmt{List: true, Write: true, Paths: []string{"."}})
	parsed(t, ParseFmt, []string{"-check", "-diff", "-recursive", "a", "b.wxm.hcl"},
		Fmt{Check: true, Diff: true, Recursive: true, List: true, Write: true, Paths: []string{"a", "b.wxm.hcl"}})
	parsed(t, ParseFmt, []string{"-list=false", "-write=false"}, Fmt{Paths: []string{"."}})
	refused(t, ParseFmt, []string{"-chek"}, "unknown flag -chek (did you mean -check?)", "wxmedia fmt -h lists the flags")
}

func TestParseSandbox(t *testing.T) {
	parsed(t, ParseSandbox, nil, Sandbox{Listen: "127.0.0.1:8787", Dir: ".wxmedia-sandbox", MchIDs: []string{"1900000001"}})
	// Merchant IDs lose their blanks and repeats, keeping their order.
	parsed(t, ParseSandbox, []string{"-listen=:0", "-dir=d", "-faults=500=0.2", "-mchid= 2, 1,2,,3"},
		Sandbox{Listen: ":0", Dir: "d", Faults: "500=0.2", MchIDs: []string{"2", "1", "3"}})
	parsed(t, ParseSandbox, []string{"-merchants=3"},
		Sandbox{Listen: "127.0.0.1:8787", Dir: ".wxmedia-sandbox", Merchants: 3, MchIDs: []string{"1900000001", "1900000002", "1900000003"}})
	refused(t, ParseSandbox, []string{"-mchid= , "}, "-mchid: want at least one merchant ID", "")
	refused(t, ParseSandbox, []string{"-merchants=1001"}, "-merchants=1001: want 1 to 1000 merchants", "")
	refused(t, ParseSandbox, []string{"-merchants=-1"}, "-merchants=-1: want 1 to 1000 merchants", "")
	refused(t, ParseSandbox, []string{"-merchants=2", "-mchid=5"}, "-merchants and -mchid: give one of them", "")
	refused(t, ParseSandbox, []string{"-merchants=2", "-mchid=1900000001"}, "-merchants and -mchid: give one of them", "")
	refused(t, ParseSandbox, []string{"-merchants=0"}, "-merchants=0: want 1 to 1000 merchants", "")
	refused(t, ParseSandbox, []string{"-mchid=1900000001,abc"}, `-mchid: "abc" is not a merchant ID: a WeChat Pay mchid is made of digits only, such as 1900000001`, "")
	refused(t, ParseSandbox, []string{"x"}, "sandbox takes no arguments, not x", "wxmedia sandbox -h shows its usage")
}

func TestParseVersion(t *testing.T) {
	parsed(t, ParseVersion, nil, Version{})
	refused(t, ParseVersion, []string{"now", "please"}, `version takes no arguments, not "now please"`, "run wxmedia version")
}

func TestParseState(t *testing.T) {
	lt := State{LockTimeout: 5 * time.Second}
	parsed(t, ParseStateList, nil, StateList{})
	parsed(t, ParseStateList, []string{"a.b", "-lock-timeout=5s", "c.d"}, StateList{State: lt, Addrs: []string{"a.b", "c.d"}})
	parsed(t, ParseStateShow, []string{"a.b"}, StateShow{Addr: "a.b"})
	refused(t, ParseStateShow, nil, "state show needs exactly one resource instance address", "")
	parsed(t, ParseStateRm, []string{"a.b", "a.c"}, StateRm{Addrs: []string{"a.b", "a.c"}})
	refused(t, ParseStateRm, nil, "state rm needs at least one resource address", "")
	parsed(t, ParseStateMv, []string{"a.b", "a.c"}, StateMv{Src: "a.b", Dst: "a.c"})
	refused(t, ParseStateMv, []string{"a.b"}, "state mv needs exactly two addresses: SRC DST", "")
	parsed(t, ParseStatePull, []string{"-lock-timeout=5s"}, StatePull{State: lt})
	refused(t, ParseStatePull, []string{"x"}, "state pull takes no arguments", "")
	parsed(t, ParseStatePush, []string{"-force", "-"}, StatePush{Force: true, Path: "-"})
	refused(t, ParseStatePush, nil, "state push needs exactly one file (- for stdin)", "")
	refused(t, ParseStatePush, []string{"-lock-timeout=5", "x"}, `-lock-timeout: "5" has no unit`, "a duration is a number with a unit (ms, s, m, h): -lock-timeout=5s")
	refused(t, ParseStateRm, []string{"-focre", "a.b"}, "unknown flag -focre", "wxmedia state rm -h lists the flags")
}

func TestParseStateCache(t *testing.T) {
	parsed(t, ParseStateCacheList, nil, StateCacheList{})
	parsed(t, ParseStateCacheList, []string{"-mchid=1", "-api=merchant_media_image", "-service=wechatpay", "-json", "3f2a"},
		StateCacheList{Filter: CacheFilter{MchID: "1", API: "merchant_media_image", Service: "wechatpay"}, JSON: true, Digests: []string{"3f2a"}})
	parsed(t, ParseStateCacheRm, []string{"-all"}, StateCacheRm{All: true})
	parsed(t, ParseStateCacheRm, []string{"-mchid=1"}, StateCacheRm{Filter: CacheFilter{MchID: "1"}})
	// Digests are compared in lower case.
	parsed(t, ParseStateCacheRm, []string{"3F2A9C"}, StateCacheRm{Digests: []string{"3f2a9c"}})
	refused(t, ParseStateCacheRm, nil, "state cache rm needs SHA-256 digests, -mchid/-api/-service, or -all", "")
	refused(t, ParseStateCacheRm, []string{"-all", "-mchid=1"}, "-all cannot be combined with other selectors", "")
	refused(t, ParseStateCacheRm, []string{"-all", "3f2a9c"}, "-all cannot be combined with other selectors", "")
	const hint = "wxmedia state cache list shows the digests"
	refused(t, ParseStateCacheRm, []string{"3f2a9"}, `"3f2a9" is not a SHA-256 or a prefix of one (6 to 64 hex digits)`, hint)
	refused(t, ParseStateCacheRm, []string{"3f2a9z"}, `"3f2a9z" is not a SHA-256 or a prefix of one (6 to 64 hex digits)`, hint)
	refused(t, ParseStateCacheRm, []string{strings.Repeat("a", 65)}, `"`+strings.Repeat("a", 65)+`" is not a SHA-256 or a prefix of one (6 to 64 hex digits)`, hint)
}

func TestParseGlobal(t *testing.T) {
	cmds := []string{"plan", "apply", "state", "help", "version"}
	for _, tc := range []struct {
		args, rest []string
		want       Global
	}{
		{[]string{"plan"}, []string{"plan"}, Global{}},
		{[]string{"-chdir=media", "-no-color", "plan", "-out=x"}, []string{"plan", "-out=x"}, Global{Chdir: "media", NoColor: true}},
		{[]string{"--chdir=a=b", "plan"}, []string{"plan"}, Global{Chdir: "a=b"}},
		// -no-color among a command's arguments counts too.
		{[]string{"apply", "-no-color"}, []string{"apply", "-no-color"}, Global{NoColor: true}},
		{[]string{"-help", "plan"}, []string{"help"}, Global{}},
		{[]string{"-v"}, []string{"version"}, Global{}},
		{nil, nil, Global{}},
	} {
		g, rest, err := ParseGlobal(tc.args, cmds)
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if g != tc.want || !reflect.DeepEqual(rest, tc.rest) {
			t.Errorf("%q: got %+v %q, want %+v %q", tc.args, g, rest, tc.want, tc.rest)
		}
	}
	const hint = "global options are -chdir=DIR and -no-color; command flags go after the command"
	for _, tc := range []struct{ arg, msg string }{
		{"-chdri=x", "unknown global option -chdri=x (did you mean -chdir?)"},
		{"-pla", "unknown global option -pla (did you mean plan?)"},
		{"-auto-approve", "unknown global option -auto-approve"},
	} {
		_, _, err := ParseGlobal([]string{tc.arg, "plan"}, cmds)
		wantError(t, err, tc.msg, hint)
	}
}

func TestWriteOptions(t *testing.T) {
	var b bytes.Buffer
	WriteOptions(&b, "apply")
	got := b.String()
	for _, line := range []string{
		"  -auto-approve            skip the confirmation\n",
		"  -lock-timeout=DURATION   how long to wait for the state lock, e.g. 30s or 2m (default 0: fail at once)\n",
		"  -parallelism=N           concurrent uploads (default 4)\n",
		"  -retry-timeout=DURATION  how long one upload keeps retrying rate limits (429), 5xx and network errors (default 5m0s)\n",
		"  -var=NAME=VALUE          set a variable: -var name=value (repeatable)\n",
		"  -no-color                no colour in the output\n",
	} {
		if !strings.Contains(got, line) {
			t.Errorf("no line %q in\n%s", line, got)
		}
	}
	if strings.Contains(got, "-json") || strings.Contains(got, "-out") {
		t.Errorf("apply lists plan's flags:\n%s", got)
	}
	// Every command that parses has options to list; state itself has
	// none of its own.
	for name := range flagSets {
		if !HasOptions(name) {
			t.Errorf("%s has no options", name)
		}
	}
	if HasOptions("state") {
		t.Error("state has options")
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"media": "media", "my dir": "'my dir'", "it's": `'it'\''s'`, "": "''", "a/b-c.d": "a/b-c.d"} {
		if got := ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
