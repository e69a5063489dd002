package plan

import (
	"fmt"
	"sort"

	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/wxmedia/wxmedia/schema"
	"github.com/wxmedia/wxmedia/state"
)

// InstanceValues gives the planned values of the configured instances, for
// evaluating outputs: identifiers still to be uploaded are unknown.
func (p *Plan) InstanceValues() map[string]schema.InstanceValue {
	out := make(map[string]schema.InstanceValue, p.NumChanges())
	p.each(true, func(c *ResourceChange) bool {
		if c.After != nil {
			out[c.Addr] = schema.InstanceValue{
				ID: c.After.ID, SHA256: c.After.SHA256, Size: c.After.Size,
				Filename: c.After.Filename, Source: c.After.Source, UploadedAt: c.After.UploadedAt,
			}
		}
		return true
	})
	return out
}

// keepOutsideTargets previews, in a targeted plan, what apply does with an
// output that refers to an instance left out by -target and never
// uploaded: apply cannot evaluate it and keeps its recorded value (or
// records none), so the plan shows no change for it. Such outputs are the
// ones still not wholly known when every planned upload is given an
// identifier.
func keepOutsideTargets(in Input, values map[string]schema.InstanceValue, outs map[string]schema.OutputValue) {
	known := make(map[string]schema.InstanceValue, len(values))
	for a, v := range values {
		if v.ID == "" {
			v.ID = "planned"
		}
		known[a] = v
	}
	full, d := in.Eval.Outputs(known)
	if d.HasErrors() {
		return
	}
	for name, o := range full {
		if o.Value.IsWhollyKnown() {
			continue
		}
		old, ok := in.State.Outputs[name]
		if !ok {
			delete(outs, name)
			continue
		}
		ty, err := ctyjson.UnmarshalType(old.Type)
		if err != nil {
			continue
		}
		v, err := ctyjson.Unmarshal(old.Value, ty)
		if err != nil {
			continue
		}
		outs[name] = schema.OutputValue{Value: v, Sensitive: old.Sensitive}
	}
}

// OutputChanges compares evaluated outputs with the recorded ones.
func OutputChanges(outs map[string]schema.OutputValue, prior map[string]state.Output) ([]OutputChange, error) {
	var res []OutputChange
	for name, o := range outs {
		oc := OutputChange{Name: name, Sensitive: o.Sensitive}
		if !o.Sensitive {
			val, unknown, err := encodeValue(o.Value)
			if err != nil {
				return nil, fmt.Errorf("output %q: %w", name, err)
			}
			oc.After, oc.AfterUnknown = val, unknown
		}
		old, ok := prior[name]
		switch {
		case !ok:
			oc.Action = "create"
		case !o.Value.IsWhollyKnown() || old.Sensitive != o.Sensitive:
			oc.Action = "update"
		default:
			enc, err := EncodeOutput(o)
			if err != nil || string(enc.Value) != string(old.Value) {
				oc.Action = "update"
			} else {
				oc.Action = "noop"
			}
		}
		res = append(res, oc)
	}
	for name, old := range prior {
		if _, ok := outs[name]; !ok {
			res = append(res, OutputChange{Name: name, Action: "delete", Sensitive: old.Sensitive})
		}
	}
	sort.Slice(res, func(i, j int) bool { return res[i].Name < res[j].Name })
	return res, nil
}

// EncodeOutput turns a wholly known output value into its state record.
func EncodeOutput(o schema.OutputValue) (state.Output, error) {
	ty := o.Value.Type()
	val, err := ctyjson.Marshal(o.Value, ty)
	if err != nil {
		return state.Output{}, err
	}
	tyJSON, err := ctyjson.MarshalType(ty)
	if err != nil {
		return state.Output{}, err
	}
	return state.Output{Value: val, Type: tyJSON, Sensitive: o.Sensitive}, nil
}
