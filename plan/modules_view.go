package plan

import (
	"cmp"
	"iter"
	"slices"
	"strconv"
	"strings"
)

// ModuleOf returns the module instance path of the canonical instance
// address addr: "" for the root module, module.store["sh-001"] for
// module.store["sh-001"].wechatpay_image.logo. The resource part is the
// last two dot-separated parts outside quoted keys.
func ModuleOf(addr string) string {
	if !strings.HasPrefix(addr, "module.") {
		return ""
	}
	last, prev := -1, -1
	quoted := false
	for i := 0; i < len(addr); i++ {
		switch c := addr[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == '.':
			prev, last = last, i
		}
	}
	if prev < 0 {
		return ""
	}
	return addr[:prev]
}

// moduleStep is one step of a module path: the call's name and its key.
type moduleStep struct {
	call string
	// key is the quoted key or the index as written; "" without one.
	key   string
	index int64
}

func stepsOf(path string) []moduleStep {
	var out []moduleStep
	start := 0
	for _, p := range moduleSteps(path) {
		s := strings.TrimPrefix(strings.TrimPrefix(p[start:], "."), "module.")
		start = len(p)
		st := moduleStep{call: s}
		if i := strings.IndexByte(s, '['); i >= 0 {
			st.call, st.key = s[:i], s[i+1:len(s)-1]
			if n, err := strconv.ParseInt(st.key, 10, 64); err == nil {
				st.index = n
			}
		}
		out = append(out, st)
	}
	return out
}

// CompareModules orders module instance paths as the plan's views list
// them: the root module first, then step by step by the call's name and
// the instance's key (none, then indexes by number, then string keys), a
// module before the modules it calls.
func CompareModules(a, b string) int {
	if a == b {
		return 0
	}
	x, y := stepsOf(a), stepsOf(b)
	for i := 0; i < len(x) && i < len(y); i++ {
		if c := strings.Compare(x[i].call, y[i].call); c != 0 {
			return c
		}
		if c := cmp.Compare(keyRank(x[i].key), keyRank(y[i].key)); c != 0 {
			return c
		}
		if c := cmp.Compare(x[i].index, y[i].index); c != 0 {
			return c
		}
		if c := strings.Compare(x[i].key, y[i].key); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(x), len(y))
}

// CompareAddresses orders instance addresses by module instance
// (CompareModules), then as strings.
func CompareAddresses(a, b string) int {
	if c := CompareModules(ModuleOf(a), ModuleOf(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func keyRank(k string) int {
	switch {
	case k == "":
		return 0
	case k[0] != '"':
		return 1
	}
	return 2
}

// moduleGroup is the items of one module instance, in the order given.
type moduleGroup[T any] struct {
	Module string
	Items  []T
}

// byModule groups items by the module instance of their address: the
// root module first, then module instances in CompareModules order.
func byModule[T any](items iter.Seq[T], addr func(T) string) []moduleGroup[T] {
	index := map[string]int{}
	var groups []moduleGroup[T]
	for it := range items {
		m := ModuleOf(addr(it))
		i, ok := index[m]
		if !ok {
			i = len(groups)
			index[m] = i
			groups = append(groups, moduleGroup[T]{Module: m})
		}
		groups[i].Items = append(groups[i].Items, it)
	}
	slices.SortStableFunc(groups, func(a, b moduleGroup[T]) int { return CompareModules(a.Module, b.Module) })
	return groups
}

// changesByModule groups the changes of p that are not no-ops (isChange)
// by module instance, as the views list them.
func changesByModule(p *Plan) []moduleGroup[*ResourceChange] {
	changes := func(yield func(*ResourceChange) bool) {
		for _, c := range p.Detailed() {
			if isChange(c) && !yield(c) {
				return
			}
		}
	}
	return byModule(changes, func(c *ResourceChange) string { return c.Addr })
}
