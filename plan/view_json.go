package plan

import (
	"encoding/json"
	"io"
	"time"
)

// JSONFormatVersion is the version of the JSON view (plan -json,
// show -json). Additions keep the major version; anything that would break
// a reader changes it.
const JSONFormatVersion = "1.0"

// Sensitive is what every view shows in place of a sensitive value.
const Sensitive = "(sensitive)"

type jsonPlan struct {
	FormatVersion   string                  `json:"format_version"`
	WxmediaVersion  string                  `json:"wxmedia_version"`
	Lineage         string                  `json:"lineage"`
	Serial          uint64                  `json:"serial"`
	Targets         []string                `json:"targets"`
	Replace         []string                `json:"replace"`
	Variables       map[string]jsonVariable `json:"variables"`
	ResourceChanges []jsonChange            `json:"resource_changes"`
	OutputChanges   []jsonOutput            `json:"output_changes"`
	Summary         Summary                 `json:"summary"`
}

type jsonVariable struct {
	Value     json.RawMessage `json:"value"`
	Sensitive bool            `json:"sensitive"`
}

type jsonChange struct {
	Address  string      `json:"address"`
	Type     string      `json:"type"`
	Name     string      `json:"name"`
	Index    *string     `json:"index"`
	Merchant string      `json:"merchant"`
	MchID    string      `json:"mchid"`
	API      string      `json:"api"`
	Action   string      `json:"action"`
	Replace  bool        `json:"replace"`
	ReuseOf  *string     `json:"reuse_of"`
	Before   *jsonObject `json:"before"`
	After    *jsonObject `json:"after"`
}

type jsonObject struct {
	Source     string     `json:"source"`
	Filename   string     `json:"filename"`
	SHA256     string     `json:"sha256"`
	Size       int64      `json:"size"`
	Identifier *string    `json:"identifier"`
	UploadedAt *time.Time `json:"uploaded_at"`
}

type jsonOutput struct {
	Name         string          `json:"name"`
	Action       string          `json:"action"`
	Sensitive    bool            `json:"sensitive"`
	After        json.RawMessage `json:"after"`
	AfterUnknown json.RawMessage `json:"after_unknown"`
}

func jsonObj(o *Object) *jsonObject {
	if o == nil {
		return nil
	}
	j := &jsonObject{Source: o.Source, Filename: o.Filename, SHA256: o.SHA256, Size: o.Size}
	if o.ID != "" {
		id := o.ID
		j.Identifier = &id
	}
	if !o.UploadedAt.IsZero() {
		at := o.UploadedAt.UTC()
		j.UploadedAt = &at
	}
	return j
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// sensitiveJSON is Sensitive as a JSON string.
var sensitiveJSON = json.RawMessage(`"` + Sensitive + `"`)

// RenderJSON writes the JSON view of p: one document, described in the
// README's "Plan JSON format".
func RenderJSON(w io.Writer, p *Plan) error {
	doc := jsonPlan{
		FormatVersion: JSONFormatVersion, WxmediaVersion: p.Version,
		Lineage: p.Lineage, Serial: p.Serial,
		Targets: nonNil(p.Targets), Replace: nonNil(p.Replace),
		Variables:       map[string]jsonVariable{},
		ResourceChanges: make([]jsonChange, 0, len(p.Changes)),
		OutputChanges:   make([]jsonOutput, 0, len(p.Outputs)),
		Summary:         p.Summary,
	}
	for _, v := range p.Variables {
		jv := jsonVariable{Value: v.Value, Sensitive: v.Sensitive}
		if v.Sensitive || len(v.Value) == 0 {
			jv.Value = sensitiveJSON
			jv.Sensitive = true
		}
		doc.Variables[v.Name] = jv
	}
	for _, c := range p.Changes {
		jc := jsonChange{
			Address: c.Addr, Type: c.Type, Name: c.Name, Merchant: c.Merchant, MchID: c.MchID, API: c.API,
			Action: c.Action.String(), Replace: c.Replace, ReuseOf: strPtr(c.ReuseOf),
			Before: jsonObj(c.Before), After: jsonObj(c.After),
		}
		if c.Key != "" || c.Addr != c.Type+"."+c.Name {
			k := c.Key
			jc.Index = &k
		}
		doc.ResourceChanges = append(doc.ResourceChanges, jc)
	}
	for _, o := range p.Outputs {
		jo := jsonOutput{Name: o.Name, Action: o.Action, Sensitive: o.Sensitive, After: o.After, AfterUnknown: o.AfterUnknown}
		switch {
		case o.Sensitive && o.Action != "delete":
			jo.After, jo.AfterUnknown = sensitiveJSON, json.RawMessage("false")
		case o.Action == "delete" || len(jo.After) == 0:
			jo.After, jo.AfterUnknown = json.RawMessage("null"), json.RawMessage("false")
		}
		if len(jo.AfterUnknown) == 0 {
			jo.AfterUnknown = json.RawMessage("false")
		}
		doc.OutputChanges = append(doc.OutputChanges, jo)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
