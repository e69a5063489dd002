package schema

import (
	"reflect"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// evalCache holds, for a whole evaluation, what is the same for every
// instance of a module: each instance evaluates the same blocks of the
// same files, with values of its own. It is the root evaluation's, used
// by one goroutine at a time (the evaluation's).
type evalCache struct {
	// paths is the value of path in each module (pathObject).
	paths map[*Config]cty.Value
	// vars is what each native-syntax expression refers to.
	vars map[hclsyntax.Expression][]hcl.Traversal
	// merchants is what a merchant block's body holds (merchantBody).
	merchants map[*MerchantBlock]*merchantBody
	// byAddr is each module's resources by address (resourcesByAddr).
	byAddr map[*Config]map[string]*Resource
	// templates are the compiled templates of sources and filenames
	// (compiledTemplate).
	templates map[hclsyntax.Expression]*template
}

// merchantBody is a merchant block's arguments, as JustAttributes and
// Content with the merchant schema give them, with their diagnostics.
type merchantBody struct {
	attrs        hcl.Attributes
	attrsDiags   hcl.Diagnostics
	content      *hcl.BodyContent
	contentDiags hcl.Diagnostics
}

func (ev *Evaluation) evalCache() *evalCache {
	root := ev.root
	if root == nil {
		root = ev
	}
	if root.cache == nil {
		root.cache = &evalCache{}
	}
	return root.cache
}

// variablesOf is expr.Variables(), walked once per expression for every
// module instance.
func (ev *Evaluation) variablesOf(expr hcl.Expression) []hcl.Traversal {
	e, ok := expr.(hclsyntax.Expression) // pointers: usable as keys
	if !ok {
		return expr.Variables()
	}
	c := ev.evalCache()
	if t, ok := c.vars[e]; ok {
		return t
	}
	t := expr.Variables()
	if c.vars == nil {
		c.vars = map[hclsyntax.Expression][]hcl.Traversal{}
	}
	c.vars[e] = t
	return t
}

// merchantBody is mb's arguments, read once for every instance.
func (ev *Evaluation) merchantBody(mb *MerchantBlock) *merchantBody {
	c := ev.evalCache()
	if b, ok := c.merchants[mb]; ok {
		return b
	}
	b := &merchantBody{}
	b.attrs, b.attrsDiags = mb.Body.JustAttributes()
	b.content, b.contentDiags = mb.Body.Content(merchantSchema())
	if c.merchants == nil {
		c.merchants = map[*MerchantBlock]*merchantBody{}
	}
	c.merchants[mb] = b
	return b
}

// compiledTemplate is compileTemplate(expr), compiled once for every
// module instance.
func (ev *Evaluation) compiledTemplate(expr hcl.Expression) *template {
	e, ok := expr.(hclsyntax.Expression)
	if !ok {
		return compileTemplate(expr)
	}
	c := ev.evalCache()
	if t, ok := c.templates[e]; ok {
		return t
	}
	t := compileTemplate(expr)
	if c.templates == nil {
		c.templates = map[hclsyntax.Expression]*template{}
	}
	c.templates[e] = t
	return t
}

// resourcesByAddr is ev's module's resources by address, made once for
// every instance (callers never change the map).
func (ev *Evaluation) resourcesByAddr() map[string]*Resource {
	c := ev.evalCache()
	if m, ok := c.byAddr[ev.Config]; ok {
		return m
	}
	m := make(map[string]*Resource, len(ev.Config.Resources))
	for _, r := range ev.Config.Resources {
		m[r.Addr()] = r
	}
	if c.byAddr == nil {
		c.byAddr = map[*Config]map[string]*Resource{}
	}
	c.byAddr[ev.Config] = m
	return m
}

// merchantTags is the hcl argument name of each field of Merchant, by
// field index ("" for a field that is no argument): read from the tags
// once, for every merchant instance.
var merchantTags = sync.OnceValue(func() []string {
	rt := reflect.TypeFor[Merchant]()
	tags := make([]string, rt.NumField())
	for i := range tags {
		tags[i], _, _ = strings.Cut(rt.Field(i).Tag.Get("hcl"), ",")
	}
	return tags
})
