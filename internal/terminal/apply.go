package terminal

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/fatih/color"

	"github.com/wxmedia/wxmedia/apply"
	"github.com/wxmedia/wxmedia/internal/words"
	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/uploader"
)

// The views of an apply as it runs and ends: a line per finished change,
// the uploads skipped for a daily quota grouped by resource type, the
// headline with the counts, and the outputs.

// ErrAbandoned describes an upload that the second interrupt abandoned
// while it was in flight.
var ErrAbandoned = errors.New("abandoned by the second interrupt; it may have reached the server, and the next apply uploads it again")

// FailureOf is the error shown for a failed change: an upload abandoned by
// the second interrupt says so rather than "context canceled".
func FailureOf(err error) error {
	if errors.Is(err, context.Canceled) {
		return ErrAbandoned
	}
	return err
}

// ApplyEvent prints the line of one change that apply finished (see
// apply.Options.OnEvent) in the styles st: uploaded, re-uploaded, reused,
// forgotten, or failed with its error. A change that was not started
// prints nothing.
func (t *Terminal) ApplyEvent(st plan.Styles, e apply.Event) {
	c := e.Change
	if errors.Is(e.Err, apply.ErrInterrupted) {
		return
	}
	// Addresses and server messages come from outside.
	addr := plan.Visible(c.Addr)
	if e.Err != nil {
		t.Printf("%s: %s %s\n", addr, st.Forget.Sprint("failed:"), t.Message("%v", FailureOf(e.Err)))
		return
	}
	switch c.Action {
	case plan.Upload:
		t.Printf("%s: %s\n", addr, st.Upload.Sprint("uploaded"))
	case plan.Reupload:
		t.Printf("%s: %s\n", addr, st.Reupload.Sprint("re-uploaded"))
	case plan.Reuse:
		t.Printf("%s: %s\n", addr, st.Reuse.Sprint("reused"))
	case plan.Forget:
		t.Printf("%s: %s\n", addr, st.Forget.Sprint("forgotten"))
	}
}

// ApplySummary prints the headline of an apply, which says how it ended:
// "Apply complete!" only when every planned change was made, "Apply
// failed!" when some failed, "Apply interrupted!" when some were not
// started. Each count stands once, with the bytes of the action it
// belongs to, and the lines that follow use the same counts.
func (t *Terminal) ApplySummary(res *apply.Result) {
	st := t.Styles()
	failed := res.Failed()
	head, attr := "Apply complete!", color.FgGreen
	switch {
	case res.Interrupted():
		head, attr = "Apply interrupted!", color.FgYellow
	case failed > 0:
		head, attr = "Apply failed!", color.FgRed
	}
	if t.OutColor {
		head = Paint(true, head, attr, color.Bold)
	} else {
		head = st.Bold.Sprint(head)
	}
	withBytes := func(n int, b int64, s string) string {
		if n == 0 {
			return s
		}
		return fmt.Sprintf("%s (%s)", s, plan.FormatBytes(b))
	}
	parts := []string{
		withBytes(res.Uploaded, res.UploadedBytes, st.Upload.Sprint(res.Uploaded)+" uploaded"),
		withBytes(res.Reuploaded, res.ReuploadedBytes, st.Reupload.Sprint(res.Reuploaded)+" re-uploaded"),
		st.Reuse.Sprint(res.Reused) + " reused",
		st.Forget.Sprint(res.Forgotten) + " forgotten",
	}
	if failed > 0 || res.Interrupted() {
		f := fmt.Sprint(failed)
		if failed > 0 {
			f = st.Forget.Sprint(failed)
		}
		parts = append(parts, f+" failed")
	}
	if res.Interrupted() {
		parts = append(parts, fmt.Sprintf("%d not started", res.NotStarted))
	}
	t.Printf("\n%s %s.\n", head, strings.Join(parts, ", "))
}

// OutputsSection ends an apply as Terraform's does: "Outputs:" and each
// recorded output as name = value, sensitive ones hidden (when the
// configuration declares any outputs, declared); then a warning
// for each output that could not be evaluated, saying what it holds now.
func (t *Terminal) OutputsSection(pub *apply.Published, declared int) {
	if pub == nil || declared == 0 {
		return
	}
	names := make([]string, 0, len(pub.Outputs))
	for n := range pub.Outputs {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) > 0 {
		var b strings.Builder
		b.WriteString("\nOutputs:\n\n")
		for _, n := range names {
			o := pub.Outputs[n]
			v, err := plan.DecodeOutput(o)
			text := "(cannot be shown: " + fmt.Sprint(err) + ")"
			if err == nil {
				text = plan.FormatValue(v, o.Sensitive)
			}
			fmt.Fprintf(&b, "%s = %s\n", plan.Visible(n), text)
		}
		t.Printf("%s", b.String())
	}
	for _, n := range pub.Unevaluated {
		what := "it is not recorded"
		if pub.Before[n] {
			what = "it keeps the value recorded before"
		}
		t.Warnf("output %q could not be evaluated: it refers to a resource instance without an identifier (an upload that failed or was not started); %s until the next apply completes", plan.Visible(n), what)
	}
}

// QuotaSkips groups the uploads skipped because their API's daily quota
// was reached earlier in the run: one line per resource type, not one per
// file. OnEvent may be called from several goroutines. The zero value is
// ready to use.
type QuotaSkips struct {
	mu     sync.Mutex
	byType map[string]*quotaSkip
}

type quotaSkip struct {
	n     int
	first *uploader.QuotaSkipError
}

// Add counts err when it is a quota skip, and says whether it was.
func (q *QuotaSkips) Add(err error) bool {
	var qs *uploader.QuotaSkipError
	if !errors.As(err, &qs) {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.byType == nil {
		q.byType = map[string]*quotaSkip{}
	}
	s := q.byType[qs.ResourceType]
	if s == nil {
		s = &quotaSkip{first: qs}
		q.byType[qs.ResourceType] = s
	}
	s.n++
	return true
}

func (q *QuotaSkips) types() []string {
	names := make([]string, 0, len(q.byType))
	for typ := range q.byType {
		names = append(names, typ)
	}
	sort.Strings(names)
	return names
}

// Report writes the grouped per-change line of each resource type.
func (q *QuotaSkips) Report(t *Terminal, st plan.Styles) {
	for _, typ := range q.types() {
		t.Printf("%s: %s %s: the day's upload quota of this API was reached earlier in this run\n",
			plan.Visible(typ), st.Forget.Sprint("skipped"), words.Count(q.byType[typ].n, "upload"))
	}
}

// Details lists the groups under the failures and returns one error of
// each, for the hints.
func (q *QuotaSkips) Details(t *Terminal) []error {
	var errs []error
	for _, typ := range q.types() {
		s := q.byType[typ]
		t.Detailf("%s: %s skipped: %v (%v); retry tomorrow", typ, words.Count(s.n, "upload"), uploader.ErrDailyQuota, s.first.Cause)
		errs = append(errs, s.first)
	}
	return errs
}
