package schema

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// AutoVarsSuffix is the suffix of the variables files read automatically
// from the configuration directory, in lexical order; VarsSuffix that of any
// variables file, for fmt.
const (
	AutoVarsSuffix = ".auto.wxmvars.hcl"
	VarsSuffix     = ".wxmvars.hcl"
)

// Validation is a validation block of a variable.
type Validation struct {
	// Condition is a bool expression that may refer to the variable only.
	Condition hcl.Expression
	// ErrorMessage is the message shown when Condition is false.
	ErrorMessage hcl.Expression
	DeclRange    hcl.Range
}

var validationSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "condition", Required: true},
		{Name: "error_message", Required: true},
	},
}

func decodeValidation(varName string, b *hcl.Block) (*Validation, hcl.Diagnostics) {
	content, diags := b.Body.Content(validationSchema)
	if diags.HasErrors() {
		return nil, diags
	}
	v := &Validation{
		Condition:    content.Attributes["condition"].Expr,
		ErrorMessage: content.Attributes["error_message"].Expr,
		DeclRange:    b.DefRange,
	}
	for _, expr := range []hcl.Expression{v.Condition, v.ErrorMessage} {
		for _, t := range expr.Variables() {
			ok := t.RootName() == "var" && len(t) > 1
			if ok {
				a, isAttr := t[1].(hcl.TraverseAttr)
				ok = isAttr && a.Name == varName
			}
			if !ok {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid reference in variable validation",
					Detail:   fmt.Sprintf("The condition and error message of a validation of variable %q may refer only to var.%s.", varName, varName),
					Subject:  t.SourceRange().Ptr(),
				})
			}
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return v, diags
}

// validateVariable checks val against v's validation blocks. subject is where
// the value was written, when it comes from a file.
func (ev *Evaluation) validateVariable(v *Variable, val cty.Value, subject *hcl.Range) hcl.Diagnostics {
	if len(v.Validations) == 0 {
		return nil
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{v.Name: val})},
		Functions: ev.baseFunctions(),
	}
	var diags hcl.Diagnostics
	for _, rule := range v.Validations {
		cond, d := rule.Condition.Value(ctx)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		cond, _ = cond.Unmark()
		if !cond.IsKnown() {
			continue
		}
		if cond.IsNull() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid variable validation result",
				Detail:   "The validation condition is null; it must be true or false.",
				Subject:  rule.Condition.Range().Ptr(),
			})
			continue
		}
		b, err := convert.Convert(cond, cty.Bool)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid variable validation result",
				Detail:   fmt.Sprintf("The validation condition must be a bool: %s.", err),
				Subject:  rule.Condition.Range().Ptr(),
			})
			continue
		}
		if b.True() {
			continue
		}
		msg := "(the error message could not be evaluated)"
		if mv, d := rule.ErrorMessage.Value(ctx); !d.HasErrors() {
			switch {
			case mv.ContainsMarked():
				msg = "The error message included a sensitive value, so it will not be displayed."
			case mv.IsKnown() && !mv.IsNull():
				if sv, err := convert.Convert(mv, cty.String); err == nil {
					msg = sv.AsString()
				}
			}
		}
		rng := rule.DeclRange
		if subject == nil {
			subject = v.DeclRange.Ptr()
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail:   fmt.Sprintf("%s\n\nThis was checked by the validation rule at %s:%d,%d.", strings.TrimSpace(msg), rng.Filename, rng.Start.Line, rng.Start.Column),
			Subject:  subject,
		})
	}
	return diags
}

// ValueOf gives the value that gv stands for as v's value, parsed and
// converted exactly as evaluation does, whatever its source (-var text, a
// variables file's expression, the environment, a saved plan's record).
func (v *Variable) ValueOf(gv VarValue) (cty.Value, hcl.Diagnostics) {
	return parseVarValue(v, gv)
}

// AutoVarFiles returns the names of the *.auto.wxmvars.hcl files of the
// configuration directory, in lexical order.
func (cfg *Config) AutoVarFiles() ([]string, error) {
	entries, err := os.ReadDir(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("read configuration directory: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), AutoVarsSuffix) && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// ParseVarFile reads a variables file: top-level attributes name = value,
// values being constant expressions. path is relative to the working
// directory; the file is named as given in diagnostics, which render with
// cfg.Files.
func (cfg *Config) ParseVarFile(path string) (map[string]VarValue, hcl.Diagnostics) {
	src, diags := cfg.readText(path, path, "variables file")
	if diags.HasErrors() {
		return nil, diags
	}
	var f *hcl.File
	if strings.HasSuffix(path, ".json") {
		f, diags = cfg.Parser.ParseJSON(src, path)
	} else {
		f, diags = cfg.Parser.ParseHCL(src, path)
	}
	if diags.HasErrors() {
		return nil, diags
	}
	attrs, d := f.Body.JustAttributes()
	diags = append(diags, d...)
	if d.HasErrors() {
		return nil, diags
	}
	out := make(map[string]VarValue, len(attrs))
	for name, a := range attrs {
		out[name] = VarValue{Expr: a.Expr, Source: filepath.ToSlash(path), FromFile: true}
	}
	return out, diags
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
