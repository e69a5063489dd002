package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/wxmedia/wxmedia/uploader/sandbox"
)

func TestMain(m *testing.M) {
	scriptCmds = testScriptCmds()
	testscript.Main(m, map[string]func(){
		"wxmedia": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScript runs the end-to-end scripts in testdata/script: each gets a
// sandbox server of its own (see setupSandbox) and a copy of
// examples/quickstart in $WORK/quickstart.
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			if err := setupSandbox(env); err != nil {
				return err
			}
			return copyDir("examples/quickstart", filepath.Join(env.WorkDir, "quickstart"))
		},
		Cmds: scriptCmds,
		// [slow]: scripts that take more than a few seconds run when
		// WXMEDIA_SLOW_TESTS is set, as CI does.
		Condition: func(cond string) (bool, error) {
			if cond == "slow" {
				return os.Getenv("WXMEDIA_SLOW_TESTS") != "", nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

// setupSandbox gives a script a sandbox server of its own over real HTTPS
// (its URL in $SANDBOX_URL, stopped when the script ends), a ready
// merchant block for it in $WORK/merchant.wxm.hcl, and NO_COLOR.
func setupSandbox(env *testscript.Env) error {
	sb, err := sandbox.Open(filepath.Join(env.WorkDir, ".sandbox"))
	if err != nil {
		return err
	}
	srv, err := sb.Start("127.0.0.1:0")
	if err != nil {
		sb.Close()
		return err
	}
	env.Defer(func() {
		srv.Close()
		sb.Close()
	})
	if err := sb.WriteMerchantConfig(filepath.Join(env.WorkDir, "merchant.wxm.hcl"), srv.URL(), "1900000001"); err != nil {
		return err
	}
	env.Values["sandbox"] = sb
	env.Setenv("SANDBOX_URL", srv.URL())
	env.Setenv("SANDBOX_ADDR", strings.TrimPrefix(srv.URL(), "https://"))
	env.Setenv("NO_COLOR", "1")
	return nil
}

// scriptCmds are the custom testscript commands, set once by TestMain.
var scriptCmds map[string]func(ts *testscript.TestScript, neg bool, args []string)

// testScriptCmds are every custom testscript command, with the file that
// defines it.
func testScriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"uploads":        cmdUploads,
		"uploaded":       cmdUploaded,
		"fault":          cmdFault,
		"mkimage":        cmdMkimage,
		"exitcode":       cmdExitcode,
		"sbuploads":      cmdSandboxDirUploads,
		"uploadsbetween": cmdUploadsBetween, // pgscript_test.go
		"pgexec":         cmdPgexec,         // pgscript_test.go
		"waitfile":       cmdWaitfile,       // script_apis_test.go
		"mkmedia":        cmdMkmedia,        // script_apis_test.go
		"sbstats":        cmdSbstats,        // script_apis_test.go
		"mkfile":         cmdMkfile,         // script_bad_test.go
		"mkbadname":      cmdMkbadname,      // script_bad_test.go
		"truncate":       cmdTruncate,       // script_bad_test.go
		"mkbomb":         cmdMkbomb,         // script_bounded_test.go
		"sbrotate":       cmdSbrotate,       // script_certs_test.go
		"samenum":        cmdSameNum,        // script_count_test.go
		"sleep":          cmdSleep,          // script_count_test.go
		"flipin":         cmdFlipIn,         // script_damage_test.go
		"damagepage":     cmdDamagePage,     // script_damage_test.go
		"jsonset":        cmdJSONSet,        // script_edit_test.go
		"sbshops":        cmdSbshops,        // script_modules_test.go
		"sizeof":         cmdSizeOf,         // script_edit_test.go
		"setendpoint":    cmdSetEndpoint,    // script_endpoint_test.go
		"mkimages":       cmdMkimages,       // script_endpoint_test.go
		"clock":          cmdClock,          // script_endpoint_test.go
		"mkimageq":       cmdMkimageQuoted,  // script_escape_test.go
		"cpq":            cmdCopyQuoted,     // script_escape_test.go
		"ctlfree":        cmdCtlfree,        // script_escape_test.go
		"hostileserver":  cmdHostileServer,  // script_escape_test.go
		"waitrewrite":    cmdWaitRewrite,    // script_escape_test.go
		"workflow":       cmdWorkflow,       // script_examples_test.go
		"sandboxsecrets": cmdSandboxSecrets, // script_examples_test.go
		"examplecmds":    cmdExampleCmds,    // script_examples_test.go
		"mkkey":          cmdMkkey,          // script_hints_test.go
		"mkcert":         cmdMkcert,         // script_hints_test.go
		"hclset":         cmdHclset,         // script_hints_test.go
		"holdlock":       cmdHoldlock,       // script_hints_test.go
		"shaprefix":      cmdShaprefix,      // script_hints_test.go
		"jsonenv":        cmdJSONEnv,        // script_hints_test.go
		"jsonfield":      cmdJSONField,      // script_plan_test.go
		"jsonsha":        cmdJSONSha,        // script_plan_test.go
		"pemline":        cmdPemline,        // script_secrets_test.go
		"hclattr":        cmdHCLAttr,        // script_secrets_test.go
		"dropattr":       cmdDropAttr,       // script_secrets_test.go
		"setattr":        cmdSetAttr,        // script_secrets_test.go
		"perm":           cmdPerm,           // script_secrets_test.go
		"waituploads":    cmdWaitUploads,    // script_secrets_test.go
		"rawgrep":        cmdRawgrep,        // script_state_test.go
		"v2keyvar":       cmdV2KeyVar,       // script_state_test.go
		"sha256of":       cmdSHA256Of,       // script_state_test.go
		"copyexample":    cmdCopyExample,    // script_state_test.go
		"stalledserver":  cmdStalledServer,  // script_state_test.go
		"timer":          cmdTimer,          // script_state_test.go
		"barshown":       cmdBarShown,       // script_tty_test.go
	}
}

func sandboxOf(ts *testscript.TestScript) *sandbox.Sandbox {
	return ts.Value("sandbox").(*sandbox.Sandbox)
}

// uploads N: the sandbox issued exactly N identifiers so far.
func cmdUploads(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: uploads N")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := sandboxOf(ts).Stats().Uploads
	if (got == want) == neg {
		ts.Fatalf("sandbox counted %d uploads, want %s%d", got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}

// uploaded FILE N: the sandbox issued N identifiers for FILE's bytes.
func cmdUploaded(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: uploaded FILE N")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	s := sha256.Sum256(b)
	got := sandboxOf(ts).Stats().BySHA256[hex.EncodeToString(s[:])]
	if (got == want) == neg {
		ts.Fatalf("sandbox counted %d uploads of %s, want %d", got, args[0], want)
	}
}

// fault SPEC: set the sandbox's faults ("" for none).
func cmdFault(ts *testscript.TestScript, neg bool, args []string) {
	spec := ""
	if len(args) > 0 {
		spec = args[0]
	}
	f, err := sandbox.ParseFaults(spec)
	ts.Check(err)
	sandboxOf(ts).SetFaults(f)
}

// mkimage FILE [SEED]: write a small real image (png, jpg or bmp by suffix)
// whose pixels depend on SEED (default: FILE).
func cmdMkimage(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: mkimage FILE [SEED]")
	}
	seed := args[0]
	if len(args) == 2 {
		seed = args[1]
	}
	b, err := makeImage(filepath.Ext(args[0]), seed)
	ts.Check(err)
	p := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(filepath.Dir(p), 0o755))
	ts.Check(os.WriteFile(p, b, 0o644))
}

// exitcode N PROG ARGS...: run PROG and require exit status N.
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: exitcode N PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		got = ee.ExitCode()
	} else if err != nil {
		ts.Fatalf("%v", err)
	}
	if got != want {
		ts.Fatalf("exit status %d, want %d", got, want)
	}
}

// sbuploads DIR N: the in-process sandbox kept in DIR issued N identifiers.
func cmdSandboxDirUploads(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: sbuploads DIR N")
	}
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	sb, err := sandbox.Open(ts.MkAbs(args[0]))
	ts.Check(err)
	defer sb.Close()
	if got := sb.Stats().Uploads; (got == want) == neg {
		ts.Fatalf("sandbox in %s counted %d uploads, want %d", args[0], got, want)
	}
}

func makeImage(ext, seed string) ([]byte, error) {
	h := fnv.New64a()
	h.Write([]byte(seed))
	v := h.Sum64()
	m := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for y := 0; y < 16; y++ {
		for x := 0; x < 16; x++ {
			m.Set(x, y, color.RGBA{uint8(v >> (x % 8 * 8)), uint8(v >> (y % 8 * 8)), uint8(x * y), 255})
		}
	}
	var b bytes.Buffer
	switch ext {
	case ".png", ".PNG":
		err := png.Encode(&b, m)
		return b.Bytes(), err
	case ".jpg", ".jpeg", ".JPG":
		err := jpeg.Encode(&b, m, nil)
		return b.Bytes(), err
	case ".bmp":
		// A 1x1 24-bit BMP whose pixel carries the seed.
		b.WriteString("BM")
		hdr := []byte{58, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 24, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
		b.Write(hdr)
		b.Write([]byte{uint8(v), uint8(v >> 8), uint8(v >> 16), 0})
		return b.Bytes(), nil
	}
	return nil, fmt.Errorf("mkimage: unsupported suffix %q", ext)
}

func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() && d.Name() == ".wxmedia" {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}
