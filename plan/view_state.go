package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/wxmedia/wxmedia/internal/words"
	"github.com/wxmedia/wxmedia/state"
)

// The views of a state (show without a plan file): human, JSON and
// Markdown, beside the plan's; and the decoding of recorded outputs that
// they, output and apply's outputs section share.

// DecodeOutput reads a recorded output's value: its JSON value as its
// recorded type.
func DecodeOutput(o state.Output) (cty.Value, error) {
	ty, err := ctyjson.UnmarshalType(o.Type)
	if err != nil {
		return cty.NilVal, err
	}
	return ctyjson.Unmarshal(o.Value, ty)
}

// RawValue is v as output -raw prints it: a string as it is, a number or
// bool in its literal form; ok is false for a null or a value of any
// other type.
func RawValue(v cty.Value) (text string, ok bool) {
	if !v.Type().IsPrimitiveType() || v.IsNull() || !v.IsKnown() {
		return "", false
	}
	switch v.Type() {
	case cty.String:
		return v.AsString(), true
	case cty.Bool:
		if v.True() {
			return "true", true
		}
		return "false", true
	}
	return v.AsBigFloat().Text('f', -1), true
}

// stateJSON is the JSON view of a state (show -json).
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

func sortedOutputs(outs map[string]state.Output) []string {
	names := make([]string, 0, len(outs))
	for n := range outs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// RenderStateJSON writes the JSON view of snap made by wxmedia version
// (show -json; see docs/json.md): every
// resource instance sorted by address, the outputs with sensitive values
// hidden.
func RenderStateJSON(w io.Writer, snap *state.Snapshot, version string) error {
	doc := stateJSON{FormatVersion: JSONFormatVersion, WxmediaVersion: version, Lineage: snap.Lineage, Serial: snap.Serial,
		Resources: []stateResourceJSON{}, Outputs: map[string]stateOutputJSON{}}
	for _, a := range Addresses(snap, nil) {
		r := snap.Resources[a]
		jr := stateResourceJSON{Address: r.Address, Type: r.Type, Name: r.Name, Merchant: r.Merchant, MchID: r.MchID, API: r.API,
			Source: r.Source, Filename: r.Filename, SHA256: r.SHA256, Size: r.Size, Identifier: r.ID, UploadedAt: r.UploadedAt.UTC()}
		jr.Index = jsonIndex(r.Address, r.Type, r.Name, r.Key)
		doc.Resources = append(doc.Resources, jr)
	}
	for n, o := range snap.Outputs {
		v := o.Value
		if o.Sensitive {
			v = json.RawMessage(`"` + Sensitive + `"`)
		}
		doc.Outputs[n] = stateOutputJSON{Value: v, Sensitive: o.Sensitive}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// RenderStateMarkdown writes the Markdown view of snap for a pull-request
// comment: the counts, then the resource instances in a collapsible block,
// cut with a note to stay within MarkdownLimit.
func RenderStateMarkdown(w io.Writer, snap *state.Snapshot) error {
	addrs := Addresses(snap, nil)
	var b strings.Builder
	fmt.Fprintf(&b, "### wxmedia state\n\n%s, %s.\n\n<details><summary>Show the resources</summary>\n\n```\n", words.Count(len(addrs), "resource instance"), words.Count(len(snap.Outputs), "output"))
	shown := 0
	for _, a := range addrs {
		r := snap.Resources[a]
		line := Visible(fmt.Sprintf("%s  %s (%s, %s)", a, r.ID, r.Source, FormatBytes(r.Size))) + "\n"
		if b.Len()+len(line) > MarkdownLimit-600 || strings.Contains(line, "```") {
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
	_, err := io.WriteString(w, b.String())
	return err
}

// RenderState writes the human view of snap: each resource instance with
// its identifier, source, size, digest and upload time, then the outputs,
// sensitive ones hidden. Text from outside is escaped (Visible). An
// output that does not decode is an error, after what was written.
func RenderState(w io.Writer, snap *state.Snapshot, st Styles) error {
	addrs, names := Addresses(snap, nil), sortedOutputs(snap.Outputs)
	if len(addrs) == 0 && len(names) == 0 {
		_, err := io.WriteString(w, "The state is empty: nothing has been uploaded yet.\n")
		return err
	}
	var b strings.Builder
	for _, a := range addrs {
		r := snap.Resources[a]
		fmt.Fprintf(&b, "%s  %s\n    %s, %s, sha256 %s, uploaded %s\n", st.Bold.Sprint(Visible(a)), Visible(r.ID), Visible(r.Source), FormatBytes(r.Size), Visible(r.SHA256), r.UploadedAt.UTC().Format(time.RFC3339))
	}
	var err error
	if len(names) > 0 {
		b.WriteString("\nOutputs:\n")
		for _, n := range names {
			o := snap.Outputs[n]
			var v cty.Value
			if v, err = DecodeOutput(o); err != nil {
				break
			}
			fmt.Fprintf(&b, "  %s = %s\n", Visible(n), strings.ReplaceAll(FormatValue(v, o.Sensitive), "\n", "\n  "))
		}
	}
	if _, werr := io.WriteString(w, b.String()); werr != nil {
		return werr
	}
	return err
}
