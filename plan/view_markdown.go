package plan

import (
	"fmt"
	"io"
	"strings"

	"github.com/wxmedia/wxmedia/internal/words"
)

// MarkdownLimit is the most characters the Markdown view writes: the size
// of a pull-request comment on the common forges. The view counts bytes,
// which are never fewer than characters.
const MarkdownLimit = 65536

// RenderMarkdown writes the Markdown view of p for a pull-request comment:
// a summary table, then every change in a collapsible details block. When
// the whole would exceed MarkdownLimit, the list is cut and a note says how
// many changes are not shown and how to see them.
func RenderMarkdown(w io.Writer, p *Plan) error {
	_, err := io.WriteString(w, markdown(p, MarkdownLimit))
	return err
}

func markdown(p *Plan, limit int) string {
	st := NewStyles(false)
	s := p.Summary
	var head strings.Builder
	head.WriteString("### wxmedia plan\n\n")
	if !p.HasChanges() {
		fmt.Fprintf(&head, "**No changes.** Your media match the configuration: %d unchanged, nothing to upload.\n", s.NoOp)
		return head.String()
	}
	head.WriteString("| Action | Resources |\n|:--|--:|\n")
	fmt.Fprintf(&head, "| Upload | %d |\n| Re-upload | %d |\n| Reuse | %d |\n| Forget | %d |\n| Unchanged | %d |\n", s.Upload, s.Reupload, s.Reuse, s.Forget, s.NoOp)
	fmt.Fprintf(&head, "\n**%s to upload.**\n", FormatBytes(s.UploadBytes))
	if len(p.Targets) > 0 {
		fmt.Fprintf(&head, "\n> **Note:** resource targeting is in effect (-target); only %s planned and the plan may be incomplete.\n", words.Count(len(p.Targets), "address")+" "+words.Be(len(p.Targets)))
	}

	var changes, outputs []string
	// Grouped by module instance as in the human view; a group's
	// heading is no change and is not counted as one.
	headings := map[int]bool{}
	for _, g := range changesByModule(p) {
		if g.Module != "" {
			headings[len(changes)] = true
			changes = append(changes, "# "+Visible(g.Module))
		}
		for _, c := range g.Items {
			changes = append(changes, fmt.Sprintf("%s %s  %s", st.symbol(c.Action), Visible(c.Addr), describe(c, st)))
		}
	}
	for _, o := range p.Outputs {
		if o.Action == "noop" {
			continue
		}
		sym := map[string]string{"create": "+", "update": "~", "delete": "-"}[o.Action]
		val := "(removed)"
		if o.Action != "delete" {
			val = strings.ReplaceAll(formatJSONValue(o.After, o.AfterUnknown, o.Sensitive), "\n", "\n  ")
		}
		outputs = append(outputs, fmt.Sprintf("%s %s = %s", sym, o.Name, val))
	}
	fence := codeFence(append(append([]string(nil), changes...), outputs...))

	var b strings.Builder
	b.WriteString(head.String())
	fmt.Fprintf(&b, "\n<details><summary>Show %s and %s</summary>\n\n", words.Count(len(changes)-len(headings), "resource change"), words.Count(len(outputs), "output change"))
	const closing = "\n</details>\n"
	// Room kept for the closing lines and the truncation note.
	reserve := len(closing) + 2*(len(fence)+len("diff\n")+1) + 400
	total := len(changes) - len(headings) + len(outputs)
	shown := 0
	block := func(title string, lines []string, heading map[int]bool) {
		if len(lines) == 0 || b.Len()+reserve >= limit {
			return
		}
		fmt.Fprintf(&b, "%s\n\n%sdiff\n", title, fence)
		for i, l := range lines {
			if b.Len()+len(l)+1+reserve > limit {
				break
			}
			b.WriteString(l)
			b.WriteByte('\n')
			if !heading[i] {
				shown++
			}
		}
		b.WriteString(fence + "\n\n")
	}
	block("Resources:", changes, headings)
	if shown == len(changes)-len(headings) {
		block("Outputs:", outputs, nil)
	}
	if shown < total {
		fmt.Fprintf(&b, "**Truncated:** %d of %s %s not shown, to keep this comment under %d characters. Run `wxmedia show PLANFILE` or `wxmedia show -json PLANFILE` for the whole plan.\n", total-shown, words.Count(total, "change"), words.Be(total-shown), limit)
	}
	b.WriteString(closing)
	return b.String()
}

// codeFence returns a backtick fence longer than any backtick run in lines.
func codeFence(lines []string) string {
	longest := 0
	for _, l := range lines {
		run := 0
		for _, r := range l {
			if r == '`' {
				run++
				longest = max(longest, run)
			} else {
				run = 0
			}
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}
