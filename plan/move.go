package plan

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/wxmedia/wxmedia/state"
)

// ErrMoveSource is returned by Moves when the source address selects
// nothing in the state.
var ErrMoveSource = errors.New("nothing in the state to move")

// ErrMoveDestination is returned by Moves when the destination is already
// in the state, or when the source and destination cannot name the same
// kind of thing.
var ErrMoveDestination = errors.New("cannot move")

// Move renames one resource instance of the state, as state mv does.
type Move struct {
	From string
	// To is the instance as recorded at its new address.
	To state.Resource
}

// Moves computes what state mv SRC DST does, as Terraform's state mv does
// it: a module (instance) moves with every resource in it and in the
// modules it calls (module.a["x"] → module.a["y"], module.a → module.b
// with each instance's key); a resource moves with all its instances
// (keys kept), into another module or out of one; an instance moves
// alone. Nothing is moved unless everything can be: the destination
// must be free (Terraform's rule: state rm it first). The moves are sorted by source address.
func Moves(src, dst Address, resources map[string]state.Resource) ([]Move, error) {
	switch {
	case src.IsModule() != dst.IsModule():
		return nil, fmt.Errorf("%w %s to %s: a module moves to a module address, a resource to a resource address", ErrMoveDestination, src, dst)
	case !src.IsModule() && src.Type != dst.Type:
		return nil, fmt.Errorf("%w %s to %s: the resource type cannot change (an identifier belongs to its API)", ErrMoveDestination, src, dst)
	case src.String() == dst.String():
		return nil, fmt.Errorf("%w %s to itself", ErrMoveDestination, src)
	case src.IsModule() && src.Selects(dst.Module+".") && !addsKey(src, dst):
		return nil, fmt.Errorf("%w %s to %s: a module cannot move into itself", ErrMoveDestination, src, dst)
	}
	var moves []Move
	if r, ok := resources[src.String()]; ok && !src.IsModule() {
		// An instance, or a resource without for_each.
		moves = append(moves, Move{From: src.String(), To: movedTo(r, dst)})
	} else if !src.HasKey || src.IsModule() {
		keyedCall := src.IsModule() && !strings.HasSuffix(src.Module, "]")
		for addr, r := range resources {
			if !src.Selects(addr) {
				continue
			}
			a, err := ParseAddress(addr)
			if err != nil {
				return nil, fmt.Errorf("the state's %s: %w", Visible(addr), err)
			}
			to := dst
			if src.IsModule() {
				// The module path after src's stays: module.a["x"].module.b
				// moved to module.c is module.c.module.b.
				rest := a.Module[len(src.Module):]
				if keyedCall && strings.HasPrefix(rest, "[") && strings.HasSuffix(dst.Module, "]") {
					return nil, fmt.Errorf("%w %s to %s: %s has instances with keys (%s); move them one at a time, or to a module call without a key", ErrMoveDestination, src, dst, src, Visible(a.Module))
				}
				to = Address{Module: dst.Module + rest, Type: a.Type, Name: a.Name, Key: a.Key, HasKey: a.HasKey}
			} else {
				if dst.HasKey {
					return nil, fmt.Errorf("%w %s to %s: %s has instances with keys; move them one at a time, or to a resource address without a key", ErrMoveDestination, src, dst, src)
				}
				to.Key, to.HasKey = a.Key, a.HasKey
			}
			moves = append(moves, Move{From: addr, To: movedTo(r, to)})
		}
	}
	if len(moves) == 0 {
		what := "resource instance"
		if src.IsModule() {
			what = "resource in"
		}
		return nil, fmt.Errorf("%w: no %s %s", ErrMoveSource, what, src)
	}
	sort.Slice(moves, func(i, j int) bool { return moves[i].From < moves[j].From })
	if src.IsModule() {
		// As Terraform: a module moves to where no module instance is.
		// What src holds leaves: module.a[0] moves to module.a, the call
		// that selects it.
		for addr := range resources {
			if dst.Selects(addr) && !src.Selects(addr) {
				return nil, fmt.Errorf("%w %s to %s: the module instance %s is %w (%s)", ErrMoveDestination, src, dst, dst, state.ErrExists, Visible(addr))
			}
		}
	}
	seen := make(map[string]bool, len(moves))
	for _, m := range moves {
		to := m.To.Address
		if _, taken := resources[to]; taken || seen[to] {
			return nil, fmt.Errorf("%w %s to %s: %s is %w", ErrMoveDestination, src, dst, Visible(to), state.ErrExists)
		}
		seen[to] = true
	}
	return moves, nil
}

// addsKey reports whether dst is the module instance src, a module
// without a key, given one: module.a to module.a[0] or module.a["k"], as
// when count or for_each is added to a module block. Only the keyless
// instance moves (instances of the call that already have keys make it
// refused below).
func addsKey(src, dst Address) bool {
	return src.IsModule() && dst.IsModule() && !strings.HasSuffix(src.Module, "]") &&
		strings.HasPrefix(dst.Module, src.Module+"[") &&
		len(moduleSteps(dst.Module)) == len(moduleSteps(src.Module))
}

// movedTo is r recorded at the address to.
func movedTo(r state.Resource, to Address) state.Resource {
	r.Address, r.Type, r.Name, r.Key = to.String(), to.Type, to.Name, to.Key
	return r
}
