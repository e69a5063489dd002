package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestRenderJSONStreamsTheDocument checks that the view written change by
// change is byte for byte what json.Encoder gives for the whole document,
// including values that hold a "resource_changes" member of their own.
func TestRenderJSONStreamsTheDocument(t *testing.T) {
	empty := samplePlan()
	empty.full = nil
	tricky := samplePlan()
	tricky.Variables = append(tricky.Variables, Variable{Name: "v", Value: json.RawMessage(`{"resource_changes":[],"x":"\n  \"resource_changes\": [],\n"}`)})
	tricky.Outputs = append(tricky.Outputs, OutputChange{Name: "o", Action: "create", After: json.RawMessage(`{"resource_changes":[]}`)})
	many := samplePlan()
	for i := range 500 {
		c := *many.full[i%2]
		c.Addr = fmt.Sprintf(`wechatpay_image.img["<%d>&.png"]`, i)
		c.Key = fmt.Sprintf("<%d>&.png", i)
		many.full = append(many.full, &c)
	}
	for name, p := range map[string]*Plan{"sample": samplePlan(), "no changes": empty, "tricky values": tricky, "many": many} {
		var got, want bytes.Buffer
		if err := RenderJSON(&got, p); err != nil {
			t.Fatal(err)
		}
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(jsonDocument(p)); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%s: the streamed view differs:\n%s\nwant:\n%s", name, head(got.String()), head(want.String()))
		}
		if !json.Valid(got.Bytes()) {
			t.Errorf("%s: not valid JSON", name)
		}
	}
}

func head(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return strings.TrimSpace(s)
}

// TestWriteFileStreamsTheDocument checks that a saved plan written change
// by change is byte for byte what json.Encoder gives for the whole file.
func TestWriteFileStreamsTheDocument(t *testing.T) {
	empty := samplePlan()
	empty.full, empty.Targets = nil, nil
	many := samplePlan()
	for i := range 300 {
		c := *many.full[i%2]
		c.Addr = fmt.Sprintf(`wechatpay_image.img["<%d>&.png"]`, i)
		many.full = append(many.full, &c)
	}
	for name, p := range map[string]*Plan{"sample": samplePlan(), "no changes or targets": empty, "many": many} {
		var got, want bytes.Buffer
		if err := WriteFile(&got, p); err != nil {
			t.Fatal(err)
		}
		f := planFile{
			planHead: planHead{FormatVersion: FileFormatVersion, WxmediaVersion: p.Version, Lineage: p.Lineage, Serial: p.Serial,
				Config: p.Config, Variables: p.Variables, Targets: p.Targets, Replace: p.Replace},
			Changes:  p.full,
			planTail: planTail{Outputs: append([]OutputChange(nil), p.Outputs...), Summary: p.Summary},
		}
		if f.Changes == nil {
			f.Changes = []*ResourceChange{}
		}
		for i := range f.Outputs {
			if f.Outputs[i].Sensitive {
				f.Outputs[i].After, f.Outputs[i].AfterUnknown = nil, nil
			}
		}
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%s: the streamed plan file differs:\n%s\nwant:\n%s", name, head(got.String()), head(want.String()))
		}
		if _, err := ReadFile(bytes.NewReader(got.Bytes())); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestJSONIndex: "index" is null for an instance without for_each, in the
// root module or in a module instance, and the key otherwise, the empty
// string included.
func TestJSONIndex(t *testing.T) {
	for _, tc := range []struct {
		addr, key string
		want      string // "null" or the key quoted
	}{
		{`wechatpay_image.logo`, "", "null"},
		{`wechatpay_image.logo["a.png"]`, "a.png", `"a.png"`},
		{`wechatpay_image.logo[""]`, "", `""`},
		{`module.store["north"].wechatpay_image.logo`, "", "null"},
		{`module.store[0].module.badge.wechatpay_image.logo`, "", "null"},
		{`module.store["north"].wechatpay_image.logo["a.png"]`, "a.png", `"a.png"`},
		{`module.store["north"].wechatpay_image.logo[""]`, "", `""`},
	} {
		b, _ := json.Marshal(jsonChangeOf(&ResourceChange{Addr: tc.addr, Type: "wechatpay_image", Name: "logo", Key: tc.key}).Index)
		if string(b) != tc.want {
			t.Errorf("%s: index %s, want %s", tc.addr, b, tc.want)
		}
	}
}
