package schema

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// jsonDecodeFunc is jsondecode: go-cty's stdlib.JSONDecodeFunc, with the
// value of a known document built in one pass. go-cty reads the document
// once for its type and then again for every nested value, with a decoder
// each: about 10 KB of garbage per element, which for a merchants.json of
// 1,000 merchants is more memory than the rest of the plan's evaluation
// of them. The one-pass decoder below reads the same tokens with the same
// encoding/json decoder and builds the values go-cty builds; whenever it
// meets what it does not handle exactly as go-cty does (a repeated
// property, a syntax error, data after the document, a number go-cty
// would not parse), it steps aside and go-cty's function decides, errors
// included. jsondecode_test.go compares the two.
var jsonDecodeFunc = function.New(&function.Spec{
	Description: stdlib.JSONDecodeFunc.Description(),
	Params:      stdlib.JSONDecodeFunc.Params(),
	Type: func(args []cty.Value) (cty.Type, error) {
		if !args[0].IsKnown() {
			return stdlib.JSONDecodeFunc.ReturnTypeForValues(args)
		}
		// The value's type, whatever it is, is the one go-cty implies.
		return cty.DynamicPseudoType, nil
	},
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		if v, ok := decodeJSONOnePass(args[0].AsString()); ok {
			return v, nil
		}
		return stdlib.JSONDecodeFunc.Call(args)
	},
})

// errStepAside ends the one-pass decoding of a document go-cty must decode.
var errStepAside = errors.New("step aside")

// decodeJSONOnePass decodes doc as go-cty's json.Unmarshal with the type
// json.ImpliedType gives; ok is false when go-cty must decide.
func decodeJSONOnePass(doc string) (v cty.Value, ok bool) {
	dec := json.NewDecoder(bytes.NewReader([]byte(doc)))
	dec.UseNumber()
	v, err := decodeJSONValue(dec, 0)
	if err != nil || dec.More() {
		return cty.NilVal, false
	}
	return v, true
}

// maxJSONDepth is the nesting the one-pass decoder takes; deeper
// documents are go-cty's.
const maxJSONDepth = 64

func decodeJSONValue(dec *json.Decoder, depth int) (cty.Value, error) {
	if depth > maxJSONDepth {
		return cty.NilVal, errStepAside
	}
	tok, err := dec.Token()
	if err != nil {
		return cty.NilVal, err
	}
	switch t := tok.(type) {
	case nil:
		return cty.NullVal(cty.DynamicPseudoType), nil
	case bool:
		return cty.BoolVal(t), nil
	case json.Number:
		n, err := cty.ParseNumberVal(string(t))
		if err != nil {
			return cty.NilVal, errStepAside
		}
		return n, nil
	case string:
		return cty.StringVal(t), nil
	case json.Delim:
		switch t {
		case '{':
			attrs := map[string]cty.Value{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return cty.NilVal, err
				}
				k, isStr := kt.(string)
				if !isStr {
					return cty.NilVal, errStepAside
				}
				if _, dup := attrs[k]; dup {
					return cty.NilVal, errStepAside // go-cty's rule for repeated properties
				}
				if attrs[k], err = decodeJSONValue(dec, depth+1); err != nil {
					return cty.NilVal, err
				}
			}
			if _, err := dec.Token(); err != nil { // '}'
				return cty.NilVal, err
			}
			if len(attrs) == 0 {
				return cty.EmptyObjectVal, nil
			}
			return cty.ObjectVal(attrs), nil
		case '[':
			var elems []cty.Value
			for dec.More() {
				e, err := decodeJSONValue(dec, depth+1)
				if err != nil {
					return cty.NilVal, err
				}
				elems = append(elems, e)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return cty.NilVal, err
			}
			if len(elems) == 0 {
				return cty.EmptyTupleVal, nil
			}
			return cty.TupleVal(elems), nil
		}
	}
	return cty.NilVal, errStepAside
}
