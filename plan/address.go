package plan

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/wxmedia/wxmedia/schema"
)

// ErrInvalidAddress is returned for a -target or -replace address that is
// not of the form type.name or type.name["key"].
var ErrInvalidAddress = errors.New("invalid resource address")

// ErrUnknownAddress is returned for a -target or -replace address that names
// no resource or instance of the configuration or the state.
var ErrUnknownAddress = errors.New("no such resource")

// Address is a resource address (type.name) or an instance address
// (type.name["key"]).
type Address struct {
	Type, Name string
	Key        string
	HasKey     bool
}

// Resource is the address of the whole resource: type.name.
func (a Address) Resource() string { return a.Type + "." + a.Name }

// String is the canonical form, as plans and the state write it.
func (a Address) String() string {
	if !a.HasKey {
		return a.Resource()
	}
	return schema.InstanceAddress(a.Resource(), a.Key)
}

// UnquotedKeyError is an instance address whose key lost its quotes, as a
// shell removes them from wechatpay_image.banner["a.png"] unless the whole
// argument is quoted. It wraps ErrInvalidAddress.
type UnquotedKeyError struct {
	// Input is the address as given; Address is what was meant.
	Input   string
	Address Address
}

func (e *UnquotedKeyError) Error() string {
	return fmt.Sprintf("%s %q: the key %s is not quoted; the address is %s", ErrInvalidAddress, e.Input, e.Address.Key, e.Address)
}

// Unwrap returns ErrInvalidAddress.
func (e *UnquotedKeyError) Unwrap() error { return ErrInvalidAddress }

// ParseAddress parses a resource or instance address such as
// wechatpay_image.banner or wechatpay_image.banner["a.png"]. An instance
// key without its quotes is an *UnquotedKeyError.
func ParseAddress(s string) (Address, error) {
	fail := func(why string) (Address, error) {
		return Address{}, fmt.Errorf("%w %q: %s; expected type.name or type.name[\"key\"]", ErrInvalidAddress, s, why)
	}
	trav, diags := hclsyntax.ParseTraversalAbs([]byte(strings.TrimSpace(s)), "", hcl.InitialPos)
	if diags.HasErrors() {
		if res, key, ok := unquotedKey(strings.TrimSpace(s)); ok {
			if a, err := ParseAddress(res); err == nil && !a.HasKey {
				a.Key, a.HasKey = key, true
				return Address{}, &UnquotedKeyError{Input: s, Address: a}
			}
		}
		return fail(diags[0].Summary)
	}
	if len(trav) < 2 || len(trav) > 3 {
		return fail("wrong number of parts")
	}
	var a Address
	a.Type = trav.RootName()
	attr, ok := trav[1].(hcl.TraverseAttr)
	if !ok {
		return fail("the resource name must follow the type after a dot")
	}
	a.Name = attr.Name
	if len(trav) == 3 {
		idx, ok := trav[2].(hcl.TraverseIndex)
		if !ok || idx.Key.Type() != cty.String {
			return fail("an instance key must be a quoted string in brackets")
		}
		a.Key, a.HasKey = idx.Key.AsString(), true
	}
	if !strings.HasPrefix(a.Type, "wechatpay_") {
		return fail(fmt.Sprintf("%q is not a resource type", a.Type))
	}
	return a, nil
}

// unquotedKey splits type.name[key] whose key has no quotes.
func unquotedKey(s string) (res, key string, ok bool) {
	i := strings.IndexByte(s, '[')
	if i < 0 || !strings.HasSuffix(s, "]") {
		return "", "", false
	}
	key = s[i+1 : len(s)-1]
	if key == "" || strings.ContainsAny(key, `"[]`) {
		return "", "", false
	}
	return s[:i], key, true
}

// addressSet is a set of parsed -target or -replace addresses.
type addressSet struct {
	resources map[string]bool // type.name
	instances map[string]bool // type.name["key"] or type.name
}

func (s *addressSet) empty() bool { return s == nil || len(s.resources)+len(s.instances) == 0 }

// has reports whether the instance addr of resource res is in the set.
func (s *addressSet) has(addr, res string) bool {
	return s != nil && (s.instances[addr] || s.resources[res])
}

// parseAddresses parses addrs and checks that each names something in
// known (instance address → resource address) or resources (declared
// resource addresses), naming the flag in errors.
func parseAddresses(flag, where string, addrs []string, known map[string]string, declared map[string]bool) (*addressSet, error) {
	if len(addrs) == 0 {
		return nil, nil
	}
	resources := map[string]bool{}
	for res := range declared {
		resources[res] = true
	}
	for _, res := range known {
		resources[res] = true
	}
	set := &addressSet{resources: map[string]bool{}, instances: map[string]bool{}}
	var errs []error
	for _, s := range addrs {
		a, err := ParseAddress(s)
		var uq *UnquotedKeyError
		if errors.As(err, &uq) {
			errs = append(errs, fmt.Errorf("-%s: %w. The shell removed the quotes: quote the whole argument, -%s='%s'%s",
				flag, err, flag, uq.Address, suggestAddress(uq.Address, known)))
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("-%s: %w", flag, err))
			continue
		}
		switch {
		case a.HasKey && known[a.String()] != "":
			set.instances[a.String()] = true
		case !a.HasKey && known[a.String()] != "" && known[a.String()] == a.String():
			// A resource without for_each: its only instance.
			set.instances[a.String()] = true
			set.resources[a.String()] = true
		case !a.HasKey && resources[a.String()]:
			set.resources[a.String()] = true
		default:
			errs = append(errs, fmt.Errorf("-%s=%s: %w in %s%s", flag, s, ErrUnknownAddress, where, suggestAddress(a, known)))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return set, nil
}

// suggestAddress names the instances of the same resource, or the
// resources of the same type, when there are few.
func suggestAddress(a Address, known map[string]string) string {
	var same []string
	seen := map[string]bool{}
	for inst, res := range known {
		switch {
		case a.HasKey:
			if res == a.Resource() {
				same = append(same, inst)
			}
		case strings.HasPrefix(res, a.Type+".") && !seen[res]:
			seen[res] = true
			same = append(same, res)
		}
	}
	if len(same) == 0 || len(same) > 5 {
		return ""
	}
	sort.Strings(same)
	return " (known: " + strings.Join(same, ", ") + ")"
}
