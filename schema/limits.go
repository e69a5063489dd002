package schema

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
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
	// MaxModuleDepth bounds how deeply module calls nest, and
	// MaxModuleInstances the module instances of one configuration, all
	// levels together (each is evaluated on its own).
	MaxModuleDepth     = 16
	MaxModuleInstances = 20_000
	// MaxModuleResourceInstances bounds the resource instances, and
	// MaxModuleMerchantInstances the merchant instances (a few KB each),
	// made in module instances, all together: module instances multiply a
	// resource's or merchant's for_each, so a few lines could otherwise ask for
	// millions of instances (some hundreds of bytes each). The root
	// module's own resources are bounded by the files they name.
	MaxModuleResourceInstances = 200_000
	MaxModuleMerchantInstances = 20_000
)

// CheckText refuses a configuration text that nests deeper than
// MaxNesting, before HCL's recursive parser sees it: a few hundred
// thousand opening parentheses, or unary operators, would overflow its
// stack, which ends the process, and a long chain of binary operators
// builds a tree as deep, which evaluation walks recursively. The native
// syntax is scanned by HCL's own lexer (which does not recurse): each
// open parenthesis, bracket, brace, interpolation or template directive
// (if, for) is a level, and so is each operator, index or attribute access
// of one expression (an element, argument or attribute starts a new one).
// A JSON text (by filename) counts its brackets and braces over every byte,
// strings included, since its strings are templates parsed alike.
func CheckText(src []byte, filename string) hcl.Diagnostics {
	if strings.HasSuffix(filename, ".json") {
		return checkJSONNesting(src, filename)
	}
	toks, _ := hclsyntax.LexConfig(src, filename, hcl.InitialPos)
	// ops[i] counts the operators of the expression open at level i, and
	// kinds[i] is the token that opened level i (0 for the file).
	ops := []int{0}
	kinds := []hclsyntax.TokenType{0}
	depth := 0 // levels open
	total := 0 // depth plus every operator counted in ops
	var prev hclsyntax.TokenType
	for _, t := range toks {
		switch t.Type {
		case hclsyntax.TokenOParen, hclsyntax.TokenOBrack, hclsyntax.TokenOBrace,
			hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			if t.Type == hclsyntax.TokenOBrack && closesTerm(prev) {
				// An index: one more step on the expression before it.
				ops[len(ops)-1]++
				total++
			}
			depth++
			total++
			ops = append(ops, 0)
			kinds = append(kinds, t.Type)
		case hclsyntax.TokenCParen, hclsyntax.TokenCBrack, hclsyntax.TokenCBrace, hclsyntax.TokenTemplateSeqEnd:
			if len(ops) > 1 {
				total -= ops[len(ops)-1] + 1
				ops = ops[:len(ops)-1]
				kinds = kinds[:len(kinds)-1]
				depth--
			}
		case hclsyntax.TokenNewline:
			// Ends an expression in a body or an object only: inside
			// parentheses and brackets one expression spans lines.
			if k := kinds[len(kinds)-1]; k == 0 || k == hclsyntax.TokenOBrace {
				total -= ops[len(ops)-1]
				ops[len(ops)-1] = 0
			}
		case hclsyntax.TokenComma, hclsyntax.TokenEqual, hclsyntax.TokenFatArrow:
			total -= ops[len(ops)-1]
			ops[len(ops)-1] = 0
		case hclsyntax.TokenIdent:
			if prev == hclsyntax.TokenTemplateControl {
				switch string(t.Bytes) {
				case "if", "for":
					ops[len(ops)-2]++ // the directive's body is a level
					total++
				case "endif", "endfor":
					if ops[len(ops)-2] > 0 {
						ops[len(ops)-2]--
						total--
					}
				}
			}
		case hclsyntax.TokenBang, hclsyntax.TokenMinus, hclsyntax.TokenPlus, hclsyntax.TokenStar,
			hclsyntax.TokenSlash, hclsyntax.TokenPercent, hclsyntax.TokenAnd, hclsyntax.TokenOr,
			hclsyntax.TokenEqualOp, hclsyntax.TokenNotEqual, hclsyntax.TokenLessThan, hclsyntax.TokenLessThanEq,
			hclsyntax.TokenGreaterThan, hclsyntax.TokenGreaterThanEq, hclsyntax.TokenQuestion, hclsyntax.TokenDot:
			ops[len(ops)-1]++
			total++
		}
		if t.Type != hclsyntax.TokenComment {
			prev = t.Type
		}
		if total > MaxNesting {
			return tooDeep(filename, t.Range.Start.Line, t.Range.Start.Column)
		}
	}
	return nil
}

// closesTerm reports whether a token of type t ends an expression term, so
// that a "[" after it is an index rather than a tuple.
func closesTerm(t hclsyntax.TokenType) bool {
	switch t {
	case hclsyntax.TokenIdent, hclsyntax.TokenCParen, hclsyntax.TokenCBrack, hclsyntax.TokenCBrace,
		hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc, hclsyntax.TokenNumberLit:
		return true
	}
	return false
}

// checkJSONNesting is CheckText for the JSON syntax.
func checkJSONNesting(src []byte, filename string) hcl.Diagnostics {
	depth := 0
	line, col := 1, 1
	for _, c := range src {
		switch c {
		case '(', '[', '{':
			depth++
			if depth > MaxNesting {
				return tooDeep(filename, line, col)
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

func tooDeep(filename string, line, col int) hcl.Diagnostics {
	pos := hcl.Pos{Line: line, Column: col}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Configuration nested too deeply",
		Detail: fmt.Sprintf("Parentheses, brackets, braces and operators nest more than %d levels deep here (%s:%d,%d); "+
			"wxmedia refuses deeper nesting. Split the expression into locals.", MaxNesting, filename, line, col),
		Subject: &hcl.Range{Filename: filename, Start: pos, End: pos},
	}}
}

// textBudget counts the configuration text parsed against MaxConfigSize.
type textBudget struct{ used int64 }

// take counts n bytes of the text named what, or, with n < 0, a text that
// is alone larger than what is left; the error says which text went over
// the limit.
func (b *textBudget) take(n int64, what string) error {
	if n >= 0 {
		b.used += n
	}
	if n < 0 || b.used > MaxConfigSize {
		b.used = MaxConfigSize + 1
		return fmt.Errorf("%s takes the configuration text past %d KiB: wxmedia reads at most %d KiB of configuration and variables files in all; list many files with fileset() instead of writing them out", what, MaxConfigSize>>10, MaxConfigSize>>10)
	}
	return nil
}

// isCollection reports whether ty is a list, set or map type.
func isCollection(ty cty.Type) bool {
	return ty.IsListType() || ty.IsSetType() || ty.IsMapType()
}

// linearConvert converts a known tuple or object v to the list, set or map
// type want in linear time, with the result convert.Convert(v, want) gives.
// go-cty unifies the element types of a tuple converted to a list (and,
// for a collection of any type, to a set or map) pairwise, even when they
// are all one type: toset over 40,000 strings took 41 s. Here the distinct
// element types are unified once (for a collection of any type), each
// element converted to the element type, and the collection built from
// them. Any other case, or any failure, is v unchanged, for the caller's
// own conversion and its error messages.
func linearConvert(v cty.Value, want cty.Type) (out cty.Value) {
	if !want.IsListType() && !want.IsSetType() && !want.IsMapType() {
		return v
	}
	uv, marks := v.Unmark()
	if !uv.IsKnown() || uv.IsNull() {
		return v
	}
	t := uv.Type()
	tuple := t.IsTupleType() && !want.IsMapType()
	object := t.IsObjectType() && want.IsMapType()
	if !tuple && !object || uv.LengthInt() < 2 {
		return v
	}
	ety := want.ElementType()
	if ety == cty.DynamicPseudoType {
		var etys []cty.Type
		if tuple {
			etys = t.TupleElementTypes()
		} else {
			for _, at := range t.AttributeTypes() {
				etys = append(etys, at)
			}
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
		ety = distinct[0]
		if len(distinct) > 1 {
			ety, _ = convert.UnifyUnsafe(distinct)
		}
	}
	if ety == cty.NilType || ety.HasDynamicTypes() {
		return v
	}
	defer func() {
		if recover() != nil {
			out = v // cty refused the collection: let the caller say why
		}
	}()
	if object {
		m := make(map[string]cty.Value, uv.LengthInt())
		for it := uv.ElementIterator(); it.Next(); {
			k, e := it.Element()
			c, err := convert.Convert(e, ety)
			if err != nil {
				return v
			}
			m[k.AsString()] = c
		}
		return cty.MapVal(m).WithMarks(marks)
	}
	elems := make([]cty.Value, 0, uv.LengthInt())
	for it := uv.ElementIterator(); it.Next(); {
		_, e := it.Element()
		c, err := convert.Convert(e, ety)
		if err != nil {
			return v
		}
		elems = append(elems, c)
	}
	if want.IsSetType() {
		return cty.SetVal(elems).WithMarks(marks)
	}
	return cty.ListVal(elems).WithMarks(marks)
}

// linearArgs wraps f so that its arguments for list, set or map
// parameters are converted by linearConvert, then to the parameter's type
// as HCL converts arguments (the wrapper's parameters for them are of any
// type, so HCL leaves that to it); f itself is returned when it has none
// and needs no check. check, when set, vets the converted arguments before
// f runs.
//
// to is the type a conversion function (toset, tolist, tomap) converts its
// one argument to, its parameter being of any type; cty.NilType otherwise.
// Its argument is only given linearConvert's shortcut, and f converts it.
func linearArgs(f function.Function, to cty.Type, check func(args []cty.Value) error) function.Function {
	params := f.Params()
	vp := f.VarParam()
	var want []cty.Type // the types to convert each parameter's arguments to
	var hard []bool     // whether a failed conversion is the argument's error
	wrap := false
	for i := range params {
		want = append(want, params[i].Type)
		hard = append(hard, isCollection(params[i].Type))
		if hard[i] {
			params[i].Type, wrap = cty.DynamicPseudoType, true
		}
	}
	if to != cty.NilType && len(want) == 1 {
		want[0], wrap = to, true
	}
	var vpType cty.Type
	vpHard := false
	if vp != nil && isCollection(vp.Type) {
		c := *vp
		vpType, vpHard = c.Type, true
		c.Type, vp, wrap = cty.DynamicPseudoType, &c, true
	}
	if !wrap && check == nil {
		return f
	}
	convertArgs := func(args []cty.Value) ([]cty.Value, error) {
		out := make([]cty.Value, len(args))
		for i, a := range args {
			ty, strict := vpType, vpHard
			if i < len(want) {
				ty, strict = want[i], hard[i]
			}
			out[i] = a
			if ty == cty.NilType {
				continue
			}
			out[i] = linearConvert(a, ty)
			if strict {
				c, err := convert.Convert(out[i], ty)
				if err != nil {
					return nil, function.NewArgError(i, err)
				}
				out[i] = c
			}
		}
		return out, nil
	}
	return function.New(&function.Spec{
		Description: f.Description(),
		Params:      params,
		VarParam:    vp,
		Type: func(args []cty.Value) (cty.Type, error) {
			args, err := convertArgs(args)
			if err != nil {
				return cty.NilType, err
			}
			return f.ReturnTypeForValues(args)
		},
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			args, err := convertArgs(args)
			if err != nil {
				return cty.NilVal, err
			}
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

// distinctFunc is go-cty's distinct in linear time: go-cty compares each
// element with every element kept before it (quadratic; 40,000 strings
// took minutes). Elements are bucketed by their hash, as go-cty's sets
// do, and compared only within a bucket.
var distinctFunc = function.New(&function.Spec{
	Description: stdlib.DistinctFunc.Description(),
	Params:      []function.Parameter{{Name: "list", Type: cty.List(cty.DynamicPseudoType)}},
	Type: func(args []cty.Value) (cty.Type, error) {
		return args[0].Type(), nil
	},
	RefineResult: func(b *cty.RefinementBuilder) *cty.RefinementBuilder { return b.NotNull() },
	Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
		list := args[0]
		if !list.IsWhollyKnown() {
			return cty.UnknownVal(retType), nil
		}
		var out []cty.Value
		buckets := map[int][]int{}
		for it := list.ElementIterator(); it.Next(); {
			_, v := it.Element()
			h := v.Hash()
			dup := false
			for _, i := range buckets[h] {
				if eq := out[i].Equals(v); eq.IsKnown() && eq.True() {
					dup = true
					break
				}
			}
			if !dup {
				buckets[h] = append(buckets[h], len(out))
				out = append(out, v)
			}
		}
		if len(out) == 0 {
			return cty.ListValEmpty(retType.ElementType()), nil
		}
		return cty.ListVal(out), nil
	},
})
