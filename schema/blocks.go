package schema

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/zclconf/go-cty/cty"

	"github.com/wxmedia/wxmedia/uploader/apis"
)

// resourceSchema is a resource block's body. count is Terraform's and is
// refused with a pointer to for_each.
var resourceSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "merchant"}, {Name: "for_each"}, {Name: "source", Required: true}, {Name: "filename"},
		{Name: "count"}, {Name: "depends_on"}, {Name: "provider"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "lifecycle"}},
}

// terraformMetaArguments are Terraform's resource meta-arguments, with
// what wxmedia does instead.
var terraformMetaArguments = map[string]string{
	"count":      `wxmedia has no count: a resource makes one instance per file with for_each, e.g. for_each = fileset("assets", "*.png") and source = "assets/${each.value}".`,
	"depends_on": "wxmedia has no depends_on: uploads do not depend on each other, and outputs follow the resources they refer to.",
	"provider":   "wxmedia has no providers: a resource names its merchant block with merchant = merchant.NAME.",
	"lifecycle":  "wxmedia has no lifecycle block: apply -replace=ADDR uploads an instance again, and a removed resource is forgotten (WeChat Pay media are never deleted).",
}

// outputSchema is an output block's body.
var outputSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "value", Required: true}, {Name: "description"}, {Name: "sensitive"}},
}

type variableBody struct {
	Type        hcl.Expression `hcl:"type,optional"`
	Default     hcl.Expression `hcl:"default,optional"`
	Description string         `hcl:"description,optional"`
	Sensitive   bool           `hcl:"sensitive,optional"`
}

// terraformBlock is the error for a Terraform block wxmedia has no use
// for, saying what it does instead.
func terraformBlock(b *hcl.Block) *hcl.Diagnostic {
	detail := `wxmedia has no providers: the WeChat Pay APIs are built in, and the credentials go in a merchant block, e.g. merchant "acme" { mchid = "1900000001" ... }.`
	summary := fmt.Sprintf("Unsupported block type %q", b.Type)
	switch b.Type {
	case "terraform":
		detail = `wxmedia has no terraform block: where the state lives is set with wxmedia { backend "local" { path = "..." } } (or backend "postgres"), and there are no providers or versions to pin.`
	case "moved":
		summary = "Unsupported moved block"
		detail = `wxmedia has no moved blocks: rename the resource (or module, or source file) and plan; the instance under the new address is a reuse (=), bound to the identifier of the same bytes uploaded before, so nothing is uploaded, and the old address is forgotten. To move a state record to a new address, run wxmedia state mv FROM TO (e.g. wxmedia state mv wechatpay_image.old wechatpay_image.new).`
	case "import":
		summary = "Unsupported import block"
		detail = `wxmedia has no import blocks: declare the resource, then run wxmedia import ADDR ID once to bind an identifier uploaded before wxmedia to it (e.g. wxmedia import wechatpay_image.logo MEDIA_ID).`
	case "removed":
		summary = "Unsupported removed block"
		detail = `wxmedia has no removed blocks: delete the resource block and the next apply forgets its instances (WeChat Pay media are never deleted), or run wxmedia state rm ADDR to forget them now.`
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   detail,
		Subject:  b.DefRange.Ptr(),
	}
}

// decodeOutput decodes an output block; a block with errors is kept, so
// that references to it are not reported as undeclared.
func decodeOutput(b *hcl.Block) (*Output, hcl.Diagnostics) {
	content, diags := b.Body.Content(outputSchema)
	o := &Output{Name: b.Labels[0], DeclRange: b.DefRange}
	if a, ok := content.Attributes["value"]; ok {
		o.Expr = a.Expr
	} else {
		o.Expr = hcl.StaticExpr(cty.NullVal(cty.DynamicPseudoType), b.Body.MissingItemRange())
	}
	if a, ok := content.Attributes["description"]; ok {
		diags = append(diags, gohcl.DecodeExpression(a.Expr, nil, &o.Description)...)
	}
	if a, ok := content.Attributes["sensitive"]; ok {
		diags = append(diags, gohcl.DecodeExpression(a.Expr, nil, &o.Sensitive)...)
	}
	return o, diags
}

func (cfg *Config) decodeVariable(b *hcl.Block) hcl.Diagnostics {
	n := b.Labels[0]
	if prev, ok := cfg.Variables[n]; ok {
		return hcl.Diagnostics{duplicate("variable", n, b.DefRange, prev.DeclRange)}
	}
	if !hclValidName(n) {
		return hcl.Diagnostics{invalidName("variable", n, b.LabelRanges[0])}
	}
	content, diags := b.Body.Content(&hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "sensitive"}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "validation"}},
	})
	v := &Variable{Name: n, Type: cty.DynamicPseudoType, DeclRange: b.DefRange}
	if a, ok := content.Attributes["type"]; ok {
		ty, d := typeConstraint(a.Expr)
		diags = append(diags, d...)
		v.Type = ty
	}
	if a, ok := content.Attributes["description"]; ok {
		diags = append(diags, gohcl.DecodeExpression(a.Expr, nil, &v.Description)...)
	}
	if a, ok := content.Attributes["sensitive"]; ok {
		diags = append(diags, gohcl.DecodeExpression(a.Expr, nil, &v.Sensitive)...)
	}
	if a, ok := content.Attributes["default"]; ok {
		val, d := a.Expr.Value(nil)
		diags = append(diags, d...)
		if !d.HasErrors() {
			conv, err := convertTo(val, v.Type)
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid default value for variable",
					Detail:   fmt.Sprintf("This default value is not compatible with the variable's type constraint: %s.", err),
					Subject:  a.Expr.Range().Ptr(),
				})
			} else {
				v.Default = conv
			}
		}
	}
	for _, vb := range content.Blocks {
		val, d := decodeValidation(n, vb)
		diags = append(diags, d...)
		if val != nil {
			v.Validations = append(v.Validations, val)
		}
	}
	cfg.Variables[n] = v
	return diags
}

func decodeResource(b *hcl.Block) (*Resource, hcl.Diagnostics) {
	typ, name := b.Labels[0], b.Labels[1]
	spec, ok := apis.SpecFor(typ)
	if !ok {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unsupported resource type",
			Detail:   fmt.Sprintf("The resource type %q is not known; supported types are %s.", typ, strings.Join(apis.ResourceTypes(), ", ")),
			Subject:  b.LabelRanges[0].Ptr(),
		}}
	}
	if !hclValidName(name) {
		return nil, hcl.Diagnostics{invalidName("resource", name, b.LabelRanges[1])}
	}
	// A resource with errors is kept (without the argument in error), so
	// that references to it are not reported as undeclared; a missing
	// source leaves it without instances.
	content, diags := b.Body.Content(resourceSchema)
	r := &Resource{Type: typ, Name: name, Spec: spec, DeclRange: b.DefRange}
	attr := func(n string) hcl.Expression {
		if a, ok := content.Attributes[n]; ok {
			return a.Expr
		}
		return nil
	}
	r.Source, r.ForEach, r.Filename = attr("source"), attr("for_each"), attr("filename")
	for _, name := range []string{"count", "depends_on", "provider"} {
		if a, ok := content.Attributes[name]; ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unsupported argument",
				Detail:   terraformMetaArguments[name],
				Subject:  a.NameRange.Ptr(),
			})
		}
	}
	for _, blk := range content.Blocks {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unsupported block type",
			Detail:   terraformMetaArguments[blk.Type],
			Subject:  blk.DefRange.Ptr(),
		})
	}
	if m := attr("merchant"); m != nil {
		r.MerchantRange = m.Range()
		name, key, d := merchantRef(m)
		diags = append(diags, d...)
		if d.HasErrors() {
			return nil, diags
		}
		r.Merchant, r.MerchantKey = name, key
		r.merchantEachKey = isEachKey(key)
	}
	return r, diags
}
