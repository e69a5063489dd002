package schema

import (
	"fmt"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// jsonDocs are documents jsondecode meets: the merchants file of the
// module layout, every kind of value, and the cases go-cty decides
// (repeated properties, syntax errors, trailing data, deep nesting).
var jsonDocs = []string{
	`{"sh-001": {"mchid": "1900000001", "key": "keys/a.pem"}, "sh-002": {"mchid": "1900000002", "key": "keys/b.pem"}}`,
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `1.5e300`, `1e400`, `12345678901234567890123`, `"ü"`, `"u\u0308"`,
	`{"a": null, "b": [], "c": {}, "d": [1, "x", null, {"e": false}]}`,
	`[[], [[]], {"": ""}]`, ` {"a" : 1 } `, "\n[1,2]\n",
	`{"a": 1, "a": 2}`, `{"a": 1, "a": "x"}`, `{"a": {"b": 1, "b": 1}}`,
	// Repeated properties whose values differ in type: go-cty's error
	// (Terraform issue 36351, go-cty issue 199).
	`{ "hello": { "test": true }, "hello": { "test2": false } }`,
	`{"a": 1} x`, `{"a": 1}}`, `[1,]`, `{"a"}`, `{`, ``, ` `, `nul`, `"\ud800"`, "\"\xff\"", `01`, `[1 2]`,
	strings.Repeat("[", 70) + strings.Repeat("]", 70), strings.Repeat("[", 10) + "1" + strings.Repeat("]", 10),
}

// The one-pass jsondecode gives what go-cty's gives: the same value, or
// the same error.
func TestJSONDecodeAsGoCty(t *testing.T) {
	for _, doc := range jsonDocs {
		compareJSONDecode(t, doc)
	}
	// A large merchants file, as bench/gencorpus writes it.
	var b strings.Builder
	b.WriteString("{")
	for i := range 1000 {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "%q: {\"mchid\": \"%d\"}", fmt.Sprintf("d%03d", i), 1900000001+i)
	}
	b.WriteString("}\n")
	compareJSONDecode(t, b.String())
	if _, ok := decodeJSONOnePass(b.String()); !ok {
		t.Error("the merchants file is not decoded in one pass")
	}
	for _, doc := range []string{`{"a": 1, "a": 2}`, `{"a": 1} x`, `[1,]`} {
		if _, ok := decodeJSONOnePass(doc); ok {
			t.Errorf("%s: decoded in one pass", doc)
		}
	}
	// Unknown and marked arguments too.
	for _, arg := range []cty.Value{cty.UnknownVal(cty.String), cty.StringVal(`{"a": 1}`).Mark(SensitiveMark), cty.UnknownVal(cty.String).Refine().StringPrefix(`"`).NewValue()} {
		want, werr := stdlib.JSONDecodeFunc.Call([]cty.Value{arg})
		got, gerr := jsonDecodeFunc.Call([]cty.Value{arg})
		if fmt.Sprint(werr) != fmt.Sprint(gerr) || werr == nil && !got.RawEquals(want) {
			t.Errorf("%#v: got %#v, %v; want %#v, %v", arg, got, gerr, want, werr)
		}
	}
}

func compareJSONDecode(t *testing.T, doc string) {
	t.Helper()
	arg := []cty.Value{cty.StringVal(doc)}
	want, werr := stdlib.JSONDecodeFunc.Call(arg)
	got, gerr := jsonDecodeFunc.Call(arg)
	if fmt.Sprint(werr) != fmt.Sprint(gerr) {
		t.Errorf("%.80q: error %v, want %v", doc, gerr, werr)
		return
	}
	if werr == nil && (!got.RawEquals(want) || !got.Type().Equals(want.Type())) {
		t.Errorf("%.80q: got %#v, want %#v", doc, got, want)
	}
}

func FuzzJSONDecodeAsGoCty(f *testing.F) {
	for _, doc := range jsonDocs {
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		compareJSONDecode(t, doc)
	})
}
