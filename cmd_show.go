package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/wxmedia/wxmedia/internal/arguments"
	"github.com/wxmedia/wxmedia/internal/words"
	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/state"
)

func runShow(u *ui, a *arguments.Show) error {
	if a.PlanPath == "" {
		return showState(u, a.View)
	}
	p, err := plan.Open(a.PlanPath)
	if err != nil {
		return err
	}
	if err := p.CheckVersion(version); err != nil {
		u.warnf("%v", err)
	}
	return renderPlan(u, a.View, p)
}

// stateJSON is the JSON view of the current state (show -json).
type stateJSON struct {
	FormatVersion  string                     `json:"format_version"`
	WxmediaVersion string                     `json:"wxmedia_version"`
	Lineage        string                     `json:"lineage"`
	Serial         uint64                     `json:"serial"`
	Resources      []stateResourceJSON        `json:"resources"`
	Outputs        map[string]stateOutputJSON `json:"outputs"`
}

type stateResourceJSON struct {
	Address    string    `json:"address"`
	Type       string    `json:"type"`
	Name       string    `json:"name"`
	Index      *string   `json:"index"`
	Merchant   string    `json:"merchant"`
	MchID      string    `json:"mchid"`
	API        string    `json:"api"`
	Source     string    `json:"source"`
	Filename   string    `json:"filename"`
	SHA256     string    `json:"sha256"`
	Size       int64     `json:"size"`
	Identifier string    `json:"identifier"`
	UploadedAt time.Time `json:"uploaded_at"`
}

type stateOutputJSON struct {
	Value     json.RawMessage `json:"value"`
	Sensitive bool            `json:"sensitive"`
}

// showState renders the current state: every resource with its
// identifier, and the outputs, sensitive ones hidden.
func showState(u *ui, view arguments.ViewType) error {
	snap, _, done, err := readSnapshot(0)
	if err != nil {
		return err
	}
	defer done()
	addrs := make([]string, 0, len(snap.Resources))
	for a := range snap.Resources {
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	names := make([]string, 0, len(snap.Outputs))
	for n := range snap.Outputs {
		names = append(names, n)
	}
	sort.Strings(names)
	outValue := func(o state.Output) json.RawMessage {
		if o.Sensitive {
			return json.RawMessage(`"` + plan.Sensitive + `"`)
		}
		return o.Value
	}
	switch view {
	case arguments.ViewJSON:
		doc := stateJSON{FormatVersion: plan.JSONFormatVersion, WxmediaVersion: version, Lineage: snap.Lineage, Serial: snap.Serial,
			Resources: []stateResourceJSON{}, Outputs: map[string]stateOutputJSON{}}
		for _, a := range addrs {
			r := snap.Resources[a]
			jr := stateResourceJSON{Address: r.Address, Type: r.Type, Name: r.Name, Merchant: r.Merchant, MchID: r.MchID, API: r.API,
				Source: r.Source, Filename: r.Filename, SHA256: r.SHA256, Size: r.Size, Identifier: r.ID, UploadedAt: r.UploadedAt.UTC()}
			if r.Address != r.Type+"."+r.Name {
				k := r.Key
				jr.Index = &k
			}
			doc.Resources = append(doc.Resources, jr)
		}
		for _, n := range names {
			o := snap.Outputs[n]
			doc.Outputs[n] = stateOutputJSON{Value: outValue(o), Sensitive: o.Sensitive}
		}
		enc := json.NewEncoder(u.stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	case arguments.ViewMarkdown:
		var b strings.Builder
		fmt.Fprintf(&b, "### wxmedia state\n\n%s, %s.\n\n<details><summary>Show the resources</summary>\n\n```\n", words.Count(len(addrs), "resource instance"), words.Count(len(names), "output"))
		shown := 0
		for _, a := range addrs {
			r := snap.Resources[a]
			line := plan.Visible(fmt.Sprintf("%s  %s (%s, %s)", a, r.ID, r.Source, plan.FormatBytes(r.Size))) + "\n"
			if b.Len()+len(line) > plan.MarkdownLimit-600 || strings.Contains(line, "```") {
				break
			}
			b.WriteString(line)
			shown++
		}
		b.WriteString("```\n\n")
		if shown < len(addrs) {
			fmt.Fprintf(&b, "**Truncated:** %d of %d resources are not shown. Run `wxmedia show -json` for all of them.\n\n", len(addrs)-shown, len(addrs))
		}
		b.WriteString("</details>\n")
		u.printf("%s", b.String())
		return nil
	}
	if len(addrs) == 0 && len(names) == 0 {
		u.printf("The state is empty: nothing has been uploaded yet.\n")
		return nil
	}
	st := u.styles()
	for _, a := range addrs {
		r := snap.Resources[a]
		// Addresses, identifiers and sources come from outside.
		u.printf("%s  %s\n    %s, %s, sha256 %s, uploaded %s\n", st.Bold.Sprint(plan.Visible(a)), plan.Visible(r.ID), plan.Visible(r.Source), plan.FormatBytes(r.Size), plan.Visible(r.SHA256), r.UploadedAt.UTC().Format(time.RFC3339))
	}
	if len(names) > 0 {
		u.printf("\nOutputs:\n")
		for _, n := range names {
			o := snap.Outputs[n]
			v, err := decodeOutput(o)
			if err != nil {
				return err
			}
			u.printf("  %s = %s\n", plan.Visible(n), indentLines(plan.FormatValue(v, o.Sensitive), "  "))
		}
	}
	return nil
}
