package plan

import (
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/wxmedia/wxmedia/internal/arguments"
	"github.com/zclconf/go-cty/cty"

	"github.com/wxmedia/wxmedia/schema"
)

// ErrInvalidAddress is returned for an address that does not parse: one
// that is not [module path]type.name or [module path]type.name["key"], or,
// where a module is accepted, a module path alone.
var ErrInvalidAddress = errors.New("invalid resource address")

// ErrUnknownAddress is returned for a -target or -replace address that names
// no resource or instance of the configuration or the state.
var ErrUnknownAddress = errors.New("no such resource")

// Address is a resource address (type.name), an instance address
// (type.name["key"]), either within a module instance
// (module.store["sh-001"].wechatpay_image.logo), or, from ParseTarget, a
// module address alone (Type empty): module.store names every instance of
// the module call store, module.store["sh-001"] one instance, and either
// everything in the modules they call.
type Address struct {
	// Module is the canonical module path: "" for the root module, else
	// module.NAME steps, each with its key ["k"] or index [0] if it has one.
	Module     string
	Type, Name string
	Key        string
	HasKey     bool
}

// IsModule reports whether a names a module (instance) rather than a
// resource.
func (a Address) IsModule() bool { return a.Type == "" }

// Resource is the address of the whole resource: [module path.]type.name.
func (a Address) Resource() string {
	if a.Module == "" {
		return a.Type + "." + a.Name
	}
	if a.IsModule() {
		return a.Module
	}
	return a.Module + "." + a.Type + "." + a.Name
}

// String is the canonical form, as plans and the state write it.
func (a Address) String() string {
	if !a.HasKey || a.IsModule() {
		return a.Resource()
	}
	return schema.InstanceAddress(a.Resource(), a.Key)
}

// InModule returns a moved into the module instance path module ("" for
// the root module).
func (a Address) InModule(module string) Address {
	a.Module = module
	return a
}

// Selects reports whether the address a, as -target, state list and
// state rm take it, selects the instance at addr (in canonical form): a
// module address selects every instance in that module instance and the
// modules it calls (in every instance of the module call when its last
// step has no key), a resource address every instance of the resource, an
// instance address that instance. Canonical forms quote keys, so one
// address is a prefix of another only where a step ends.
func (a Address) Selects(addr string) bool {
	p := a.String()
	if len(addr) <= len(p) || !strings.HasPrefix(addr, p) {
		return addr == p
	}
	switch next := addr[len(p)]; {
	case a.IsModule():
		return next == '.' || next == '[' && !strings.HasSuffix(p, "]")
	case a.HasKey:
		return false
	default:
		return next == '['
	}
}

// UnquotedKeyError is an instance address whose key lost its quotes, as a
// shell removes them from wechatpay_image.banner["a.png"] or
// module.store["sh-001"].wechatpay_image.logo unless the whole argument is
// quoted. It wraps ErrInvalidAddress.
type UnquotedKeyError struct {
	// Input is the address as given; Address is what was meant, Key the
	// first key that lost its quotes.
	Input   string
	Address Address
	Key     string
	// Escaped is set when the quotes are there but escaped with
	// backslashes (module.store[\"x\"], as PowerShell users write them or
	// text copied from JSON).
	Escaped bool
}

func (e *UnquotedKeyError) Error() string {
	if e.Escaped {
		return fmt.Sprintf("%s %q: the quotes of the key are escaped with backslashes; the address is %s", ErrInvalidAddress, e.Input, e.Address)
	}
	return fmt.Sprintf("%s %q: the key %s is not quoted; the address is %s", ErrInvalidAddress, e.Input, e.Key, e.Address)
}

// Cause says what happened to the quotes, for a hint.
func (e *UnquotedKeyError) Cause() string {
	if e.Escaped {
		return "the quotes around the key reached wxmedia with backslashes before them: write them without backslashes inside single quotes"
	}
	return "the shell removed the quotes around the key: quote the whole address"
}

// Unwrap returns ErrInvalidAddress.
func (e *UnquotedKeyError) Unwrap() error { return ErrInvalidAddress }

// ParseAddress parses a resource or instance address such as
// wechatpay_image.banner, wechatpay_image.banner["a.png"] or
// module.store["sh-001"].wechatpay_image.logo. A key without its quotes is
// an *UnquotedKeyError.
func ParseAddress(s string) (Address, error) {
	return parseAddress(s, false)
}

// ParseTarget parses what -target and state list take: an address as
// ParseAddress parses it, or a module address alone such as module.store
// or module.store["sh-001"].
func ParseTarget(s string) (Address, error) {
	return parseAddress(s, true)
}

const addressForms = `expected type.name or type.name["key"], after module.NAME. or module.NAME["key"]. steps if the resource is in a module`

func parseAddress(s string, moduleOK bool) (Address, error) {
	a, why, syntax := parseTraversal(strings.TrimSpace(s), moduleOK)
	if why == "" {
		return a, nil
	}
	// Only text that does not parse can be a key that lost its quotes:
	// [0] is an index, a number, and refused as a resource's key below.
	if quoted, key, ok := quoteBareKeys(strings.TrimSpace(s)); ok && syntax {
		if a, w, _ := parseTraversal(quoted, moduleOK); w == "" {
			return Address{}, &UnquotedKeyError{Input: s, Address: a, Key: key}
		}
	}
	if plain := strings.ReplaceAll(strings.TrimSpace(s), `\"`, `"`); syntax && plain != strings.TrimSpace(s) {
		if a, w, _ := parseTraversal(plain, moduleOK); w == "" {
			return Address{}, &UnquotedKeyError{Input: s, Address: a, Key: a.Key, Escaped: true}
		}
	}
	forms := addressForms
	if moduleOK {
		forms += `, or a module alone: module.NAME or module.NAME["key"]`
	}
	return Address{}, fmt.Errorf("%w %q: %s; %s", ErrInvalidAddress, s, why, forms)
}

// parseTraversal parses s as an absolute HCL traversal and reads the
// address in it; why is "" on success and says what is wrong otherwise,
// syntax whether s is no traversal at all.
func parseTraversal(s string, moduleOK bool) (a Address, why string, syntax bool) {
	trav, diags := hclsyntax.ParseTraversalAbs([]byte(s), "", hcl.InitialPos)
	if diags.HasErrors() {
		return a, diags[0].Summary, true
	}
	// name returns the name at step i: the root's or an attribute's.
	name := func(i int) (string, bool) {
		switch t := trav[i].(type) {
		case hcl.TraverseRoot:
			return t.Name, true
		case hcl.TraverseAttr:
			return t.Name, true
		}
		return "", false
	}
	var path strings.Builder
	i := 0
	for i < len(trav) {
		if n, _ := name(i); n != "module" {
			break
		}
		if i+1 >= len(trav) {
			return a, "module must be followed by a dot and the module's name", false
		}
		call, ok := trav[i+1].(hcl.TraverseAttr)
		if !ok {
			return a, "module must be followed by a dot and the module's name", false
		}
		if path.Len() > 0 {
			path.WriteByte('.')
		}
		path.WriteString("module." + call.Name)
		i += 2
		if i < len(trav) {
			if idx, ok := trav[i].(hcl.TraverseIndex); ok {
				k, why := moduleKey(idx.Key)
				if why != "" {
					return a, fmt.Sprintf("module.%s: %s", call.Name, why), false
				}
				path.WriteString(k)
				i++
			}
		}
	}
	a.Module = path.String()
	rest := trav[i:]
	if len(rest) == 0 {
		if moduleOK && a.Module != "" {
			return a, "", false
		}
		return a, "no resource type and name", false
	}
	if len(rest) < 2 || len(rest) > 3 {
		return a, "wrong number of parts", false
	}
	a.Type, _ = name(i)
	attr, ok := rest[1].(hcl.TraverseAttr)
	if !ok {
		return a, "the resource name must follow the type after a dot", false
	}
	a.Name = attr.Name
	if len(rest) == 3 {
		idx, ok := rest[2].(hcl.TraverseIndex)
		if !ok || idx.Key.Type() != cty.String {
			return a, "an instance key must be a quoted string in brackets", false
		}
		a.Key, a.HasKey = idx.Key.AsString(), true
	}
	if !strings.HasPrefix(a.Type, "wechatpay_") {
		return a, fmt.Sprintf("%q is not a resource type", a.Type), false
	}
	return a, "", false
}

// moduleKey is the canonical form of a module instance key: ["key"] for
// a for_each key, [N] for a count index.
func moduleKey(k cty.Value) (string, string) {
	switch {
	case k.IsNull() || !k.IsKnown():
		return "", "an instance key must be a quoted string or a whole number in brackets"
	case k.Type() == cty.String:
		return "[" + schema.QuoteKey(k.AsString()) + "]", ""
	case k.Type() == cty.Number:
		bf := k.AsBigFloat()
		if n, acc := bf.Int64(); acc == big.Exact && n >= 0 {
			return "[" + strconv.FormatInt(n, 10) + "]", ""
		}
		return "", "an instance index must be a whole number of zero or more"
	}
	return "", "an instance key must be a quoted string or a whole number in brackets"
}

// quoteBareKeys puts quotes around each key in brackets that has none, as
// a shell leaves module.store[sh-001].wechatpay_image.logo[a.png]; keys
// that are whole numbers are indexes and stay as they are. It returns the
// first key quoted, and ok when there was one. The hand-written scan is
// the inverse of what the shell did; no library undoes it.
func quoteBareKeys(s string) (out, first string, ok bool) {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '[')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i+1])
		s = s[i+1:]
		if strings.HasPrefix(s, `"`) {
			// A quoted key: copy it up to its closing quote.
			j := 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return "", "", false
			}
			b.WriteString(s[:j+1])
			s = s[j+1:]
			continue
		}
		j := strings.IndexByte(s, ']')
		if j <= 0 {
			return "", "", false
		}
		key := s[:j]
		if strings.ContainsAny(key, `"[`) {
			return "", "", false
		}
		if strings.Trim(key, "0123456789") == "" {
			b.WriteString(key)
		} else {
			if !ok {
				first, ok = key, true
			}
			b.WriteString(schema.QuoteKey(key))
		}
		s = s[j:]
	}
	return b.String(), first, ok
}

// addressSet is a set of parsed -target or -replace addresses.
type addressSet struct {
	instances map[string]bool // canonical instance addresses
	wider     []Address       // resource and module addresses
}

func (s *addressSet) empty() bool { return s == nil || len(s.instances)+len(s.wider) == 0 }

// has reports whether the set selects the instance at addr.
func (s *addressSet) has(addr string) bool {
	if s == nil {
		return false
	}
	if s.instances[addr] {
		return true
	}
	for _, a := range s.wider {
		if a.Selects(addr) {
			return true
		}
	}
	return false
}

// parseAddresses parses addrs and checks that each selects something in
// known (instance addresses) or declared (resource addresses declared in
// the configuration), naming the flag in errors. Module addresses are
// taken when modules is set (-target), refused otherwise (-replace).
func parseAddresses(flag, where string, addrs []string, known, declared map[string]bool, modules bool) (*addressSet, error) {
	if len(addrs) == 0 {
		return nil, nil
	}
	set := &addressSet{instances: map[string]bool{}}
	var errs []error
	for _, s := range addrs {
		a, err := ParseTarget(s)
		var uq *UnquotedKeyError
		if errors.As(err, &uq) {
			why := "The shell removed the quotes: quote the whole argument"
			if uq.Escaped {
				why = "The quotes reached wxmedia with backslashes before them: write them without backslashes inside single quotes"
			}
			errs = append(errs, fmt.Errorf("-%s: %w. %s, -%s=%s%s",
				flag, err, why, flag, arguments.ShellQuote(uq.Address.String()), suggestAddress(uq.Address, known)))
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("-%s: %w", flag, err))
			continue
		}
		if a.IsModule() && !modules {
			errs = append(errs, fmt.Errorf("-%s=%s: %w: -%s takes resource and instance addresses, not a module; give the addresses of the module's resources", flag, s, ErrInvalidAddress, flag))
			continue
		}
		if a.HasKey && !a.IsModule() {
			if !known[a.String()] {
				if mk := missingModuleKey(a, sortedKeys(known)); mk != nil {
					errs = append(errs, fmt.Errorf("-%s=%s: %w", flag, s, mk))
					continue
				}
				errs = append(errs, fmt.Errorf("-%s=%s: %w in %s%s", flag, s, ErrUnknownAddress, where, suggestAddress(a, known)))
				continue
			}
			set.instances[a.String()] = true
			continue
		}
		found := !a.IsModule() && declared[a.String()]
		for inst := range known {
			if found {
				break
			}
			found = a.Selects(inst)
		}
		if !found {
			if mk := missingModuleKey(a, sortedKeys(known)); mk != nil {
				errs = append(errs, fmt.Errorf("-%s=%s: %w", flag, s, mk))
				continue
			}
			what := ErrUnknownAddress
			if a.IsModule() {
				what = ErrUnknownModule
			}
			errs = append(errs, fmt.Errorf("-%s=%s: %w in %s%s", flag, s, what, where, suggestAddress(a, known)))
			continue
		}
		set.wider = append(set.wider, a)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return set, nil
}

// ErrUnknownModule is returned for a -target module address that selects
// no instance of the configuration or the state.
var ErrUnknownModule = errors.New("no such module instance")

// suggestAddress names the instances of the same resource, the resources
// of the same type, or the module instances of the same call, when there
// are few.
func suggestAddress(a Address, known map[string]bool) string {
	seen := map[string]bool{}
	var same []string
	for inst := range known {
		b, err := ParseAddress(inst)
		if err != nil {
			continue
		}
		var s string
		switch {
		case a.IsModule():
			s = sameCall(a.Module, b.Module)
		case a.HasKey && b.Resource() == a.Resource():
			s = inst
		case !a.HasKey && b.Module == a.Module && b.Type == a.Type:
			s = b.Resource()
		}
		if s != "" && !seen[s] {
			seen[s] = true
			same = append(same, s)
		}
	}
	if len(same) == 0 && a.IsModule() {
		// No instance of that call (a misspelt name): the root module's
		// calls.
		for inst := range known {
			if b, err := ParseAddress(inst); err == nil && b.Module != "" {
				if c := callOf(moduleSteps(b.Module)[0]); !seen[c] {
					seen[c] = true
					same = append(same, c)
				}
			}
		}
	}
	if len(same) == 0 || len(same) > 5 {
		return ""
	}
	sort.Strings(same)
	return " (known: " + strings.Join(same, ", ") + ")"
}

// sameCall returns the module instance in module path have of the call
// that want's last step names (module.NAME, keys aside); "" when have
// holds none.
func sameCall(want, have string) string {
	steps := moduleSteps(want)
	if len(steps) == 0 {
		return ""
	}
	call := callOf(steps[len(steps)-1])
	for _, p := range moduleSteps(have) {
		if callOf(p) == call {
			return p
		}
	}
	return ""
}

// callOf is the call of the last step of the module path p: module.NAME.
func callOf(p string) string {
	if i := strings.LastIndex(p, "module."); i >= 0 {
		p = p[i:]
	}
	if i := strings.IndexByte(p, '['); i >= 0 {
		p = p[:i]
	}
	return p
}

// moduleSteps returns the module paths that lead to the canonical module
// path p, p itself last: module.a["x"], module.a["x"].module.b[0]. Dots in
// quoted keys are not steps.
func moduleSteps(p string) []string {
	var out []string
	quoted := false
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == '.' && strings.HasPrefix(p[i+1:], "module."):
			out = append(out, p[:i])
		}
	}
	if p != "" {
		out = append(out, p)
	}
	return out
}
