package plan

import (
	"bufio"
	"bytes"
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
	Address string `json:"address"`
	// ModuleAddress is the module instance, as in Terraform's JSON plan;
	// absent for the root module.
	ModuleAddress string      `json:"module_address,omitempty"`
	Type          string      `json:"type"`
	Name          string      `json:"name"`
	Index         *string     `json:"index"`
	Merchant      string      `json:"merchant"`
	MchID         string      `json:"mchid"`
	API           string      `json:"api"`
	Action        string      `json:"action"`
	Replace       bool        `json:"replace"`
	ReuseOf       *string     `json:"reuse_of"`
	Before        *jsonObject `json:"before"`
	After         *jsonObject `json:"after"`
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

// RenderJSON writes the JSON view of p: one document, described in
// docs/json.md, "Plan JSON format". The resource changes are written one at a
// time, so that a plan of many changes is never held in memory as JSON as
// a whole; the document is the one json.Encoder gives for jsonDocument.
func RenderJSON(w io.Writer, p *Plan) error {
	doc := jsonHead(p)
	var head bytes.Buffer
	enc := json.NewEncoder(&head)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	// The top-level member is the one line at two spaces' indentation;
	// anything nested is indented further.
	const member = "\n  \"resource_changes\": [],\n"
	before, after, ok := bytes.Cut(head.Bytes(), []byte(member))
	if !ok || p.NumChanges() == 0 {
		_, err := w.Write(head.Bytes())
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(before)
	bw.WriteString("\n  \"resource_changes\": [\n")
	var elem bytes.Buffer
	eenc := json.NewEncoder(&elem)
	eenc.SetEscapeHTML(false)
	eenc.SetIndent("    ", "  ")
	i := 0
	var err error
	p.eachInModuleOrder(true, func(c *ResourceChange) bool {
		elem.Reset()
		if err = eenc.Encode(jsonChangeOf(c)); err != nil {
			return false
		}
		if i > 0 {
			bw.WriteString(",\n")
		}
		bw.WriteString("    ")
		bw.Write(bytes.TrimSuffix(elem.Bytes(), []byte("\n")))
		i++
		return true
	})
	if err != nil {
		return err
	}
	bw.WriteString("\n  ],\n")
	bw.Write(after)
	return bw.Flush()
}

// jsonDocument is the JSON view of p as one value.
func jsonDocument(p *Plan) jsonPlan {
	doc := jsonHead(p)
	p.eachInModuleOrder(true, func(c *ResourceChange) bool {
		doc.ResourceChanges = append(doc.ResourceChanges, jsonChangeOf(c))
		return true
	})
	return doc
}

// jsonChangeOf is the JSON view of one resource change.
func jsonChangeOf(c *ResourceChange) jsonChange {
	jc := jsonChange{
		Address: c.Addr, ModuleAddress: ModuleOf(c.Addr), Type: c.Type, Name: c.Name, Merchant: c.Merchant, MchID: c.MchID, API: c.API,
		Action: c.Action.String(), Replace: c.Replace, ReuseOf: strPtr(c.ReuseOf),
		Before: jsonObj(c.Before), After: jsonObj(c.After),
	}
	jc.Index = jsonIndex(c.Addr, c.Type, c.Name, c.Key)
	return jc
}

// jsonIndex is the index of a JSON view: the for_each key, or nil when the
// address has none (type.name, after its module instance's path if any).
// A key may be the empty string, which the address alone tells apart.
func jsonIndex(addr, typ, name, key string) *string {
	base := typ + "." + name
	if m := ModuleOf(addr); m != "" {
		base = m + "." + base
	}
	if key == "" && addr == base {
		return nil
	}
	return &key
}

// jsonHead is the JSON view of p without its resource changes.
func jsonHead(p *Plan) jsonPlan {
	doc := jsonPlan{
		FormatVersion: JSONFormatVersion, WxmediaVersion: p.Version,
		Lineage: p.Lineage, Serial: p.Serial,
		Targets: nonNil(p.Targets), Replace: nonNil(p.Replace),
		Variables:       map[string]jsonVariable{},
		ResourceChanges: []jsonChange{},
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
	return doc
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
