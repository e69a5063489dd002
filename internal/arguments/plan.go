package arguments

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/wxmedia/wxmedia/uploader"
)

// MaxParallelism bounds -parallelism: every upload in flight holds a
// worker, a connection and a file's bytes, and the APIs rate-limit long
// before this many.
const MaxParallelism = 256

// DefaultParallelism is -parallelism when not given.
const DefaultParallelism = 4

// Operation holds the flags that plan and apply share: what is planned.
type Operation struct {
	Vars Vars
	State
	// Targets are the -target addresses, Replace the -replace ones, in
	// command-line order, as given.
	Targets []string
	Replace []string
	// RefreshHashes is -refresh-hashes: hash every file again.
	RefreshHashes bool
}

func (o *Operation) register(fs *flag.FlagSet) {
	o.Vars.register(fs)
	fs.Var((*stringList)(&o.Replace), "replace", "force an upload of this resource address even if unchanged (repeatable)")
	fs.Var((*stringList)(&o.Targets), "target", "plan only this resource, instance or module address, e.g. wechatpay_image.banner[\"a.png\"] or module.store[\"sh-001\"] (repeatable)")
	o.State.register(fs)
	fs.BoolVar(&o.RefreshHashes, "refresh-hashes", false, "hash every source file again, ignoring the stat cache")
}

// ViewType is how a plan or the state is shown.
type ViewType int

const (
	ViewHuman ViewType = iota
	ViewJSON
	ViewMarkdown
)

// viewFlags are -json and -markdown, which exclude each other.
type viewFlags struct{ json, markdown bool }

func (v *viewFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&v.json, "json", false, "write the plan as one JSON document (see \"Plan JSON format\" in docs/json.md)")
	fs.BoolVar(&v.markdown, "markdown", false, "write the plan as Markdown for a pull-request comment")
}

func (v viewFlags) view() (ViewType, error) {
	switch {
	case v.json && v.markdown:
		return ViewHuman, errors.New("-json and -markdown cannot be used together")
	case v.json:
		return ViewJSON, nil
	case v.markdown:
		return ViewMarkdown, nil
	}
	return ViewHuman, nil
}

// Plan is the command line of wxmedia plan.
type Plan struct {
	Common
	Operation
	// DetailedExitcode is -detailed-exitcode: exit 2 when there are changes.
	DetailedExitcode bool
	// Out is -out: the file to save the plan to, "" for none.
	Out string
	// Input is -input, accepted as in Terraform; plan never asks anything
	// (a variable without a value is an error), so both values behave alike.
	Input bool
	View  ViewType
}

func planFlags(p *Plan, v *viewFlags) *flag.FlagSet {
	fs := newFlagSet("plan", &p.Common)
	p.Operation.register(fs)
	fs.BoolVar(&p.DetailedExitcode, "detailed-exitcode", false, "exit 0 with no changes, 2 with changes, 1 on error")
	fs.StringVar(&p.Out, "out", "", "save the plan to this file, for apply FILE")
	fs.BoolVar(&p.Input, "input", true, "accepted as in Terraform; plan never asks for input, so -input=false changes nothing")
	v.register(fs)
	return fs
}

// ParsePlan parses the arguments of wxmedia plan.
func ParsePlan(args []string) (*Plan, error) {
	p, v := new(Plan), new(viewFlags)
	pos, err := parse(planFlags(p, v), args)
	if err != nil {
		return nil, err
	}
	if err := noArguments("plan", pos); err != nil {
		return nil, err
	}
	if p.View, err = v.view(); err != nil {
		return nil, err
	}
	return p, nil
}

// Apply is the command line of wxmedia apply.
type Apply struct {
	Common
	Operation
	// AutoApprove is -auto-approve: no confirmation.
	AutoApprove bool
	// Input is -input: ask for confirmation on the terminal.
	Input bool
	// Parallelism is -parallelism: concurrent uploads, 1 to MaxParallelism.
	Parallelism int
	// RetryTimeout is -retry-timeout: how long one upload keeps retrying.
	RetryTimeout time.Duration
	// PlanPath is the saved plan to apply, "" to plan first.
	PlanPath string
}

func applyFlags(a *Apply) *flag.FlagSet {
	fs := newFlagSet("apply", &a.Common)
	a.Operation.register(fs)
	fs.BoolVar(&a.AutoApprove, "auto-approve", false, "skip the confirmation")
	fs.BoolVar(&a.Input, "input", true, "ask for confirmation on the terminal; -input=false fails instead")
	fs.IntVar(&a.Parallelism, "parallelism", DefaultParallelism, "concurrent uploads")
	fs.DurationVar(&a.RetryTimeout, "retry-timeout", uploader.DefaultRetryTimeout, "how long one upload keeps retrying rate limits (429), 5xx and network errors")
	return fs
}

// savedPlanFlags are the flags apply takes with a saved plan: those that
// do not change what is applied.
var savedPlanFlags = map[string]bool{
	"lock-timeout": true, "parallelism": true, "retry-timeout": true, "input": true, "no-color": true,
	"auto-approve": true, "var": true, "var-file": true,
}

// ParseApply parses the arguments of wxmedia apply.
func ParseApply(args []string) (*Apply, error) {
	a := new(Apply)
	fs := applyFlags(a)
	pos, err := parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 1 {
		return nil, fmt.Errorf("apply takes at most one plan file, not %d arguments: %s", len(pos), strings.Join(pos, " "))
	}
	if a.Parallelism < 1 || a.Parallelism > MaxParallelism {
		return nil, withHints(fmt.Errorf("-parallelism must be between 1 and %d, not %d", MaxParallelism, a.Parallelism),
			"the default, 4, suits most merchants; the APIs rate-limit long before hundreds of concurrent uploads")
	}
	if a.RetryTimeout <= 0 {
		return nil, fmt.Errorf("-retry-timeout must be a positive duration such as 10m, not %s", a.RetryTimeout)
	}
	if len(pos) == 1 {
		a.PlanPath = pos[0]
		// A saved plan fixes what is applied: the planning flags are refused.
		var refused []string
		fs.Visit(func(f *flag.Flag) {
			if !savedPlanFlags[f.Name] {
				refused = append(refused, "-"+f.Name)
			}
		})
		if len(refused) > 0 {
			return nil, withHints(fmt.Errorf("%s cannot be used with a saved plan: the plan already fixes what is applied", strings.Join(refused, ", ")),
				"give planning flags to plan -out=FILE instead")
		}
	}
	return a, nil
}
