package terminal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wxmedia/wxmedia/apply"
	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/uploader"
)

// Each finished change is one line; a failure shows its error escaped, an
// abandoned upload says so, and a change not started shows nothing.
func TestApplyEvent(t *testing.T) {
	var out bytes.Buffer
	term := New(nil, &out, &bytes.Buffer{}, true)
	st := term.Styles()
	ch := func(a plan.Action) *plan.ResourceChange {
		return &plan.ResourceChange{Addr: "wechatpay_image.a[\"\x1b[2J\"]", Action: a}
	}
	term.ApplyEvent(st, apply.Event{Change: ch(plan.Upload)})
	term.ApplyEvent(st, apply.Event{Change: ch(plan.Reuse)})
	term.ApplyEvent(st, apply.Event{Change: ch(plan.Upload), Err: errors.New("server said \x1b[31mno")})
	term.ApplyEvent(st, apply.Event{Change: ch(plan.Upload), Err: fmt.Errorf("send: %w", context.Canceled)})
	term.ApplyEvent(st, apply.Event{Change: ch(plan.Upload), Err: apply.ErrInterrupted})
	want := `wechatpay_image.a["\x1b[2J"]: uploaded
wechatpay_image.a["\x1b[2J"]: reused
wechatpay_image.a["\x1b[2J"]: failed: server said \x1b[31mno
wechatpay_image.a["\x1b[2J"]: failed: ` + ErrAbandoned.Error() + "\n"
	if out.String() != want {
		t.Errorf("lines:\n%s\nwant:\n%s", out.String(), want)
	}
}

// Uploads skipped for a daily quota are one line per resource type, and
// one error each for the hints.
func TestQuotaSkips(t *testing.T) {
	var out, errb bytes.Buffer
	term := New(nil, &out, &errb, true)
	var q QuotaSkips
	cause := errors.New("quota reached")
	for _, typ := range []string{"wechatpay_video", "wechatpay_image", "wechatpay_image"} {
		if !q.Add(fmt.Errorf("upload: %w", &uploader.QuotaSkipError{ResourceType: typ, Cause: cause})) {
			t.Fatal("a quota skip was not counted")
		}
	}
	if q.Add(errors.New("other")) || q.Add(nil) {
		t.Error("another error counted as a quota skip")
	}
	q.Report(term, term.Styles())
	if got := out.String(); !strings.HasPrefix(got, "wechatpay_image: skipped 2 uploads:") || !strings.Contains(got, "\nwechatpay_video: skipped 1 upload:") {
		t.Errorf("report %q", got)
	}
	if errs := q.Details(term); len(errs) != 2 || !strings.Contains(errb.String(), "wechatpay_image: 2 uploads skipped") {
		t.Errorf("details %v, %q", errs, errb.String())
	}
}
