package plan

import (
	"fmt"
	"slices"
	"strings"
)

// ModuleKeyError is a resource or instance address that leaves out the
// instance key of a module call with for_each or count
// (module.store.wechatpay_image.logo where the addresses are
// module.store["a"].wechatpay_image.logo...): it names the call and a few
// of the addresses meant. It wraps ErrUnknownAddress.
type ModuleKeyError struct {
	// Call is the module call whose key is missing, as given up to it:
	// module.store; for import, also a resource with for_each whose own
	// key is missing (see missingKey).
	Call string
	// Examples are a few addresses with the key, sorted; More counts the
	// others.
	Examples []string
	More     int
}

// maxModuleKeyExamples is how many addresses a ModuleKeyError names.
const maxModuleKeyExamples = 3

func (e *ModuleKeyError) Error() string {
	list := make([]string, len(e.Examples))
	for i, x := range e.Examples {
		list[i] = Visible(x)
	}
	more := ""
	if e.More > 0 {
		more = fmt.Sprintf(" and %d more", e.More)
	}
	return fmt.Sprintf("%s needs an instance key, as it has for_each or count: %s%s", Visible(e.Call), strings.Join(list, ", "), more)
}

// Unwrap returns ErrUnknownAddress.
func (e *ModuleKeyError) Unwrap() error { return ErrUnknownAddress }

// missingModuleKey returns the *ModuleKeyError for a when a names no
// instance of addrs (canonical instance addresses) only because a module
// step of a has no key where addrs have one; nil otherwise.
func missingModuleKey(a Address, addrs []string) *ModuleKeyError {
	if a.IsModule() || a.Module == "" {
		return nil
	}
	want := moduleSegments(a.Module)
	var e *ModuleKeyError
	seen := map[string]bool{}
	var found []string
	for _, addr := range addrs {
		b, err := ParseAddress(addr)
		if err != nil || b.Type != a.Type || b.Name != a.Name || (a.HasKey && (!b.HasKey || b.Key != a.Key)) {
			continue
		}
		have := moduleSegments(b.Module)
		if len(have) != len(want) {
			continue
		}
		missing := -1
		for i := range want {
			switch {
			case want[i] == have[i]:
			case callOf(want[i]) == want[i] && callOf(have[i]) == want[i]:
				// want has no key here, have has one.
				if missing < 0 {
					missing = i
				}
			default:
				missing = -2
			}
			if missing == -2 {
				break
			}
		}
		if missing < 0 {
			continue
		}
		if e == nil {
			e = &ModuleKeyError{Call: strings.Join(want[:missing+1], ".")}
		}
		x := b.Resource()
		if a.HasKey {
			x = b.String()
		}
		if !seen[x] {
			seen[x] = true
			found = append(found, x)
		}
	}
	if e == nil {
		return nil
	}
	slices.SortFunc(found, CompareAddresses)
	if len(found) > maxModuleKeyExamples {
		e.More = len(found) - maxModuleKeyExamples
		found = found[:maxModuleKeyExamples]
	}
	e.Examples = found
	return e
}

// moduleSegments splits the canonical module path p into its steps, each
// module.NAME with its key if it has one: module.a["x"], module.b[0].
func moduleSegments(p string) []string {
	steps := moduleSteps(p)
	out := make([]string, len(steps))
	prev := ""
	for i, s := range steps {
		if i == 0 {
			out[i] = s
		} else {
			out[i] = s[len(prev)+1:]
		}
		prev = s
	}
	return out
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
