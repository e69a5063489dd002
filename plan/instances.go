package plan

import (
	"errors"
	"fmt"
	"slices"

	"github.com/wxmedia/wxmedia/state"
)

// The state commands' decisions on addresses, as values: which instances
// of a state an address names (list, show, rm); Moves (move.go) says where
// each goes for mv. They read a snapshot and change nothing; the caller
// applies the result to the state.

// ParseTargets parses the addresses state list and state rm take:
// resources, instances and modules, with module paths (ParseTarget). The
// first that does not parse is ParseTarget's error.
func ParseTargets(given []string) ([]Address, error) {
	sel := make([]Address, 0, len(given))
	for _, p := range given {
		a, err := ParseTarget(p)
		if err != nil {
			return nil, err
		}
		sel = append(sel, a)
	}
	return sel, nil
}

// Addresses returns the addresses of snap's resource instances that one
// of sel selects (Address.Selects; every one when sel is empty), sorted
// as the plan's views list them (CompareAddresses): the root module's
// first, then each module instance's.
func Addresses(snap *state.Snapshot, sel []Address) []string {
	out := make([]string, 0, len(snap.Resources))
	for addr := range snap.Resources {
		if len(sel) == 0 || selectsAny(sel, addr) {
			out = append(out, addr)
		}
	}
	slices.SortFunc(out, CompareAddresses)
	return out
}

func selectsAny(sel []Address, addr string) bool {
	for _, a := range sel {
		if a.Selects(addr) {
			return true
		}
	}
	return false
}

// InstanceNotFoundError is an instance address the state does not hold.
// It carries what a hint needs: the resource meant and the state's
// instances of it, and, when the shell removed the quotes of a key, the
// parse error saying so (which it then is, and wraps).
type InstanceNotFoundError struct {
	// Given is the address as given.
	Given string
	// Resource is the resource address meant.
	Resource string
	// Instances are the state's instances of Resource, sorted.
	Instances []string
	// Unquoted is set when a key's quotes were removed.
	Unquoted *UnquotedKeyError
	// ModuleKey is set when the address leaves out the key of a module
	// call with for_each or count.
	ModuleKey *ModuleKeyError
}

func (e *InstanceNotFoundError) Error() string {
	if e.Unquoted != nil {
		return e.Unquoted.Error()
	}
	if e.ModuleKey != nil {
		return fmt.Sprintf("no resource instance %s in the state: %s", Visible(e.Given), e.ModuleKey)
	}
	return fmt.Sprintf("no resource instance %s in the state", e.Given)
}

// Unwrap returns the unquoted-key error, if any.
func (e *InstanceNotFoundError) Unwrap() error {
	if e.Unquoted != nil {
		return e.Unquoted
	}
	return nil
}

// FindInstance returns the resource instance of snap at the address given
// as state show takes it: as written, or parsed back to its canonical form
// (the form state list shows, with escapes such as \u202e, stands for the
// key it escapes). A miss is an *InstanceNotFoundError; an address that
// does not parse, ParseAddress's error.
func FindInstance(snap *state.Snapshot, given string) (state.Resource, error) {
	if r, ok := snap.Resources[given]; ok {
		return r, nil
	}
	a, err := ParseAddress(given)
	if err == nil {
		if r, ok := snap.Resources[a.String()]; ok {
			return r, nil
		}
	}
	e := &InstanceNotFoundError{Given: given}
	var uq *UnquotedKeyError
	switch {
	case errors.As(err, &uq):
		a, e.Unquoted = uq.Address, uq
	case err != nil:
		return state.Resource{}, err
	}
	res := a
	res.Key, res.HasKey = "", false
	e.Resource, e.Instances = a.Resource(), Addresses(snap, []Address{res})
	if e.Unquoted == nil && len(e.Instances) == 0 {
		e.ModuleKey = missingModuleKey(a, sortedKeys(snap.Resources))
	}
	return state.Resource{}, e
}

// NoMatchError is an address that selects no instance of the state.
type NoMatchError struct {
	Address string
	// ModuleKey is set when the address leaves out the key of a module
	// call with for_each or count.
	ModuleKey *ModuleKeyError
}

func (e *NoMatchError) Error() string {
	if e.ModuleKey != nil {
		return fmt.Sprintf("no resource instance matches %s in the state: %s; nothing was removed", Visible(e.Address), e.ModuleKey)
	}
	return fmt.Sprintf("no resource instance matches %s in the state; nothing was removed", Visible(e.Address))
}

// Removals returns the instances of snap that state rm removes for the
// addresses given (parsed as sel, see ParseTargets): each address's
// instances sorted, in the order given, each instance once. An address
// that selects nothing is a *NoMatchError.
func Removals(snap *state.Snapshot, given []string, sel []Address) ([]string, error) {
	var out []string
	chosen := map[string]bool{}
	for i, a := range sel {
		found := Addresses(snap, []Address{a})
		if len(found) == 0 {
			return nil, &NoMatchError{Address: given[i], ModuleKey: missingModuleKey(a, sortedKeys(snap.Resources))}
		}
		for _, addr := range found {
			if !chosen[addr] {
				chosen[addr] = true
				out = append(out, addr)
			}
		}
	}
	return out, nil
}
