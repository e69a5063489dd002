package plan

import (
	"fmt"
	"io"
	"strings"

	"github.com/fatih/color"
	"github.com/rivo/uniseg"
	"github.com/wxmedia/wxmedia/internal/arguments"
	"github.com/wxmedia/wxmedia/internal/words"
)

// Styles colours a human view in Terraform's conventions.
type Styles struct {
	Upload, Reupload, Reuse, Forget, Bold, Faint *color.Color
}

// NewStyles returns styles with colour on or off.
func NewStyles(enabled bool) Styles {
	mk := func(attrs ...color.Attribute) *color.Color {
		c := color.New(attrs...)
		if enabled {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
		return c
	}
	return Styles{
		Upload:   mk(color.FgGreen),
		Reupload: mk(color.FgYellow),
		Reuse:    mk(color.FgCyan),
		Forget:   mk(color.FgRed),
		Bold:     mk(color.Bold),
		Faint:    mk(color.Faint),
	}
}

func (s Styles) symbol(a Action) string {
	switch a {
	case Upload:
		return s.Upload.Sprint("+")
	case Reupload:
		return s.Reupload.Sprint("~")
	case Reuse:
		return s.Reuse.Sprint("=")
	case Forget:
		return s.Forget.Sprint("-")
	}
	return " "
}

// maxAlign is the widest column, in display columns, that shorter names
// are padded to. A longer name (a for_each key can be any length) is
// written unpadded and widens no column: otherwise one key of 100,000
// characters would pad every line of a plan to 100,000 spaces.
const maxAlign = 100

// alignWidth is width widened to s's display width, unless s is wider
// than maxAlign.
func alignWidth(width int, s string) int {
	if w := uniseg.StringWidth(s); w <= maxAlign {
		return max(width, w)
	}
	return width
}

// padding is the spaces that align s to width columns; none for a name
// as wide or wider.
func padding(s string, width int) string {
	return strings.Repeat(" ", max(0, width-uniseg.StringWidth(s)))
}

// Render writes the human view of p: one line per change (no-ops are
// counted, not listed), the output changes and the summary line.
func Render(w io.Writer, p *Plan, st Styles) {
	if !p.HasChanges() {
		renameNotes(w, p, st)
		fmt.Fprintf(w, "%s Your media match the configuration: %d unchanged, nothing to upload.\n", st.Bold.Sprint("No changes."), p.Summary.NoOp)
		return
	}
	// Columns are aligned by display width: a CJK character takes two
	// columns, a combining mark none.
	width := 0
	for _, c := range p.Detailed() {
		if c.Action != NoOp {
			width = alignWidth(width, Visible(c.Addr))
		}
	}
	listed := p.Summary.Upload + p.Summary.Reupload + p.Summary.Reuse + p.Summary.Forget
	if listed > 0 {
		fmt.Fprintln(w, "wxmedia will perform the following actions:")
		fmt.Fprintln(w)
		// Grouped by module instance: the root module's first, then each
		// module instance's under its address.
		for i, g := range changesByModule(p) {
			if g.Module != "" {
				if i > 0 {
					fmt.Fprintln(w)
				}
				fmt.Fprintf(w, "  %s\n", st.Bold.Sprint("# "+Visible(g.Module)))
			}
			for _, c := range g.Items {
				addr := Visible(c.Addr)
				fmt.Fprintf(w, "  %s %s%s  %s\n", st.symbol(c.Action), addr, padding(addr, width), describe(c, st))
			}
		}
		fmt.Fprintln(w)
	}
	var outs []OutputChange
	for _, o := range p.Outputs {
		if o.Action != "noop" {
			outs = append(outs, o)
		}
	}
	if len(outs) > 0 {
		fmt.Fprintln(w, "Changes to outputs:")
		for _, o := range outs {
			sym := map[string]string{"create": st.Upload.Sprint("+"), "update": st.Reupload.Sprint("~"), "delete": st.Forget.Sprint("-")}[o.Action]
			val := "(removed)"
			if o.Action != "delete" {
				// A multi-line value's lines stand under its name.
				val = strings.ReplaceAll(formatJSONValue(o.After, o.AfterUnknown, o.Sensitive), "\n", "\n    ")
			}
			fmt.Fprintf(w, "  %s %s = %s\n", sym, o.Name, val)
		}
		fmt.Fprintln(w)
	}
	renameNotes(w, p, st)
	if len(p.Targets) > 0 {
		fmt.Fprintf(w, "%s resource targeting is in effect (-target %s): the plan may be incomplete.\n\n", st.Bold.Sprint("Note:"), Visible(strings.Join(p.Targets, ", -target ")))
	}
	fmt.Fprintln(w, SummaryLine(p.Summary, st))
}

// isChange reports whether c is listed: anything but a no-op.
func isChange(c *ResourceChange) bool { return c.Action != NoOp }

// renameNotes says, for each unchanged instance whose filename alone
// changed, that nothing is uploaded for it: WeChat Pay keeps the media
// under the name they were uploaded with, and -replace uploads them again
// under the new one. Apply records the new filename in the state.
//
// Past renameNotesShown notes, one line counts the rest: a filename
// changed over thousands of instances would otherwise bury the summary.
func renameNotes(w io.Writer, p *Plan, st Styles) {
	n := 0
	for _, c := range p.Detailed() {
		if c.Action != NoOp || c.Before == nil || c.After == nil || c.Before.Filename == c.After.Filename {
			continue
		}
		n++
		if n > renameNotesShown {
			continue
		}
		fmt.Fprintf(w, "%s %s: filename %s → %s only; the media keep the name they were uploaded with and nothing is uploaded (-replace=%s uploads them again under the new name).\n",
			st.Bold.Sprint("Note:"), Visible(c.Addr), Visible(fmt.Sprintf("%q", c.Before.Filename)), Visible(fmt.Sprintf("%q", c.After.Filename)), Visible(quoteForShell(c.Addr)))
	}
	if more := n - renameNotesShown; more > 0 {
		fmt.Fprintf(w, "%s %d more %s %s only their filename changed, and nothing is uploaded for them either (plan -json lists every instance).\n",
			st.Bold.Sprint("Note:"), more, words.Noun(more, "instance"), haveWord(more))
	}
	if n > 0 {
		fmt.Fprintln(w)
	}
}

// renameNotesShown is how many filename-only notes the human view shows
// before it counts the rest in one line.
const renameNotesShown = 5

func haveWord(n int) string {
	if n == 1 {
		return "has"
	}
	return "have"
}

// quoteForShell quotes an address for a POSIX shell when it needs it (a
// key's brackets and quotes, a quote inside the key).
func quoteForShell(addr string) string { return arguments.ShellQuote(addr) }

// describe says what a change does. Its sources, identifiers and
// addresses come from outside (file names, server replies): they are shown
// with Visible.
func describe(c *ResourceChange, st Styles) string {
	switch c.Action {
	case Upload:
		why := "upload"
		if c.Replace {
			why = "upload (forced by -replace)"
		}
		return fmt.Sprintf("%s %s (%s, sha256 %s)", st.Upload.Sprint(why), Visible(c.After.Source), FormatBytes(c.After.Size), short(c.After.SHA256))
	case Reupload:
		why := "re-upload"
		detail := fmt.Sprintf("sha256 %s → %s", short(c.Before.SHA256), short(c.After.SHA256))
		if c.Replace {
			why = "re-upload (forced by -replace)"
			detail = "sha256 " + short(c.After.SHA256)
		} else if c.Before.SHA256 == c.After.SHA256 {
			detail = "merchant or endpoint changed"
		}
		return fmt.Sprintf("%s %s (%s, %s)", st.Reupload.Sprint(why), Visible(c.After.Source), FormatBytes(c.After.Size), detail)
	case Reuse:
		if c.ReuseOf != "" {
			return fmt.Sprintf("%s %s (same bytes as %s, uploaded once)", st.Reuse.Sprint("reuse"), Visible(c.After.Source), Visible(c.ReuseOf))
		}
		return fmt.Sprintf("%s %s (already uploaded: %s)", st.Reuse.Sprint("reuse"), Visible(c.After.Source), Visible(c.After.ID))
	case Forget:
		return fmt.Sprintf("%s %s (dropped from state; the uploaded media stay)", st.Forget.Sprint("forget"), Visible(c.Before.Source))
	}
	return ""
}

// SummaryLine is the one-line count of a plan.
func SummaryLine(s Summary, st Styles) string {
	// Bytes stand next to the action they are sent for.
	withBytes := func(n int, b int64, s string) string {
		if n == 0 {
			return s
		}
		return fmt.Sprintf("%s (%s)", s, FormatBytes(b))
	}
	return fmt.Sprintf("%s %s, %s, %s to reuse, %s to forget, %d unchanged.",
		st.Bold.Sprint("Plan:"),
		withBytes(s.Upload, s.UploadBytes-s.ReuploadBytes, st.Upload.Sprint(s.Upload)+" to upload"),
		withBytes(s.Reupload, s.ReuploadBytes, st.Reupload.Sprint(s.Reupload)+" to re-upload"),
		st.Reuse.Sprint(s.Reuse), st.Forget.Sprint(s.Forget), s.NoOp)
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// FormatBytes renders a byte count in binary units.
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/float64(div)), ".0") + " " + string("KMGTPE"[exp]) + "iB"
}
