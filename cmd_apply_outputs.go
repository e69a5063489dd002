package main

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/wxmedia/wxmedia/apply"
	"github.com/wxmedia/wxmedia/internal/words"
	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/state"
	"github.com/wxmedia/wxmedia/uploader"
)

// publishOutputs evaluates the outputs against the state and records them
// in the state and in outputs.json for other configurations; see
// apply.PublishOutputs.
func publishOutputs(u *ui, w *workspace, st state.ReadWriter) (*apply.Published, error) {
	b, err := w.backend()
	if err != nil {
		return nil, err
	}
	pub, diags, err := apply.PublishOutputs(w.ev, st, b.settings())
	u.diagnostics(w.cfg.Files(), diags)
	if err != nil {
		return nil, err
	}
	if diags.HasErrors() {
		return nil, errReported
	}
	return pub, nil
}

// outputsSection ends an apply as Terraform's does: "Outputs:" and each
// recorded output as name = value, sensitive ones hidden; then a warning
// for each output that could not be evaluated, saying what it holds now.
func (u *ui) outputsSection(w *workspace, pub *apply.Published) {
	if pub == nil || len(w.cfg.Outputs) == 0 {
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
		u.printf("%s", b.String())
	}
	for _, n := range pub.Unevaluated {
		what := "it is not recorded"
		if pub.Before[n] {
			what = "it keeps the value recorded before"
		}
		u.warnf("output %q could not be evaluated: it refers to a resource instance without an identifier (an upload that failed or was not started); %s until the next apply completes", plan.Visible(n), what)
	}
}

// quotaSkips groups the uploads skipped because their API's daily quota
// was reached earlier in the run: one line per resource type, not one per
// file. OnEvent may be called from several goroutines.
type quotaSkips struct {
	mu     sync.Mutex
	byType map[string]*quotaSkip
}

type quotaSkip struct {
	n     int
	first *uploader.QuotaSkipError
}

// add counts err when it is a quota skip, and says whether it was.
func (q *quotaSkips) add(err error) bool {
	var qs *uploader.QuotaSkipError
	if !errors.As(err, &qs) {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.byType[qs.ResourceType]
	if s == nil {
		s = &quotaSkip{first: qs}
		q.byType[qs.ResourceType] = s
	}
	s.n++
	return true
}

func (q *quotaSkips) types() []string {
	names := make([]string, 0, len(q.byType))
	for t := range q.byType {
		names = append(names, t)
	}
	sort.Strings(names)
	return names
}

// report writes the grouped per-change line of each resource type.
func (q *quotaSkips) report(u *ui, st plan.Styles) {
	for _, t := range q.types() {
		u.printf("%s: %s %s: the day's upload quota of this API was reached earlier in this run\n",
			plan.Visible(t), st.Forget.Sprint("skipped"), words.Count(q.byType[t].n, "upload"))
	}
}

// details lists the groups under the failures and returns one error of
// each, for the hints.
func (q *quotaSkips) details(u *ui) []error {
	var errs []error
	for _, t := range q.types() {
		s := q.byType[t]
		u.detailf("%s: %s skipped: %v (%v); retry tomorrow", t, words.Count(s.n, "upload"), uploader.ErrDailyQuota, s.first.Cause)
		errs = append(errs, s.first)
	}
	return errs
}
