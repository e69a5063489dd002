package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/wxmedia/wxmedia/apply"
	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/schema"
	"github.com/wxmedia/wxmedia/state"
	"github.com/wxmedia/wxmedia/uploader"
	"github.com/wxmedia/wxmedia/uploader/sandbox"
)

// varFlags collects -var name=value flags.
type varFlags struct{ vals []string }

func (v *varFlags) String() string { return strings.Join(v.vals, ",") }
func (v *varFlags) Set(s string) error {
	if !strings.Contains(s, "=") {
		return fmt.Errorf("%q is not name=value", s)
	}
	v.vals = append(v.vals, s)
	return nil
}

// values merges WXMEDIA_VAR_* (lowest) and -var flags.
func (v *varFlags) values() (map[string]schema.VarValue, error) {
	out := map[string]schema.VarValue{}
	for _, kv := range os.Environ() {
		if name, val, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(name, "WXMEDIA_VAR_") {
			n := strings.TrimPrefix(name, "WXMEDIA_VAR_")
			out[n] = schema.VarValue{Raw: val, Source: name, FromEnv: true}
		}
	}
	if v == nil {
		return out, nil
	}
	for _, kv := range v.vals {
		name, val, _ := strings.Cut(kv, "=")
		out[name] = schema.VarValue{Raw: val, Source: "-var " + name}
	}
	return out, nil
}

// newFlags makes a flag set that reports to the user's stderr.
func newFlags(u *ui, name, usageLine, desc string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(u.stderr)
	fs.Usage = func() {
		fmt.Fprintf(u.stderr, "Usage: wxmedia [global options] %s\n\n%s\n\nOptions:\n", usageLine, desc)
		fs.PrintDefaults()
	}
	fs.Bool("no-color", false, "no colour in the output")
	return fs
}

// parseFlags parses flags wherever they stand among the arguments and
// returns the positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitError{0}
			}
			return nil, exitError{1}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func cmdVersion(u *ui, _ globalOptions, args []string) error {
	fs := newFlags(u, "version", "version", "Print the version and build information.")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	u.printf("wxmedia v%s\non %s_%s, built with %s\n", version, runtime.GOOS, runtime.GOARCH, runtime.Version())
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				u.printf("revision %s\n", s.Value)
			}
		}
	}
	return nil
}

func cmdValidate(u *ui, _ globalOptions, args []string) error {
	fs := newFlags(u, "validate", "validate [options]", "Check the configuration, its references and that every source file is acceptable to its API. Offline: no network, no state.")
	var vars varFlags
	fs.Var(&vars, "var", "set a variable: -var name=value (repeatable)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	w, err := loadWorkspace(u, &vars)
	if err != nil {
		return err
	}
	empty := &state.Snapshot{Resources: map[string]state.Resource{}, Outputs: map[string]state.Output{}}
	_, diags := plan.Make(plan.Input{Eval: w.ev, State: empty, Merchants: w.idents})
	u.diagnostics(w.cfg.Files(), diags)
	if diags.HasErrors() {
		return errReported
	}
	u.printf("Success! The configuration is valid: %d resource instances, %d merchants.\n", len(w.ev.Instances), len(w.ev.Merchants))
	return nil
}

type planOptions struct {
	vars             varFlags
	replace          stringList
	lockTimeout      time.Duration
	detailedExitcode bool
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func (o *planOptions) register(fs *flag.FlagSet) {
	fs.Var(&o.vars, "var", "set a variable: -var name=value (repeatable)")
	fs.Var(&o.replace, "replace", "force an upload of this resource address even if unchanged (repeatable)")
	fs.DurationVar(&o.lockTimeout, "lock-timeout", 0, "how long to wait for the state lock")
}

// makePlan computes the plan of a loaded workspace.
func makePlan(u *ui, o *planOptions, w *workspace, snap *state.Snapshot, lookup func([]state.CacheKey) (map[state.CacheKey]state.CacheEntry, error)) (*plan.Plan, error) {
	replace := map[string]bool{}
	for _, r := range o.replace {
		replace[r] = true
	}
	p, diags := plan.Make(plan.Input{Eval: w.ev, State: snap, Cache: lookup, Merchants: w.idents, Replace: replace})
	u.diagnostics(w.cfg.Files(), diags)
	if diags.HasErrors() {
		return nil, errReported
	}
	return p, nil
}

func cmdPlan(u *ui, _ globalOptions, args []string) error {
	fs := newFlags(u, "plan", "plan [options]", "Hash the source files, compare them with the state, and show what apply would upload, reuse and forget.\nNothing is uploaded and the state is not written.")
	var o planOptions
	o.register(fs)
	fs.BoolVar(&o.detailedExitcode, "detailed-exitcode", false, "exit 0 with no changes, 2 with changes, 1 on error")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	w, err := loadWorkspace(u, &o.vars)
	if err != nil {
		return err
	}
	snap, lookup, done, err := readSnapshot(o.lockTimeout)
	if err != nil {
		return err
	}
	defer done()
	p, err := makePlan(u, &o, w, snap, lookup)
	if err != nil {
		return err
	}
	plan.Render(u.stdout, p, u.styles())
	if o.detailedExitcode && p.HasChanges() {
		return exitError{2}
	}
	return nil
}

func cmdApply(u *ui, _ globalOptions, args []string) error {
	fs := newFlags(u, "apply", "apply [options]", "Plan, ask for confirmation, then upload what changed and record every identifier in the state as soon as its reply verifies.")
	var o planOptions
	o.register(fs)
	autoApprove := fs.Bool("auto-approve", false, "skip the confirmation")
	input := fs.Bool("input", true, "ask for confirmation on the terminal; -input=false fails instead")
	parallelism := fs.Int("parallelism", 4, "concurrent uploads")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("apply takes no positional arguments (saved plans are not supported by this version): %s", strings.Join(pos, " "))
	}
	if *parallelism < 1 {
		return fmt.Errorf("-parallelism must be at least 1, not %d", *parallelism)
	}
	w, err := loadWorkspace(u, &o.vars)
	if err != nil {
		return err
	}
	st, err := openState(false, o.lockTimeout, "apply")
	if err != nil {
		return err
	}
	defer st.Close()
	snap, err := st.Snapshot()
	if err != nil {
		return err
	}
	p, err := makePlan(u, &o, w, snap, st.LookupCache)
	if err != nil {
		return err
	}
	plan.Render(u.stdout, p, u.styles())
	if !p.HasChanges() {
		return publishOutputs(u, w, st)
	}
	if !*autoApprove {
		if !*input || !isTerminal(u.stdin) {
			return errors.New("apply needs confirmation, but input is disabled or not a terminal\nwxmedia: hint: review the plan and run apply -auto-approve")
		}
		u.printf("\nDo you want to perform these actions? Only 'yes' will be accepted.\n  Enter a value: ")
		line, _ := bufio.NewReader(u.stdin).ReadString('\n')
		if strings.TrimSpace(line) != "yes" {
			u.printf("\nApply cancelled.\n")
			return exitError{1}
		}
	}
	u.printf("\n")
	ctx, cancel := contextWithInterrupt()
	defer cancel()
	ups, stop, err := w.uploaders(p)
	defer stop()
	if err != nil {
		return err
	}
	styles := u.styles()
	res, err := apply.Apply(ctx, p, apply.Options{
		Store: st, Uploaders: ups, Parallelism: *parallelism,
		OnEvent: func(e apply.Event) { reportEvent(u, styles, e) },
	})
	if err != nil {
		return err
	}
	if err := publishOutputs(u, w, st); err != nil {
		return err
	}
	u.printf("\n%s %d uploaded (%s), %d reused, %d forgotten, %d failed.\n",
		styles.Bold.Sprint("Apply complete!"), res.Uploaded, plan.FormatBytes(res.UploadedBytes), res.Reused, res.Forgotten, len(res.Failures))
	if len(res.Failures) > 0 {
		u.errorf(nil, "%d of the planned changes failed:", len(res.Failures))
		for _, f := range res.Failures {
			fmt.Fprintf(u.stderr, "  %s: %v\n", f.Addr, f.Err)
		}
		if ctx.Err() != nil {
			u.errorf([]string{"run apply again to carry on: every identifier recorded so far is kept"}, "apply was interrupted")
		}
		return exitError{1}
	}
	return nil
}

func reportEvent(u *ui, st plan.Styles, e apply.Event) {
	c := e.Change
	if e.Err != nil {
		fmt.Fprintf(u.stdout, "%s: %s %v\n", c.Addr, st.Forget.Sprint("failed:"), e.Err)
		return
	}
	switch c.Action {
	case plan.Upload, plan.Reupload:
		fmt.Fprintf(u.stdout, "%s: %s\n", c.Addr, st.Upload.Sprint("uploaded"))
	case plan.Reuse:
		fmt.Fprintf(u.stdout, "%s: %s\n", c.Addr, st.Reuse.Sprint("reused"))
	case plan.Forget:
		fmt.Fprintf(u.stdout, "%s: %s\n", c.Addr, st.Forget.Sprint("forgotten"))
	}
}

// publishOutputs evaluates the outputs against the state and records them
// in the state and in outputs.json for other configurations.
func publishOutputs(u *ui, w *workspace, st *state.Local) error {
	snap, err := st.Snapshot()
	if err != nil {
		return err
	}
	outs, diags := w.outputsFromState(snap)
	u.diagnostics(w.cfg.Files(), diags)
	if diags.HasErrors() {
		return errReported
	}
	if !sameOutputs(outs, snap.Outputs) {
		if err := st.SetOutputs(outs); err != nil {
			return fmt.Errorf("recording outputs: %w", err)
		}
	}
	if err := state.WriteOutputsFile(outputsPath, outs); err != nil {
		return fmt.Errorf("publishing outputs: %w", err)
	}
	return nil
}

func sameOutputs(a, b map[string]state.Output) bool {
	if len(a) != len(b) {
		return false
	}
	for k, x := range a {
		y, ok := b[k]
		if !ok || x.Sensitive != y.Sensitive || string(x.Value) != string(y.Value) || string(x.Type) != string(y.Type) {
			return false
		}
	}
	return true
}

func cmdOutput(u *ui, _ globalOptions, args []string) error {
	fs := newFlags(u, "output", "output [options] [NAME]", "Show the output values recorded by the last apply.")
	asJSON := fs.Bool("json", false, "print as JSON: {name: {value, type, sensitive}}, or the value of NAME")
	raw := fs.Bool("raw", false, "print the value of NAME, a string, number or bool, without quotes or newline")
	lockTimeout := fs.Duration("lock-timeout", 0, "how long to wait for the state lock")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *asJSON && *raw {
		return errors.New("-json and -raw cannot be used together")
	}
	if len(pos) > 1 {
		return fmt.Errorf("output takes at most one output name, not %d", len(pos))
	}
	if *raw && len(pos) == 0 {
		return errors.New("-raw needs an output name")
	}
	snap, _, done, err := readSnapshot(*lockTimeout)
	if err != nil {
		return err
	}
	defer done()
	decode := func(o state.Output) (cty.Value, error) {
		ty, err := ctyjson.UnmarshalType(o.Type)
		if err != nil {
			return cty.NilVal, err
		}
		return ctyjson.Unmarshal(o.Value, ty)
	}
	if len(pos) == 1 {
		name := pos[0]
		o, ok := snap.Outputs[name]
		if !ok {
			return fmt.Errorf("output %q not found\nwxmedia: hint: the outputs are recorded by apply; run wxmedia output to list them", name)
		}
		switch {
		case *asJSON:
			u.printf("%s\n", o.Value)
		case *raw:
			v, err := decode(o)
			if err != nil {
				return err
			}
			if !v.Type().IsPrimitiveType() || v.IsNull() {
				return fmt.Errorf("output %q is a %s; -raw prints only strings, numbers and bools\nwxmedia: hint: use -json", name, v.Type().FriendlyName())
			}
			sv, _ := ctyConvertString(v)
			u.printf("%s", sv)
		default:
			v, err := decode(o)
			if err != nil {
				return err
			}
			u.printf("%s\n", plan.FormatValue(v, false))
		}
		return nil
	}
	names := make([]string, 0, len(snap.Outputs))
	for n := range snap.Outputs {
		names = append(names, n)
	}
	sort.Strings(names)
	if *asJSON {
		doc := map[string]any{}
		for _, n := range names {
			o := snap.Outputs[n]
			doc[n] = map[string]any{"value": json.RawMessage(o.Value), "type": json.RawMessage(o.Type), "sensitive": o.Sensitive}
		}
		b, _ := json.MarshalIndent(doc, "", "  ")
		u.printf("%s\n", b)
		return nil
	}
	if len(names) == 0 {
		u.warnf("no outputs found: apply records the values of the configuration's output blocks")
		return nil
	}
	for _, n := range names {
		o := snap.Outputs[n]
		v, err := decode(o)
		if err != nil {
			return err
		}
		u.printf("%s = %s\n", n, plan.FormatValue(v, o.Sensitive))
	}
	return nil
}

func ctyConvertString(v cty.Value) (string, error) {
	switch v.Type() {
	case cty.String:
		return v.AsString(), nil
	case cty.Bool:
		if v.True() {
			return "true", nil
		}
		return "false", nil
	default:
		return v.AsBigFloat().Text('f', -1), nil
	}
}

func cmdState(u *ui, _ globalOptions, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" {
		fmt.Fprintf(u.stderr, "Usage: wxmedia [global options] state list | show ADDR\n\n  list       list the resource instances in the state\n  show ADDR  show one resource instance\n")
		if len(args) == 0 {
			return exitError{1}
		}
		return nil
	}
	sub, rest := args[0], args[1:]
	fs := newFlags(u, "state "+sub, "state "+sub, "Inspect the state.")
	lockTimeout := fs.Duration("lock-timeout", 0, "how long to wait for the state lock")
	pos, err := parseFlags(fs, rest)
	if err != nil {
		return err
	}
	snap, _, done, err := readSnapshot(*lockTimeout)
	if err != nil {
		return err
	}
	defer done()
	switch sub {
	case "list":
		addrs := make([]string, 0, len(snap.Resources))
		for a := range snap.Resources {
			addrs = append(addrs, a)
		}
		sort.Strings(addrs)
		for _, a := range addrs {
			if len(pos) == 0 || matchesAny(a, pos) {
				u.printf("%s\n", a)
			}
		}
		return nil
	case "show":
		if len(pos) != 1 {
			return errors.New("state show needs exactly one resource instance address")
		}
		r, ok := snap.Resources[pos[0]]
		if !ok {
			return fmt.Errorf("no resource instance %s in the state\nwxmedia: hint: wxmedia state list shows the addresses", pos[0])
		}
		spec, _ := uploader.SpecFor(r.Type)
		u.printf("# %s:\nresource %q %q {\n", r.Address, r.Type, r.Name)
		rows := [][2]string{
			{"id", fmt.Sprintf("%q", r.ID)}, {spec.IDField, fmt.Sprintf("%q", r.ID)},
			{"merchant", fmt.Sprintf("%q", r.Merchant)}, {"mchid", fmt.Sprintf("%q", r.MchID)},
			{"service", fmt.Sprintf("%q", r.Service)}, {"api", fmt.Sprintf("%q", r.API)},
			{"source", fmt.Sprintf("%q", r.Source)}, {"filename", fmt.Sprintf("%q", r.Filename)},
			{"sha256", fmt.Sprintf("%q", r.SHA256)}, {"size", fmt.Sprintf("%d", r.Size)},
			{"uploaded_at", fmt.Sprintf("%q", r.UploadedAt.UTC().Format(time.RFC3339))},
		}
		for _, row := range rows {
			u.printf("    %-11s = %s\n", row[0], row[1])
		}
		u.printf("}\n")
		return nil
	}
	return fmt.Errorf("unknown state subcommand %q\nwxmedia: hint: state list, state show ADDR", sub)
}

func matchesAny(addr string, prefixes []string) bool {
	for _, p := range prefixes {
		if addr == p || strings.HasPrefix(addr, p+"[") || strings.HasPrefix(addr, p+".") {
			return true
		}
	}
	return false
}

func cmdSandbox(u *ui, _ globalOptions, args []string) error {
	fs := newFlags(u, "sandbox", "sandbox [options]", "Run the WeChat Pay upload API emulator as an HTTPS server, and write DIR/merchant.wxm.hcl, a ready merchant block for it.")
	listen := fs.String("listen", "127.0.0.1:8787", "address to listen on")
	dir := fs.String("dir", ".wxmedia-sandbox", "directory for the sandbox's keys, CA and database")
	faults := fs.String("faults", "", "inject faults, e.g. 500=0.2,429=0.1,reset=0.05,badsig=0.02,delay=50ms")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	sb, err := sandbox.Open(*dir)
	if err != nil {
		return err
	}
	defer sb.Close()
	if *faults != "" {
		f, err := sandbox.ParseFaults(*faults)
		if err != nil {
			return fmt.Errorf("-faults: %w", err)
		}
		sb.SetFaults(f)
	}
	srv, err := sb.Start(*listen)
	if err != nil {
		return err
	}
	defer srv.Close()
	hclPath := strings.TrimRight(*dir, "/") + "/merchant.wxm.hcl"
	if err := sb.WriteMerchantConfig(hclPath, srv.URL(), defaultSandboxMchID); err != nil {
		return err
	}
	fmt.Fprintf(u.stderr, "wxmedia: sandbox listening on %s\nwxmedia: merchant block written to %s\n", srv.URL(), hclPath)
	u.printf("%s\n", srv.URL())
	ctx, cancel := contextWithInterrupt()
	defer cancel()
	<-ctx.Done()
	return nil
}

// signalContext is cancelled on the first SIGINT or SIGTERM; a second one
// ends the process at once.
func signalContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-ch:
			cancel()
		case <-ctx.Done():
			return
		}
		<-ch
		os.Exit(130)
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}

// hintsFor gives hints a user can act on for runtime errors.
func hintsFor(err error) []string {
	switch {
	case errors.Is(err, state.ErrLocked):
		return []string{"wait for it to finish, or give -lock-timeout=DURATION to wait"}
	case errors.Is(err, state.ErrCorrupt):
		return []string{"the file was left untouched; restore it from a backup"}
	case errors.Is(err, uploader.ErrVerify):
		return []string{"check platform_public_key_id and platform_public_key_file, and the local clock"}
	}
	return nil
}

var _ io.Writer = (*os.File)(nil)
