package plan

import (
	"cmp"
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

// changeGroup is the changes of one module instance, in plan order.
type changeGroup struct {
	Module  string
	Changes []*ResourceChange
}

// byModule groups the changes that keep selects by module instance: the
// root module first, then module instances in CompareModules order.
func byModule(changes []*ResourceChange, keep func(*ResourceChange) bool) []changeGroup {
	index := map[string]int{}
	var groups []changeGroup
	for _, c := range changes {
		if !keep(c) {
			continue
		}
		m := ModuleOf(c.Addr)
		i, ok := index[m]
		if !ok {
			i = len(groups)
			index[m] = i
			groups = append(groups, changeGroup{Module: m})
		}
		groups[i].Changes = append(groups[i].Changes, c)
	}
	slices.SortStableFunc(groups, func(a, b changeGroup) int { return CompareModules(a.Module, b.Module) })
	return groups
}
