package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wxmedia/wxmedia/state"
)

func signedPlan(t *testing.T, key []byte) *Plan {
	t.Helper()
	p := &Plan{
		Version: "1", Lineage: "L", Serial: 7, Config: ConfigDigest{SHA256: "c", Files: map[string]string{}},
		Variables: []Variable{
			{Name: "pick", Value: json.RawMessage(`"a.png"`), Type: json.RawMessage(`"string"`)},
			{Name: "secret", Sensitive: true},
		},
		Targets: []string{"wechatpay_image.a"},
		full: []*ResourceChange{{
			Addr: "wechatpay_image.a", Type: "wechatpay_image", Name: "a", Merchant: "m", MchID: "1900000001",
			Service: "wechatpay", API: "merchant_media_image", Action: Reupload,
			Before: &Object{Source: "a.png", Filename: "a.png", SHA256: strings.Repeat("a", 64), Size: 3, ID: "old", UploadedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
			After:  &Object{Source: "a.png", Filename: "a.png", SHA256: strings.Repeat("b", 64), Size: 4},
		}},
		Outputs: []OutputChange{{Name: "id", Action: "update", After: json.RawMessage(`null`), AfterUnknown: json.RawMessage(`true`)}},
		Summary: Summary{Reupload: 1, UploadBytes: 4},
	}
	p.Sign(key)
	return p
}

// roundTripPlan writes p as a plan file and reads it back.
func roundTripPlan(t *testing.T, p *Plan) *Plan {
	t.Helper()
	var b bytes.Buffer
	if err := WriteFile(&b, p); err != nil {
		t.Fatal(err)
	}
	q, err := ReadFile(&b)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// TestSignedInputs checks that a saved plan's recorded inputs are checked
// against signatures made with the state's key from planning again: an
// edited value, a signature removed or taken from another key are refused,
// naming the variable; the plan as written passes.
func TestSignedInputs(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	fresh := signedPlan(t, key)
	if fresh.InputsMAC == "" || fresh.Variables[0].MAC == "" || fresh.Variables[1].MAC == "" {
		t.Fatalf("not signed: %+v", fresh)
	}
	if err := roundTripPlan(t, signedPlan(t, key)).Match(fresh); err != nil {
		t.Fatalf("the plan as written: %v", err)
	}

	// The value edited in the file: apply plans again with the edited
	// value, whose signature is not the recorded one.
	edited := roundTripPlan(t, signedPlan(t, key))
	edited.Variables[0].Value = json.RawMessage(`"b.png"`)
	again := signedPlan(t, nil)
	again.Variables[0].Value = json.RawMessage(`"b.png"`)
	again.Sign(key)
	if err := edited.Match(again); !errors.Is(err, ErrPlanEdited) || !strings.Contains(err.Error(), `variable "pick"`) {
		t.Fatalf("edited value: %v", err)
	}

	// Signed with another key: a forger without the state's key.
	forged := signedPlan(t, []byte("another key, not the state's one"))
	if err := forged.Match(fresh); !errors.Is(err, ErrPlanEdited) {
		t.Fatalf("forged: %v", err)
	}
	// Unsigned, against a state that has a key.
	if err := signedPlan(t, nil).Match(fresh); !errors.Is(err, ErrPlanEdited) || !strings.Contains(err.Error(), "no signature") {
		t.Fatalf("unsigned: %v", err)
	}
	// Targets edited.
	targets := signedPlan(t, key)
	targets.Targets = nil
	planned := signedPlan(t, nil)
	planned.Targets = nil
	planned.Sign(key)
	if err := targets.Match(planned); !errors.Is(err, ErrPlanEdited) || !strings.Contains(err.Error(), "inputs_mac") {
		t.Fatalf("targets: %v", err)
	}
	// Made before any state existed: nothing to check against.
	none := signedPlan(t, nil)
	none.Lineage = ""
	if err := none.Match(fresh); err != nil {
		t.Fatalf("no state at planning: %v", err)
	}
}

// TestMatchNamesEveryField edits each field of a change, an output change
// and the summary, and checks that Match refuses it naming the field.
func TestMatchNamesEveryField(t *testing.T) {
	key := []byte("k")
	fresh := signedPlan(t, key)
	cases := map[string]func(p *Plan){
		"type":                        func(p *Plan) { p.full[0].Type = "wechatpay_video" },
		"name":                        func(p *Plan) { p.full[0].Name = "b" },
		"index":                       func(p *Plan) { p.full[0].Key = "x" },
		"merchant":                    func(p *Plan) { p.full[0].Merchant = "n" },
		"service":                     func(p *Plan) { p.full[0].Service = "https://evil.example" },
		"api":                         func(p *Plan) { p.full[0].API = "merchant_media_video" },
		"action":                      func(p *Plan) { p.full[0].Action = Upload },
		"replace":                     func(p *Plan) { p.full[0].Replace = true },
		"reuse_of":                    func(p *Plan) { p.full[0].ReuseOf = "wechatpay_image.b" },
		"before.uploaded_at":          func(p *Plan) { p.full[0].Before.UploadedAt = time.Unix(0, 0).UTC() },
		"before.id":                   func(p *Plan) { p.full[0].Before.ID = "other" },
		"after.uploaded_at":           func(p *Plan) { p.full[0].After.UploadedAt = time.Unix(0, 0).UTC() },
		"after.filename":              func(p *Plan) { p.full[0].After.Filename = "b.png" },
		"after.id":                    func(p *Plan) { p.full[0].After.ID = "forged" },
		"after.source":                func(p *Plan) { p.full[0].After.Source = "b.png" },
		"output \"id\": field action": func(p *Plan) { p.Outputs[0].Action = "delete" },
		"summary: field upload":       func(p *Plan) { p.Summary.Upload = 2 },
	}
	for field, edit := range cases {
		p := signedPlan(t, key)
		edit(p)
		p = roundTripPlan(t, p)
		err := p.Match(fresh)
		want := "field " + field + " differs"
		if strings.Contains(field, ":") {
			want = field
		}
		if !errors.Is(err, ErrPlanChanged) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s edited: %v", field, err)
		}
	}
}

// A plan made before any state existed takes the new state's lineage and
// is signed with its key, unless the state was written since.
func TestSignAgainstNew(t *testing.T) {
	p := &Plan{Version: "1", Config: ConfigDigest{SHA256: "c", Files: map[string]string{}}}
	fresh := &state.Snapshot{Lineage: "L", PlanKey: []byte("0123456789abcdef0123456789abcdef"), Resources: map[string]state.Resource{}, Outputs: map[string]state.Output{}}
	if err := p.SignAgainstNew(fresh); err != nil || p.Lineage != "L" || p.InputsMAC == "" {
		t.Fatalf("SignAgainstNew: %v, lineage %q, mac %q", err, p.Lineage, p.InputsMAC)
	}
	q := &Plan{Version: "1"}
	written := &state.Snapshot{Lineage: "L", Serial: 1, PlanKey: fresh.PlanKey}
	if err := q.SignAgainstNew(written); !errors.Is(err, ErrStateWritten) || q.InputsMAC != "" || q.Lineage != "" {
		t.Errorf("a state written since: %v, %+v", err, q)
	}
}
