package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
	"go.yaml.in/yaml/v3"
)

// The example workflows are run by the scripts exactly as written: their
// run steps go to bash as GitHub's runners give them, with the expressions
// substituted; the steps that use actions (checkout, comments, artifacts)
// are GitHub's own and are left out.

// exampleCmd is a command an example's comment tells the reader to run.
var exampleCmd = regexp.MustCompile(`(?m)^#\s+(wxmedia\s.*)$`)

// examplecmds FILE: run, in order and with bash in $WORK, every
// "#   wxmedia …" command of the comments of FILE (a path relative to the
// repository), with $WORK/examples a copy of the repository's examples.
// Each command's output is kept in $WORK/.examplecmds/N.log (N from 1).
func cmdExampleCmds(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: examplecmds FILE")
	}
	src, err := os.ReadFile(args[0])
	ts.Check(err)
	cmds := exampleCmd.FindAllStringSubmatch(string(src), -1)
	if len(cmds) == 0 {
		ts.Fatalf("%s has no wxmedia commands in its comments", args[0])
	}
	if _, err := os.Stat(ts.MkAbs("examples")); os.IsNotExist(err) {
		ts.Check(copyDir("examples", ts.MkAbs("examples")))
	}
	logDir := ts.MkAbs(".examplecmds")
	ts.Check(os.MkdirAll(logDir, 0o755))
	for i, m := range cmds {
		err := ts.Exec("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", m[1])
		logText := fmt.Sprintf("$ %s\n%s%s", m[1], ts.ReadFile("stdout"), ts.ReadFile("stderr"))
		ts.Check(os.WriteFile(filepath.Join(logDir, fmt.Sprintf("%d.log", i+1)), []byte(logText), 0o644))
		if err != nil {
			ts.Fatalf("%s: %s: %v\n%s", args[0], m[1], err, logText)
		}
	}
}

// ghWorkflow is the part of a GitHub Actions workflow that the scripts run.
type ghWorkflow struct {
	Env  map[string]string `yaml:"env"`
	Jobs map[string]ghJob  `yaml:"jobs"`
}

type ghJob struct {
	Env   map[string]string `yaml:"env"`
	Steps []ghStep          `yaml:"steps"`
}

type ghStep struct {
	ID               string            `yaml:"id"`
	Name             string            `yaml:"name"`
	Uses             string            `yaml:"uses"`
	Run              string            `yaml:"run"`
	Shell            string            `yaml:"shell"`
	WorkingDirectory string            `yaml:"working-directory"`
	Env              map[string]string `yaml:"env"`
}

// installStep is the step that installs wxmedia from the module proxy; the
// scripts put the binary under test on PATH instead.
var installStep = regexp.MustCompile(`^go install github\.com/wxmedia/wxmedia@\S+\s*$`)

var ghExpr = regexp.MustCompile(`\$\{\{\s*([^}]*?)\s*\}\}`)

// workflow FILE JOB: run the run steps of JOB in the workflow FILE (a path
// relative to the repository) in $WORK, the checkout. Expressions read
// secrets.NAME from $SECRET_NAME, github.A.B from $GITHUB_A_B, env.NAME and
// steps.ID.outputs.NAME; an expression it cannot evaluate fails the script,
// so that the workflow cannot use what the script does not provide. Each
// step's output is kept in $WORK/.workflow/JOB-N.log (N from 1) and a
// failing step stops the job, as on GitHub.
func cmdWorkflow(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: workflow FILE JOB")
	}
	src, err := os.ReadFile(args[0])
	ts.Check(err)
	var wf ghWorkflow
	if err := yaml.Unmarshal(src, &wf); err != nil {
		ts.Fatalf("%s: %v", args[0], err)
	}
	job, ok := wf.Jobs[args[1]]
	if !ok {
		ts.Fatalf("%s has no job %q", args[0], args[1])
	}
	logDir := ts.MkAbs(".workflow")
	ts.Check(os.MkdirAll(logDir, 0o755))
	outFile := filepath.Join(logDir, args[1]+".github_output")
	ts.Check(os.WriteFile(outFile, nil, 0o644))
	outputs := map[string]map[string]string{}
	env := map[string]string{}
	eval := func(s string) string {
		return ghExpr.ReplaceAllStringFunc(s, func(m string) string {
			expr := ghExpr.FindStringSubmatch(m)[1]
			parts := strings.Split(expr, ".")
			switch {
			case parts[0] == "secrets" && len(parts) == 2:
				if v, ok := lookupEnv(ts, "SECRET_"+parts[1]); ok {
					return v
				}
			case parts[0] == "env" && len(parts) == 2:
				if v, ok := env[parts[1]]; ok {
					return v
				}
			case parts[0] == "github" && len(parts) >= 2:
				if v, ok := lookupEnv(ts, "GITHUB_"+strings.ToUpper(strings.Join(parts[1:], "_"))); ok {
					return v
				}
			case parts[0] == "steps" && len(parts) == 4 && parts[2] == "outputs":
				if v, ok := outputs[parts[1]][parts[3]]; ok {
					return v
				}
			}
			ts.Fatalf("%s: the script cannot evaluate ${{ %s }}", args[0], expr)
			return ""
		})
	}
	setEnv := func(m map[string]string) (restore func()) {
		var undo []func()
		for k, v := range m {
			v = eval(v)
			old := ts.Getenv(k)
			oldEnv, had := env[k]
			ts.Setenv(k, v)
			env[k] = v
			undo = append(undo, func() {
				ts.Setenv(k, old)
				if had {
					env[k] = oldEnv
				} else {
					delete(env, k)
				}
			})
		}
		return func() {
			for _, u := range undo {
				u()
			}
		}
	}
	defer setEnv(wf.Env)()
	defer setEnv(job.Env)()
	defer setEnv(map[string]string{"GITHUB_OUTPUT": outFile, "CI": "true"})()
	var failed error
	for i, step := range job.Steps {
		name := step.Name
		if name == "" {
			name = step.Uses
		}
		switch {
		case step.Uses != "":
			ts.Logf("step %d %q: uses %s, GitHub's action: left out", i+1, name, step.Uses)
			continue
		case installStep.MatchString(step.Run):
			ts.Logf("step %d %q: the binary under test is on PATH", i+1, name)
			continue
		case step.Shell != "" && step.Shell != "bash":
			ts.Fatalf("step %d %q: shell %q is not bash", i+1, name, step.Shell)
		}
		restore := setEnv(step.Env)
		before, err := os.ReadFile(outFile)
		ts.Check(err)
		script := eval(step.Run)
		file := filepath.Join(logDir, fmt.Sprintf("%s-%d.sh", args[1], i+1))
		body := script
		if step.WorkingDirectory != "" {
			body = fmt.Sprintf("cd %q\n%s", ts.MkAbs(eval(step.WorkingDirectory)), script)
		}
		ts.Check(os.WriteFile(file, []byte(body), 0o755))
		// GitHub's runners run a bash step's script file as
		// bash --noprofile --norc -eo pipefail FILE.
		err = ts.Exec("bash", "--noprofile", "--norc", "-eo", "pipefail", file)
		logText := fmt.Sprintf("$ %s\n%s%s", strings.TrimSpace(script), ts.ReadFile("stdout"), ts.ReadFile("stderr"))
		ts.Check(os.WriteFile(filepath.Join(logDir, fmt.Sprintf("%s-%d.log", args[1], i+1)), []byte(logText), 0o644))
		ts.Logf("step %d %q:\n%s", i+1, name, logText)
		restore()
		if err != nil {
			failed = fmt.Errorf("step %d %q: %v", i+1, name, err)
			break
		}
		after, err := os.ReadFile(outFile)
		ts.Check(err)
		if step.ID != "" {
			outputs[step.ID] = parseGitHubOutput(string(after[len(before):]))
		}
	}
	if failed != nil && !neg {
		ts.Fatalf("workflow %s job %s: %v", args[0], args[1], failed)
	}
	if failed == nil && neg {
		ts.Fatalf("workflow %s job %s succeeded", args[0], args[1])
	}
}

func lookupEnv(ts *testscript.TestScript, key string) (string, bool) {
	// testscript has no LookupEnv; a variable is taken as set when it is
	// listed in $WORKFLOW_SET (names separated by spaces) or not empty.
	v := ts.Getenv(key)
	if v != "" {
		return v, true
	}
	for _, n := range strings.Fields(ts.Getenv("WORKFLOW_SET")) {
		if n == key {
			return "", true
		}
	}
	return "", false
}

// parseGitHubOutput reads NAME=VALUE and NAME<<DELIM … DELIM entries.
func parseGitHubOutput(s string) map[string]string {
	out := map[string]string{}
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		if name, delim, ok := strings.Cut(lines[i], "<<"); ok && !strings.Contains(name, "=") {
			var val []string
			for i++; i < len(lines) && lines[i] != delim; i++ {
				val = append(val, lines[i])
			}
			out[name] = strings.Join(val, "\n")
			continue
		}
		if name, val, ok := strings.Cut(lines[i], "="); ok {
			out[name] = val
		}
	}
	return out
}

// sandboxsecrets MCHID: register MCHID with the script's sandbox server and
// give its credentials as a CI system would: the key files' contents in
// $SECRET_WECHATPAY_PRIVATE_KEY and $SECRET_WECHATPAY_PUBLIC_KEY, and the
// rest for the configuration's env() calls in $SANDBOX_SERIAL_NO,
// $SANDBOX_PUBLIC_KEY_ID and $SANDBOX_CA_FILE.
func cmdSandboxSecrets(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: sandboxsecrets MCHID")
	}
	c, err := sandboxOf(ts).RegisterMerchant(args[0])
	ts.Check(err)
	key, err := os.ReadFile(c.PrivateKeyFile)
	ts.Check(err)
	pub, err := os.ReadFile(c.PlatformPublicKeyFile)
	ts.Check(err)
	ts.Setenv("SECRET_WECHATPAY_PRIVATE_KEY", string(key))
	ts.Setenv("SECRET_WECHATPAY_PUBLIC_KEY", string(pub))
	ts.Setenv("SANDBOX_SERIAL_NO", c.SerialNo)
	ts.Setenv("SANDBOX_PUBLIC_KEY_ID", c.PlatformPublicKeyID)
	ts.Setenv("SANDBOX_CA_FILE", c.CAFile)
}
