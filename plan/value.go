package plan

import (
	"encoding/json"
	"fmt"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// encodeValue turns a possibly partly unknown value into JSON, with null
// for the unknown parts, and a second JSON document that says which parts
// are unknown: true for a wholly unknown value, false for a wholly known
// one, or an array or object of the same shape for a collection that is
// unknown in part (as Terraform's after_unknown).
func encodeValue(v cty.Value) (val, unknown json.RawMessage, err error) {
	v, _ = v.UnmarkDeep()
	if v.IsWhollyKnown() {
		if v.IsNull() {
			return json.RawMessage("null"), json.RawMessage("false"), nil
		}
		b, err := ctyjson.Marshal(v, v.Type())
		if err != nil {
			return nil, nil, err
		}
		return b, json.RawMessage("false"), nil
	}
	if !v.IsKnown() {
		return json.RawMessage("null"), json.RawMessage("true"), nil
	}
	ty := v.Type()
	switch {
	case ty.IsListType() || ty.IsSetType() || ty.IsTupleType():
		var vals, unks []json.RawMessage
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			ev, eu, err := encodeValue(e)
			if err != nil {
				return nil, nil, err
			}
			vals, unks = append(vals, ev), append(unks, eu)
		}
		a, _ := json.Marshal(vals)
		b, _ := json.Marshal(unks)
		return a, b, nil
	case ty.IsMapType() || ty.IsObjectType():
		vals, unks := map[string]json.RawMessage{}, map[string]json.RawMessage{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			ev, eu, err := encodeValue(e)
			if err != nil {
				return nil, nil, err
			}
			vals[k.AsString()], unks[k.AsString()] = ev, eu
		}
		a, _ := json.Marshal(vals)
		b, _ := json.Marshal(unks)
		return a, b, nil
	}
	return nil, nil, fmt.Errorf("cannot encode a value of type %s", ty.FriendlyName())
}

// anyUnknown reports whether an unknown document marks anything unknown.
func anyUnknown(unknown json.RawMessage) bool {
	var doc any
	if json.Unmarshal(unknown, &doc) != nil {
		return false
	}
	var walk func(any) bool
	walk = func(d any) bool {
		switch d := d.(type) {
		case bool:
			return d
		case []any:
			for _, e := range d {
				if walk(e) {
					return true
				}
			}
		case map[string]any:
			for _, e := range d {
				if walk(e) {
					return true
				}
			}
		}
		return false
	}
	return walk(doc)
}
