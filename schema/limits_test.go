package schema

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

func TestCheckTextNesting(t *testing.T) {
	at := func(n int) []byte {
		return []byte("x = " + strings.Repeat("(", n) + "1" + strings.Repeat(")", n))
	}
	if d := CheckText(at(256), "a.hcl"); d.HasErrors() {
		t.Fatalf("256 levels refused: %s", d.Error())
	}
	d := CheckText(at(257), "a.hcl")
	if !d.HasErrors() || !strings.Contains(d.Error(), "more than 256 levels") || d[0].Subject.Start.Column != 4+257 {
		t.Fatalf("257 levels: %v", d)
	}
	// Brackets of every kind count, over lines, and closing ones undo them.
	mixed := "a = [\n" + strings.Repeat("{x = (", 100) + strings.Repeat(")}", 100) + "\n" + strings.Repeat("[", 300)
	d = CheckText([]byte(mixed), "b.hcl")
	if !d.HasErrors() || d[0].Subject.Start.Line != 3 || d[0].Subject.Start.Column != 256 {
		t.Fatalf("mixed: %v", d)
	}
	// 200,000 levels are refused at once, without recursion.
	if d := CheckText(at(200000), "c.hcl"); !d.HasErrors() {
		t.Fatal("200,000 levels accepted")
	}
	// Chains of operators build trees as deep: unary operators, binary
	// operators over lines inside parentheses, conditionals, indexes,
	// template directives; JSON counts its brackets.
	for name, text := range map[string]string{
		"unary":       "x = " + strings.Repeat("!", 300) + "true",
		"binary":      "x = (1" + strings.Repeat("\n+ 1", 300) + ")",
		"conditional": "x = " + strings.Repeat("true ? 1 : ", 300) + "2",
		"index":       "x = y" + strings.Repeat("[0]", 300),
		"template":    `x = "` + strings.Repeat("%{ if true }", 300) + strings.Repeat("%{ endif }", 300) + `"`,
		"c.json":      `{"x": ` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + "}",
	} {
		if d := CheckText([]byte(text), name); !d.HasErrors() {
			t.Errorf("%s: 300 levels accepted", name)
		}
	}
	// What configurations are made of passes: many attributes, long
	// lists of names with operators' characters, long expressions that
	// are not deep.
	var ok strings.Builder
	ok.WriteString("locals {\n")
	for i := range 2000 {
		fmt.Fprintf(&ok, "  a%d = \"my-logo-%d*.png\" # a - b + c\n  b%d = 1 + 2 * 3 - var.x[0].y\n", i, i, i)
	}
	ok.WriteString("  l = [" + strings.Repeat(`"a-b", `, 2000) + "]\n")
	ok.WriteString("  t = \"" + strings.Repeat("%{ if x }a%{ endif }", 500) + "\"\n}\n")
	if d := CheckText([]byte(ok.String()), "ok.hcl"); d.HasErrors() {
		t.Fatalf("an ordinary configuration refused: %s", d.Error())
	}
}

// TestLinearConvertMatchesConvert: the linear conversion gives what
// go-cty's conversion gives, for lists, sets and maps of any type and of
// given types, over tuples and objects of one and of several element
// types, with marks, nulls and unknowns.
func TestLinearConvertMatchesConvert(t *testing.T) {
	s := func(v string) cty.Value { return cty.StringVal(v) }
	n := func(v int64) cty.Value { return cty.NumberIntVal(v) }
	obj := func(kv ...any) cty.Value {
		m := map[string]cty.Value{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1].(cty.Value)
		}
		return cty.ObjectVal(m)
	}
	values := []cty.Value{
		cty.TupleVal([]cty.Value{s("a"), s("b"), s("a")}),
		cty.TupleVal([]cty.Value{s("a"), n(1), cty.True}),
		cty.TupleVal([]cty.Value{n(1), n(2), n(1)}),
		cty.TupleVal([]cty.Value{s("a"), s("b").Mark("sensitive")}),
		cty.TupleVal([]cty.Value{s("a"), s("b")}).Mark("sensitive"),
		cty.TupleVal([]cty.Value{s("a"), cty.NullVal(cty.String), cty.UnknownVal(cty.String)}),
		cty.TupleVal([]cty.Value{s("a"), cty.DynamicVal}),
		cty.TupleVal([]cty.Value{obj("a", s("x")), obj("a", s("y"), "b", n(1))}),
		cty.TupleVal([]cty.Value{obj("a", s("x")), obj("a", n(2))}),
		cty.TupleVal([]cty.Value{cty.ListVal([]cty.Value{s("x")}), cty.TupleVal([]cty.Value{s("y"), s("z")})}),
		cty.TupleVal([]cty.Value{s("a"), cty.TupleVal([]cty.Value{s("y")})}),
		obj("k", s("v"), "l", n(3)),
		obj("k", s("v"), "l", s("w")),
		obj("k", obj("a", s("x")), "l", obj("b", s("y"))),
	}
	types := []cty.Type{
		cty.List(cty.DynamicPseudoType), cty.Set(cty.DynamicPseudoType), cty.Map(cty.DynamicPseudoType),
		cty.List(cty.String), cty.Set(cty.String), cty.Map(cty.String), cty.List(cty.Number),
		cty.List(cty.Map(cty.String)), cty.List(cty.List(cty.String)),
	}
	for _, v := range values {
		for _, ty := range types {
			want, werr := convert.Convert(v, ty)
			got := linearConvert(v, ty)
			if werr != nil {
				if _, err := convert.Convert(got, ty); err == nil {
					t.Errorf("%#v to %#v: go-cty refuses (%v), linear gives %#v", v, ty, werr, got)
				}
				continue
			}
			got, err := convert.Convert(got, ty)
			if err != nil || !got.RawEquals(want) {
				t.Errorf("%#v to %#v:\n got %#v (%v)\nwant %#v", v, ty, got, err, want)
			}
		}
	}
}

// TestToSetIsLinear: toset, tolist and tomap over 40,000 strings or
// numbers (a tuple, as a list literal is) take well under the 41 s that
// go-cty's pairwise unification of their element types took.
func TestToSetIsLinear(t *testing.T) {
	fns := Functions(t.TempDir())
	const n = 40000
	strs := make([]cty.Value, n)
	nums := make([]cty.Value, n)
	attrs := make(map[string]cty.Value, n)
	for i := range n {
		strs[i] = cty.StringVal(fmt.Sprint("s", i))
		nums[i] = cty.NumberIntVal(int64(i))
		attrs[fmt.Sprint("k", i)] = strs[i]
	}
	for _, c := range []struct {
		fn  string
		arg cty.Value
	}{
		{"toset", cty.TupleVal(strs)}, {"toset", cty.TupleVal(nums)}, {"tolist", cty.TupleVal(strs)},
		{"tomap", cty.ObjectVal(attrs)}, {"distinct", cty.TupleVal(strs)},
	} {
		start := time.Now()
		v, err := fns[c.fn].Call([]cty.Value{c.arg})
		if err != nil {
			t.Fatalf("%s: %v", c.fn, err)
		}
		if v.LengthInt() != n {
			t.Fatalf("%s: %d elements", c.fn, v.LengthInt())
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("%s over %d elements took %v, want well under 20s (41 s when quadratic)", c.fn, n, d)
		}
	}
}

func TestSetproductSizeLimit(t *testing.T) {
	fns := Functions(t.TempDir())
	r := func(n int64) cty.Value {
		v, err := fns["range"].Call([]cty.Value{cty.NumberIntVal(n)})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	start := time.Now()
	_, err := fns["setproduct"].Call([]cty.Value{r(1000), r(1000), r(1000)})
	if err == nil || !strings.Contains(err.Error(), "more than 100000 elements") {
		t.Fatalf("setproduct of 1000 × 1000 × 1000: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("refusing took %v", d)
	}
	v, err := fns["setproduct"].Call([]cty.Value{r(100), r(1000)})
	if err != nil || v.LengthInt() != 100000 {
		t.Fatalf("setproduct of 100 × 1000: %v", err)
	}
}

// TestFileFunctionBudget: file() reads at most 1 MiB a call and 16 MiB
// in all for one set of functions.
func TestFileFunctionBudget(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mib"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	fns := Functions(dir)
	for i := range 16 {
		if _, err := fns["file"].Call([]cty.Value{cty.StringVal("mib")}); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	_, err := fns["file"].Call([]cty.Value{cty.StringVal("mib")})
	if err == nil || !strings.Contains(err.Error(), "more than 16 MiB") {
		t.Fatalf("17th MiB: %v", err)
	}
}

// TestDistinctMatchesStdlib: the linear distinct gives go-cty's result.
func TestDistinctMatchesStdlib(t *testing.T) {
	s, n := cty.StringVal, cty.NumberIntVal
	for _, l := range []cty.Value{
		cty.ListVal([]cty.Value{s("b"), s("a"), s("b"), s("c"), s("a")}),
		cty.ListVal([]cty.Value{n(1), cty.NumberFloatVal(1.0), n(2), cty.NullVal(cty.Number), cty.NullVal(cty.Number)}),
		cty.ListVal([]cty.Value{cty.ListVal([]cty.Value{s("x")}), cty.ListVal([]cty.Value{s("x")}), cty.ListValEmpty(cty.String)}),
		cty.ListVal([]cty.Value{s("a"), cty.UnknownVal(cty.String)}),
		cty.ListValEmpty(cty.String),
		cty.ListVal([]cty.Value{s("a"), s("a")}).Mark("sensitive"),
	} {
		want, werr := stdlib.DistinctFunc.Call([]cty.Value{l})
		got, err := distinctFunc.Call([]cty.Value{l})
		if (err == nil) != (werr == nil) || err == nil && !got.RawEquals(want) {
			t.Errorf("distinct(%#v) = %#v, %v; go-cty %#v, %v", l, got, err, want, werr)
		}
	}
}
