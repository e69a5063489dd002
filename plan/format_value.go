package plan

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// FormatValue renders an output value for humans as Terraform does: HCL
// literals, with lists, sets, tuples, maps and objects spread over
// indented lines, one element a line:
//
//	{
//	  "a.png" = "MEDIA_A"
//	  "b.png" = "MEDIA_B"
//	}
//
// Strings are quoted and escaped by hclwrite's token formatting, and
// control and format characters are then shown as escapes. A sensitive
// value is "(sensitive)"; an unknown one "(known after apply)".
func FormatValue(v cty.Value, sensitive bool) string {
	if sensitive {
		return "(sensitive)"
	}
	if !v.IsWhollyKnown() {
		if !v.IsKnown() {
			return "(known after apply)"
		}
		return "(known after apply, in part)"
	}
	var b strings.Builder
	writeValue(&b, v, "")
	return VisibleLines(b.String())
}

// formatJSONValue renders a value recorded as JSON (a plan's output
// change) in the same form, reading it as its JSON shape; unknown says
// which parts are known only after apply.
func formatJSONValue(val, unknown json.RawMessage, sensitive bool) string {
	if sensitive {
		return "(sensitive)"
	}
	switch {
	case strings.TrimSpace(string(unknown)) == "true":
		return "(known after apply)"
	case anyUnknown(unknown):
		return "(known after apply, in part)"
	}
	if len(val) == 0 {
		return "null"
	}
	ty, err := ctyjson.ImpliedType(val)
	if err != nil {
		return Visible(string(val))
	}
	v, err := ctyjson.Unmarshal(val, ty)
	if err != nil {
		return Visible(string(val))
	}
	return FormatValue(v, false)
}

func writeValue(b *strings.Builder, v cty.Value, indent string) {
	ty := v.Type()
	switch {
	case v.IsNull():
		b.WriteString("null")
	case ty.IsListType() || ty.IsSetType() || ty.IsTupleType():
		if v.LengthInt() == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[\n")
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			b.WriteString(indent + "  ")
			writeValue(b, e, indent+"  ")
			b.WriteString(",\n")
		}
		b.WriteString(indent + "]")
	case ty.IsMapType() || ty.IsObjectType():
		if v.LengthInt() == 0 {
			b.WriteString("{}")
			return
		}
		m := v.AsValueMap()
		keys := make([]string, 0, len(m))
		width := 0
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		shown := make(map[string]string, len(keys))
		for _, k := range keys {
			s := k
			if ty.IsMapType() || !hclsyntax.ValidIdentifier(k) {
				s = literal(cty.StringVal(k))
			}
			shown[k] = s
			width = alignWidth(width, s)
		}
		b.WriteString("{\n")
		for _, k := range keys {
			s := shown[k]
			b.WriteString(indent + "  " + s + padding(s, width) + " = ")
			writeValue(b, m[k], indent+"  ")
			b.WriteString("\n")
		}
		b.WriteString(indent + "}")
	default:
		b.WriteString(literal(v))
	}
}

// literal is a primitive value as hclwrite writes it.
func literal(v cty.Value) string {
	return string(hclwrite.TokensForValue(v).Bytes())
}
