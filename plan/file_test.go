package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wxmedia/wxmedia/state"
)

func samplePlan() *Plan {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return &Plan{
		Version: "1.2.3", Lineage: "L", Serial: 7,
		Targets: []string{`wechatpay_image.img["a.png"]`},
		Config:  ConfigDigest{SHA256: "c0ffee", Files: map[string]string{"main.wxm.hcl": "abc"}},
		Variables: []Variable{
			{Name: "secret", Sensitive: true},
			{Name: "tag", Value: json.RawMessage(`"spring"`), Type: json.RawMessage(`"string"`)},
		},
		full: []*ResourceChange{
			{Addr: `wechatpay_image.img["a.png"]`, Type: "wechatpay_image", Name: "img", Key: "a.png", Merchant: "m", MchID: "1900000001",
				Service: "wechatpay", API: "merchant_media_image", Action: Reupload, Path: "/abs/img/a.png",
				Before: &Object{Source: "img/a.png", Filename: "a.png", SHA256: strings.Repeat("a", 64), Size: 10, ID: "OLD", UploadedAt: at},
				After:  &Object{Source: "img/a.png", Filename: "a.png", SHA256: strings.Repeat("b", 64), Size: 12}},
			{Addr: "wechatpay_image.gone", Type: "wechatpay_image", Name: "gone", Merchant: "m", MchID: "1900000001",
				Service: "wechatpay", API: "merchant_media_image", Action: Forget,
				Before: &Object{Source: "gone.png", Filename: "gone.png", SHA256: strings.Repeat("c", 64), Size: 3, ID: "G", UploadedAt: at}},
		},
		Outputs: []OutputChange{
			{Name: "ids", Action: "update", After: json.RawMessage(`{"a.png":null}`), AfterUnknown: json.RawMessage(`{"a.png":true}`)},
			{Name: "key", Action: "create", Sensitive: true, After: json.RawMessage(`"hunter2"`), AfterUnknown: json.RawMessage(`false`)},
		},
		Summary: Summary{Reupload: 1, Forget: 1, UploadBytes: 12},
	}
}

func TestPlanFileRoundTrip(t *testing.T) {
	p := samplePlan()
	var b bytes.Buffer
	if err := WriteFile(&b, p); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "hunter2") {
		t.Fatalf("sensitive output value written to the plan file:\n%s", b.String())
	}
	if strings.Contains(b.String(), "/abs/") {
		t.Fatalf("absolute source path written to the plan file")
	}
	got, err := ReadFile(&b)
	if err != nil {
		t.Fatal(err)
	}
	want := samplePlan()
	for _, c := range want.full {
		c.Path = "" // re-derived from the configuration at apply
	}
	want.Outputs[1].After, want.Outputs[1].AfterUnknown = nil, nil
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("round trip differs:\n got %s\nwant %s", g, w)
	}
	if err := got.CheckVersion("1.2.3"); err != nil {
		t.Fatal(err)
	}
}

func TestPlanFileRefusals(t *testing.T) {
	var b bytes.Buffer
	if err := WriteFile(&b, samplePlan()); err != nil {
		t.Fatal(err)
	}
	p, err := ReadFile(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CheckVersion("1.2.4"); !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), "wxmedia 1.2.3") {
		t.Fatalf("another version: %v", err)
	}
	newer := strings.Replace(b.String(), `"format_version":1`, `"format_version":2`, 1)
	if _, err := ReadFile(strings.NewReader(newer)); !errors.Is(err, ErrFileFormat) || !strings.Contains(err.Error(), "format version 2") {
		t.Fatalf("newer format: %v", err)
	}
	for _, junk := range []string{"", "not json", `{"a":1}`, `{"format_version":1,"wxmedia_version":"x","resource_changes":[{"address":"a","action":"explode"}]}`} {
		if _, err := ReadFile(strings.NewReader(junk)); !errors.Is(err, ErrNotPlanFile) {
			t.Fatalf("%q: %v", junk, err)
		}
	}

	snap := &state.Snapshot{Lineage: "L", Serial: 7}
	if err := p.CheckState(snap); err != nil {
		t.Fatal(err)
	}
	snap.Serial = 8
	if err := p.CheckState(snap); !errors.Is(err, ErrStale) || !strings.Contains(err.Error(), "saved plan is stale") {
		t.Fatalf("stale: %v", err)
	}
	snap.Lineage = "M"
	if err := p.CheckState(snap); !errors.Is(err, ErrOtherState) {
		t.Fatalf("lineage: %v", err)
	}
	if err := p.CheckConfig(ConfigDigest{SHA256: "x", Files: map[string]string{"main.wxm.hcl": "def", "new.wxm.hcl": "1"}}); !errors.Is(err, ErrConfigChanged) ||
		!strings.Contains(err.Error(), "main.wxm.hcl changed, new.wxm.hcl added") {
		t.Fatalf("config: %v", err)
	}

	fresh, _ := ReadFile(bytes.NewReader(b.Bytes()))
	fresh.full[0].After.SHA256 = strings.Repeat("d", 64)
	fresh.full[0].Path = "/p"
	if err := p.Match(fresh); !errors.Is(err, ErrFileChanged) || !strings.Contains(err.Error(), "img/a.png") {
		t.Fatalf("file changed: %v", err)
	}
	fresh.full[0].After.SHA256 = strings.Repeat("b", 64)
	if err := p.Match(fresh); err != nil || p.full[0].Path != "/p" {
		t.Fatalf("match: %v, path %q", err, p.full[0].Path)
	}
	fresh.full[0].Action = Upload
	if err := p.Match(fresh); !errors.Is(err, ErrPlanChanged) {
		t.Fatalf("plan changed: %v", err)
	}
}

func TestJSONView(t *testing.T) {
	var b bytes.Buffer
	if err := RenderJSON(&b, samplePlan()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "hunter2") {
		t.Fatal("sensitive output value in the JSON view")
	}
	var doc struct {
		FormatVersion   string `json:"format_version"`
		ResourceChanges []struct {
			Address, Action string
			Index           *string
			Before, After   *struct {
				SHA256     string
				Size       int64
				Source     string
				Identifier *string
			}
		} `json:"resource_changes"`
		OutputChanges []struct {
			Name         string
			After        any
			AfterUnknown any `json:"after_unknown"`
		} `json:"output_changes"`
		Variables map[string]struct{ Value any } `json:"variables"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	rc := doc.ResourceChanges
	if doc.FormatVersion != JSONFormatVersion || len(rc) != 2 || rc[0].Action != "reupload" || rc[1].Action != "forget" ||
		*rc[0].Index != "a.png" || rc[1].Index != nil || rc[0].Before.SHA256 != strings.Repeat("a", 64) ||
		*rc[0].Before.Identifier != "OLD" || rc[0].After.Identifier != nil || rc[0].After.Size != 12 || rc[1].After != nil {
		t.Fatalf("resource changes: %s", b.String())
	}
	if doc.OutputChanges[1].After != Sensitive || doc.Variables["secret"].Value != Sensitive || doc.Variables["tag"].Value != "spring" {
		t.Fatalf("sensitive values: %s", b.String())
	}
	var hb bytes.Buffer
	Render(&hb, samplePlan(), NewStyles(false))
	if !strings.Contains(hb.String(), "key = (sensitive)") || !strings.Contains(hb.String(), "ids = (known after apply, in part)") {
		t.Fatalf("human view:\n%s", hb.String())
	}
}

func TestMarkdownFitsAComment(t *testing.T) {
	const n = 20000
	p := &Plan{Version: "1", Lineage: "L"}
	for i := 0; i < n; i++ {
		addr := fmt.Sprintf("wechatpay_coupon_image.banner[%q]", fmt.Sprintf("campaign-2026/banner-%05d.png", i))
		p.full = append(p.full, &ResourceChange{Addr: addr, Type: "wechatpay_coupon_image", Name: "banner", Action: Upload,
			After: &Object{Source: fmt.Sprintf("assets/campaign-2026/banner-%05d.png", i), SHA256: strings.Repeat("e", 64), Size: 1 << 20}})
		p.Summary.Upload++
		p.Summary.UploadBytes += 1 << 20
	}
	p.Outputs = []OutputChange{{Name: "token", Action: "create", Sensitive: true, After: json.RawMessage(`"hunter2"`)}}
	var b bytes.Buffer
	if err := RenderMarkdown(&b, p); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if len(out) > MarkdownLimit || utf8.RuneCountInString(out) > MarkdownLimit {
		t.Fatalf("markdown is %d bytes, over %d", len(out), MarkdownLimit)
	}
	for _, want := range []string{"| Upload | 20000 |", "<details>", "</details>", "**Truncated:**", "not shown", "wxmedia show"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	if strings.Contains(out, "hunter2") {
		t.Error("sensitive value in the Markdown view")
	}
	if strings.Count(out, "```") != 2 {
		t.Errorf("code fences not balanced: %d", strings.Count(out, "```"))
	}

	// A small plan is shown whole, outputs included.
	small := samplePlan()
	small.Targets = nil
	md := markdown(small, MarkdownLimit)
	if strings.Contains(md, "Truncated") || !strings.Contains(md, "- wechatpay_image.gone") || !strings.Contains(md, "key = (sensitive)") || strings.Contains(md, "hunter2") {
		t.Fatalf("small markdown:\n%s", md)
	}
}

func TestParseAddress(t *testing.T) {
	for in, want := range map[string]string{
		`wechatpay_image.banner`:          `wechatpay_image.banner`,
		`wechatpay_image.banner["a.png"]`: `wechatpay_image.banner["a.png"]`,
		` wechatpay_video.v["x y.mp4"] `:  `wechatpay_video.v["x y.mp4"]`,
	} {
		a, err := ParseAddress(in)
		if err != nil || a.String() != want {
			t.Errorf("%q: %v %q", in, err, a.String())
		}
	}
	for _, in := range []string{"", "banner", "wechatpay_image", `wechatpay_image.b[0]`, `wechatpay_image.b.c`, `aws_s3.b`, `wechatpay_image.b["a"]["b"]`} {
		if _, err := ParseAddress(in); !errors.Is(err, ErrInvalidAddress) {
			t.Errorf("%q: %v", in, err)
		}
	}
}
