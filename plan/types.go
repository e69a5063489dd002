package plan

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/wxmedia/wxmedia/state"
)

// Action is what apply does with one resource instance.
type Action int

// The actions, in the order a plan lists them.
const (
	NoOp     Action = iota // content unchanged: nothing to do
	Upload                 // new instance, content never uploaded: upload
	Reupload               // content changed and not uploaded before: upload
	Reuse                  // content already uploaded for this merchant and API: bind its identifier
	Forget                 // gone from the configuration: drop from state (remote media is kept)
)

var actionNames = [...]string{NoOp: "noop", Upload: "upload", Reupload: "reupload", Reuse: "reuse", Forget: "forget"}

// String returns the machine-readable name used in JSON views.
func (a Action) String() string { return actionNames[a] }

// MarshalJSON encodes the action by name.
func (a Action) MarshalJSON() ([]byte, error) { return json.Marshal(a.String()) }

// UnmarshalJSON decodes an action name.
func (a *Action) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	for i, n := range actionNames {
		if n == s {
			*a = Action(i)
			return nil
		}
	}
	return fmt.Errorf("unknown action %q", s)
}

// Object is the recorded or planned value of one instance.
type Object struct {
	Source   string `json:"source"`
	Filename string `json:"filename"`
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
	// ID is the identifier; "" means known after apply.
	ID         string    `json:"id,omitempty"`
	UploadedAt time.Time `json:"uploaded_at,omitzero"`
}

// ResourceChange is the planned change of one resource instance.
type ResourceChange struct {
	Addr     string `json:"address"`
	Type     string `json:"type"`
	Name     string `json:"name"`
	Key      string `json:"index,omitempty"`
	Merchant string `json:"merchant"`
	MchID    string `json:"mchid"`
	// Service is the cache's service: "wechatpay", a sandbox ID or an endpoint URL.
	Service string `json:"service"`
	API     string `json:"api"`
	Action  Action `json:"action"`
	// Before is nil for an upload of a new instance; After is nil for forget.
	Before *Object `json:"before"`
	After  *Object `json:"after"`
	// Path is the absolute source path apply reads; "" for forget.
	Path string `json:"-"`
	// Replace is true when -replace forced the upload.
	Replace bool `json:"replace,omitempty"`
	// ReuseOf names the instance in this plan whose upload a reuse waits
	// for, when the same bytes are uploaded once for several instances.
	ReuseOf string `json:"reuse_of,omitempty"`
}

// CacheKey is the content-addressed cache key of the planned content.
func (c *ResourceChange) CacheKey() state.CacheKey {
	return state.CacheKey{Service: c.Service, MchID: c.MchID, API: c.API, SHA256: c.After.SHA256}
}

// OutputChange is the planned change of one output.
type OutputChange struct {
	Name      string `json:"name"`
	Action    string `json:"action"` // "create", "update", "delete" or "noop"
	Sensitive bool   `json:"sensitive"`
	// After is the planned value as JSON, null where it is known only after
	// apply; it is nil for a sensitive or deleted output, so a sensitive
	// value never reaches a view or a plan file.
	After json.RawMessage `json:"after,omitempty"`
	// AfterUnknown says which parts of After are known only after apply:
	// true, false, or an array or object of After's shape.
	AfterUnknown json.RawMessage `json:"after_unknown,omitempty"`
}

// Summary counts the actions.
type Summary struct {
	Upload   int `json:"upload"`
	Reupload int `json:"reupload"`
	Reuse    int `json:"reuse"`
	Forget   int `json:"forget"`
	NoOp     int `json:"noop"`
	// UploadBytes is the size of everything sent, uploads and re-uploads;
	// ReuploadBytes the re-uploads' part of it.
	UploadBytes   int64 `json:"upload_bytes"`
	ReuploadBytes int64 `json:"reupload_bytes"`
}

// Plan is a complete plan.
type Plan struct {
	// Version is the wxmedia version that made the plan. Set by the caller.
	Version string
	// Lineage and Serial identify the state the plan was made against;
	// Lineage is "" when no state existed yet.
	Lineage string
	Serial  uint64
	// writeID is the state's write identifier (state.Head.WriteID) when
	// the plan was made; "" for a plan read from a file. Only the no-op
	// index uses it.
	writeID string
	// Targets and Replace are the -target and -replace addresses, in
	// canonical form, sorted.
	Targets []string
	Replace []string
	// Variables are the configuration's variables; sensitive ones carry no
	// value. Set by the caller (Make leaves it empty).
	Variables []Variable
	// InputsMAC signs the lineage, serial, configuration digest, variables,
	// targets and replace addresses together (see Sign); "" when unsigned.
	InputsMAC string
	// Config describes the configuration files planned from. Set by the
	// caller (Make leaves it empty).
	Config ConfigDigest
	// full and noOps are the changes, one per instance in config or
	// state, each sorted by address: see Changes.
	full  []*ResourceChange
	noOps []noOp
	// merchants gives a compact no-op its merchant identity.
	merchants map[string]MerchantIdentity
	Outputs   []OutputChange
	Summary   Summary
}

// HasChanges reports whether applying the plan would change anything:
// any action other than no-op, or any output change.
func (p *Plan) HasChanges() bool {
	s := p.Summary
	if s.Upload+s.Reupload+s.Reuse+s.Forget > 0 {
		return true
	}
	for _, o := range p.Outputs {
		if o.Action != "noop" {
			return true
		}
	}
	return false
}

// StateWriteID returns the write identifier (state.Head.WriteID) of the
// state p was made against, "" when it had none or p was read from a file.
func (p *Plan) StateWriteID() string { return p.writeID }
