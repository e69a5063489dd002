package schema

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
)

// Limits on what a configuration may make wxmedia do. Each is a diagnostic
// that names the limit, never a crash, a hang or memory without bound:
// parsing and evaluating HCL takes some hundreds of bytes of memory per
// byte of text, its parser recurses once per nesting level, and a few
// functions build results far larger than their arguments.
const (
	// MaxConfigSize bounds the configuration text parsed for one command:
	// every configuration file of the directory, the variables files
	// (*.auto.wxmvars.hcl and -var-file) and -var values together.
	MaxConfigSize = 512 << 10
	// MaxNesting bounds how deeply parentheses, brackets and braces nest
	// in a configuration text (counted over the whole text, quoted strings
	// and comments included, so a count is never too low).
	MaxNesting = 256
	// MaxFileFuncSize bounds the file that file() reads, and
	// MaxFileFuncTotal what all its calls of one evaluation read together.
	MaxFileFuncSize  = 1 << 20
	MaxFileFuncTotal = 16 << 20
	// MaxCollectionSize bounds the elements of a setproduct result.
	MaxCollectionSize = 100_000
)

// CheckText refuses a configuration text that nests deeper than
// MaxNesting, before HCL's recursive parser sees it: a few hundred
// thousand opening parentheses would overflow its stack, which ends the
// process. The count goes over every byte: an opening bracket inside a
// quoted string counts too, which only ever makes it higher.
func CheckText(src []byte, filename string) hcl.Diagnostics {
	depth := 0
	line, col := 1, 1
	for _, c := range src {
		switch c {
		case '(', '[', '{':
			depth++
			if depth > MaxNesting {
				pos := hcl.Pos{Line: line, Column: col, Byte: 0}
				return hcl.Diagnostics{{
					Severity: hcl.DiagError,
					Summary:  "Configuration nested too deeply",
					Detail: fmt.Sprintf("Parentheses, brackets and braces nest more than %d levels deep here (%s:%d,%d); "+
						"wxmedia refuses deeper nesting. Split the expression into locals.", MaxNesting, filename, line, col),
					Subject: &hcl.Range{Filename: filename, Start: pos, End: pos},
				}}
			}
		case ')', ']', '}':
			depth = max(0, depth-1)
		case '\n':
			line, col = line+1, 0
		}
		col++
	}
	return nil
}

// textBudget counts the configuration text parsed against MaxConfigSize.
type textBudget struct{ used int64 }

// take counts n bytes of the text named what; the error says which text
// went over the limit.
func (b *textBudget) take(n int64, what string) error {
	b.used += n
	if b.used > MaxConfigSize {
		return fmt.Errorf("%s brings the configuration text to more than %d KiB (%d bytes); wxmedia reads at most %d KiB of configuration and variables files: list many files with fileset() instead of writing them out", what, MaxConfigSize>>10, b.used, MaxConfigSize>>10)
	}
	return nil
}

// collectionOfAny reports whether ty is a list, set or map of any type,
// the parameter types whose conversion from a tuple or object go-cty
// unifies the element types of pairwise (quadratic in the elements).
func collectionOfAny(ty cty.Type) bool {
	return (ty.IsListType() || ty.IsSetType() || ty.IsMapType()) && ty.ElementType() == cty.DynamicPseudoType
}

// linearConvert converts a known tuple or object v to the collection type
// want (a list, set or map of any type) in linear time: it unifies the
// distinct element types once, then converts to a collection of the
// unified type, which gives what convert.Convert(v, want) gives. go-cty
// unifies all element types pairwise, which took 41 s for toset over
// 40,000 strings. Any other case is v unchanged, for the caller's own
// conversion (and its error messages).
func linearConvert(v cty.Value, want cty.Type) cty.Value {
	if !collectionOfAny(want) {
		return v
	}
	uv, marks := v.Unmark()
	if !uv.IsKnown() || uv.IsNull() {
		return v
	}
	var etys []cty.Type
	switch t := uv.Type(); {
	case t.IsTupleType() && !want.IsMapType():
		etys = t.TupleElementTypes()
	case t.IsObjectType() && want.IsMapType():
		for _, at := range t.AttributeTypes() {
			etys = append(etys, at)
		}
	default:
		return v
	}
	if len(etys) < 2 {
		return v
	}
	var distinct []cty.Type
	for _, t := range etys {
		seen := false
		for _, d := range distinct {
			if d.Equals(t) {
				seen = true
				break
			}
		}
		if !seen {
			if len(distinct) == 8 {
				return v // many distinct types: no shortcut
			}
			distinct = append(distinct, t)
		}
	}
	ety := distinct[0]
	if len(distinct) > 1 {
		if ety, _ = convert.UnifyUnsafe(distinct); ety == cty.NilType {
			return v
		}
	}
	var target cty.Type
	switch {
	case want.IsListType():
		target = cty.List(ety)
	case want.IsSetType():
		target = cty.Set(ety)
	default:
		target = cty.Map(ety)
	}
	out, err := convert.Convert(uv, target)
	if err != nil {
		return v
	}
	return out.WithMarks(marks)
}

// linearArgs wraps f so that its arguments for list, set or map of any
// type parameters are converted by linearConvert; f itself is returned
// when it has none. check, when set, vets the converted arguments before
// f runs.
func linearArgs(f function.Function, check func(args []cty.Value) error) function.Function {
	params := f.Params()
	vp := f.VarParam()
	wrap := false
	for i := range params {
		if collectionOfAny(params[i].Type) {
			params[i].Type, wrap = cty.DynamicPseudoType, true
		}
	}
	var want []cty.Type
	for _, p := range f.Params() {
		want = append(want, p.Type)
	}
	var vpType cty.Type
	if vp != nil {
		vpType = vp.Type
		if collectionOfAny(vp.Type) {
			c := *vp
			c.Type, vp, wrap = cty.DynamicPseudoType, &c, true
		}
	}
	if !wrap && check == nil {
		return f
	}
	convertArgs := func(args []cty.Value) []cty.Value {
		out := make([]cty.Value, len(args))
		for i, a := range args {
			ty := vpType
			if i < len(want) {
				ty = want[i]
			}
			out[i] = a
			if ty != cty.NilType {
				out[i] = linearConvert(a, ty)
			}
		}
		return out
	}
	return function.New(&function.Spec{
		Description: f.Description(),
		Params:      params,
		VarParam:    vp,
		Type: func(args []cty.Value) (cty.Type, error) {
			return f.ReturnTypeForValues(convertArgs(args))
		},
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			args = convertArgs(args)
			if check != nil {
				if err := check(args); err != nil {
					return cty.NilVal, err
				}
			}
			return f.Call(args)
		},
	})
}

// checkProductSize refuses a setproduct whose result would hold more than
// MaxCollectionSize elements, before building it.
func checkProductSize(args []cty.Value) error {
	n := int64(1)
	for _, a := range args {
		a, _ = a.Unmark()
		if !a.IsKnown() || a.IsNull() || !a.CanIterateElements() {
			return nil // setproduct says what is wrong
		}
		l := int64(a.LengthInt())
		if l == 0 {
			return nil
		}
		if n > MaxCollectionSize/l {
			return fmt.Errorf("the product would hold more than %d elements (its arguments have %s elements); wxmedia refuses larger collections", MaxCollectionSize, lengths(args))
		}
		n *= l
	}
	return nil
}

func lengths(args []cty.Value) string {
	s := ""
	for i, a := range args {
		a, _ = a.Unmark()
		if i > 0 {
			s += " × "
		}
		if a.IsKnown() && !a.IsNull() && a.CanIterateElements() {
			s += fmt.Sprint(a.LengthInt())
		} else {
			s += "?"
		}
	}
	return s
}
