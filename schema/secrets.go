package schema

import (
	"sort"

	"github.com/hashicorp/hcl/v2"
)

// secretAttributes are the merchant and backend arguments that hold
// credentials.
var secretAttributes = []string{"api_v2_key", "conn_str"}

// SecretVariables names every variable that flows, directly or through
// locals, into a credential argument (a merchant's api_v2_key, a backend's
// conn_str, a remote state's config.conn_str). Such variables are treated
// as sensitive wherever values are recorded (saved plans), even when not
// declared sensitive.
func (cfg *Config) SecretVariables() []string {
	var exprs []hcl.Expression
	collect := func(body hcl.Body) {
		if body == nil {
			return
		}
		attrs, _ := body.JustAttributes()
		for _, name := range secretAttributes {
			if a, ok := attrs[name]; ok {
				exprs = append(exprs, a.Expr)
			}
		}
	}
	for _, m := range cfg.Merchants {
		collect(m.Body)
	}
	if cfg.Backend != nil {
		collect(cfg.Backend.Body)
	}
	for _, d := range cfg.DataSources {
		exprs = append(exprs, d.secretExprs()...)
	}
	vars := map[string]bool{}
	seenLocal := map[string]bool{}
	for len(exprs) > 0 {
		e := exprs[len(exprs)-1]
		exprs = exprs[:len(exprs)-1]
		for _, tr := range e.Variables() {
			if len(tr) < 2 {
				continue
			}
			at, ok := tr[1].(hcl.TraverseAttr)
			if !ok {
				continue
			}
			switch tr.RootName() {
			case "var":
				vars[at.Name] = true
			case "local":
				if l, ok := cfg.Locals[at.Name]; ok && !seenLocal[at.Name] {
					seenLocal[at.Name] = true
					exprs = append(exprs, l.Expr)
				}
			}
		}
	}
	out := make([]string, 0, len(vars))
	for v := range vars {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}
