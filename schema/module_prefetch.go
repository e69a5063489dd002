package schema

import (
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// The instances of a module are evaluated one after the other, and each
// lists its own directory for a for_each = fileset(...) of its resources
// (a store's images under img/${var.dir}): a thousand instances list a
// thousand directories one at a time, where a flat configuration's
// fileset("img", "**/*.png") lists them on every core. So, before the
// instances are evaluated, the directories their filesets will most
// likely list are listed on other goroutines, while the instances are
// evaluated on this one: the arguments of such a fileset are guessed from
// the module call's arguments when those are only references to each or
// count, and the fileset's arguments only literal text and references to
// var and path. A guess is only a guess: fastFileset uses a listing made
// ahead only when its own arguments are exactly those of the listing, so
// what the evaluation gives is the same with or without it.

// prefetchMinInstances is how many module instances make listing ahead
// worth its goroutines.
const prefetchMinInstances = 16

// prefetchWindow is how many instances ahead of the evaluation the
// listing may be.
const prefetchWindow = 64

// filesetArgs are the arguments of a fileset call, with the directory
// of the module that makes it.
type filesetArgs struct{ base, dir, pattern string }

// instanceListings are the filesets listed ahead for one module
// instance: done is closed once listings are set (by one worker).
type instanceListings struct {
	done     chan struct{}
	listings []filesetListing
	// window is the workers' (see prefetchFilesets), when this
	// instance holds a place in it.
	window chan struct{}
}

// filesetListing is one fileset listed ahead.
type filesetListing struct {
	args filesetArgs
	runs []nameRun
	err  error
}

// listedAhead counts the listings made ahead that were used (tests).
var listedAhead atomic.Int64

// filesetRunsOf is filesetRuns(base, dir, pattern, true) for
// fastFileset, from a listing made ahead when there is one.
func (ev *Evaluation) filesetRunsOf(base, dir, pattern string) ([]nameRun, error) {
	if p := ev.prefetched; p != nil {
		<-p.done
		for _, l := range p.listings {
			if l.args == (filesetArgs{base, dir, pattern}) {
				listedAhead.Add(1)
				return l.runs, l.err
			}
		}
	}
	return filesetRuns(base, dir, pattern, true)
}

// prefetchFilesets lists ahead, on other goroutines, the filesets that
// the instances of call (items) will most likely list
// (see above): the i-th instance's are in the i-th element of what it
// returns (nil: none listed). stop stops what is left to list; it is
// called once the instances are evaluated.
func (ev *Evaluation) prefetchFilesets(call *ModuleCall, items []forEachItem) (ahead []*instanceListings, stop func()) {
	stop = func() {}
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 || len(items) < prefetchMinInstances || call.Module == nil || !fastPathsAllowed(call.Module) {
		return nil, stop
	}
	// The fileset arguments, as parts: literal text, a path.* or a
	// variable set by a module argument that only refers to each or
	// count. The guesses are made by hand, without evaluation contexts:
	// the plan runs without a collector (internal/memtune), so what is
	// allocated here is memory the process holds.
	type argPart struct {
		lit string
		ref *eachRef // nil: lit
	}
	pathVal := (&Evaluation{Config: call.Module, root: ev.root}).pathObject()
	parts := func(e hcl.Expression) ([]argPart, bool) {
		lit := func(x hclsyntax.Expression) (argPart, bool) {
			switch x := x.(type) {
			case *hclsyntax.LiteralValueExpr:
				sv, err := convert.Convert(x.Val, cty.String)
				if err != nil || sv.IsNull() || !sv.IsKnown() || sv.IsMarked() {
					return argPart{}, false
				}
				return argPart{lit: sv.AsString()}, true
			case *hclsyntax.ScopeTraversalExpr:
				if len(x.Traversal) != 2 {
					return argPart{}, false
				}
				a, isAttr := x.Traversal[1].(hcl.TraverseAttr)
				switch root := x.Traversal.RootName(); {
				case !isAttr:
				case root == "path" && (a.Name == "module" || a.Name == "root" || a.Name == "cwd"):
					return argPart{lit: pathVal.GetAttr(a.Name).AsString()}, true
				case root == "var":
					in, given := call.Inputs[a.Name]
					v := call.Module.Variables[a.Name]
					if !given || v == nil || v.Sensitive {
						break
					}
					if ref := eachRefOf(in.Expr); ref != nil {
						return argPart{ref: ref}, true
					}
				}
			}
			return argPart{}, false
		}
		switch e := e.(type) {
		case *hclsyntax.TemplateExpr:
			var out []argPart
			for _, x := range e.Parts {
				p, ok := lit(x)
				if !ok {
					return nil, false
				}
				out = append(out, p)
			}
			return out, true
		case *hclsyntax.TemplateWrapExpr:
			p, ok := lit(e.Wrapped)
			return []argPart{p}, ok
		case hclsyntax.Expression:
			p, ok := lit(e)
			return []argPart{p}, ok
		}
		return nil, false
	}
	var args [][2][]argPart
	for _, r := range call.Module.Resources {
		fc, isCall := r.ForEach.(*hclsyntax.FunctionCallExpr)
		if !isCall || fc.Name != "fileset" || fc.ExpandFinal || len(fc.Args) != 2 {
			continue
		}
		d, ok1 := parts(fc.Args[0])
		p, ok2 := parts(fc.Args[1])
		if ok1 && ok2 {
			args = append(args, [2][]argPart{d, p})
		}
	}
	if len(args) == 0 {
		return nil, stop
	}
	base := call.Module.Dir
	// guess lists the filesets of the i-th instance. It reads only
	// values already made: it is safe on several goroutines.
	guess := func(i int) (out []filesetListing) {
		it := items[i]
	next:
		for _, arg := range args {
			var a [2]string
			for k, ps := range arg {
				var b strings.Builder
				for _, p := range ps {
					if p.ref == nil {
						b.WriteString(p.lit)
						continue
					}
					v, ok := p.ref.value(it, i)
					if !ok {
						continue next
					}
					sv, err := convert.Convert(v, cty.String)
					if err != nil || sv.IsNull() || !sv.IsKnown() || sv.IsMarked() {
						continue next
					}
					b.WriteString(sv.AsString())
				}
				a[k] = b.String()
			}
			key := filesetArgs{base, a[0], a[1]}
			for _, l := range out {
				if l.args == key {
					continue next
				}
			}
			runs, err := filesetRuns(base, a[0], a[1], true)
			out = append(out, filesetListing{args: key, runs: runs, err: err})
		}
		return out
	}
	slots := make([]*instanceListings, len(items))
	for i := range slots {
		slots[i] = &instanceListings{done: make(chan struct{})}
	}
	// The workers stay at most prefetchWindow instances ahead: listings
	// wait for their instance only that long, and an evaluation cut
	// short (MaxModuleResourceInstances) lists little more than it used.
	window := make(chan struct{}, prefetchWindow)
	quit := make(chan struct{})
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				// The place first, then the instance: the instance
				// the evaluation waits for always has its place.
				select {
				case <-quit:
					return
				case window <- struct{}{}:
				}
				i := int(next.Add(1)) - 1
				if i >= len(slots) {
					<-window
					return
				}
				slots[i].window = window
				slots[i].listings = guess(i)
				close(slots[i].done)
			}
		})
	}
	// The caller's copy: it drops each instance's once used, while the
	// workers may still read theirs.
	return slices.Clone(slots), func() {
		close(quit)
		wg.Wait()
	}
}

// release ends the use of an instance's listings, making room for the
// workers to list further ahead.
func (l *instanceListings) release() {
	<-l.done
	if l.window != nil {
		<-l.window
	}
}

// dropPrefetched releases what was listed ahead for ev, once evaluated.
func (ev *Evaluation) dropPrefetched() {
	if p := ev.prefetched; p != nil {
		p.release()
		ev.prefetched = nil
	}
}

// eachRef is a module argument that only refers to each or count
// (each.key, each.value.dir, count.index): its value for an instance can
// be had without evaluating anything else.
type eachRef struct {
	what string        // key, value or index
	rest hcl.Traversal // after each.value
}

func eachRefOf(e hcl.Expression) *eachRef {
	t, ok := e.(*hclsyntax.ScopeTraversalExpr)
	if !ok || len(t.Traversal) < 2 {
		return nil
	}
	a, ok := t.Traversal[1].(hcl.TraverseAttr)
	if !ok {
		return nil
	}
	switch root := t.Traversal.RootName(); {
	case root == "each" && a.Name == "key" && len(t.Traversal) == 2,
		root == "each" && a.Name == "value",
		root == "count" && a.Name == "index" && len(t.Traversal) == 2:
		return &eachRef{what: a.Name, rest: t.Traversal[2:]}
	}
	return nil
}

// value is the reference's value for the i-th instance, it.
func (r *eachRef) value(it forEachItem, i int) (cty.Value, bool) {
	var v cty.Value
	switch r.what {
	case "key":
		v = cty.StringVal(it.key)
	case "index":
		v = cty.NumberIntVal(int64(i))
	default:
		if v = it.val; it.str {
			v = cty.StringVal(it.key)
		}
		if len(r.rest) > 0 {
			var d hcl.Diagnostics
			if v, d = r.rest.TraverseRel(v); d.HasErrors() {
				return cty.NilVal, false
			}
		}
	}
	if v == cty.NilVal || !v.IsWhollyKnown() || v.IsMarked() || v.IsNull() {
		return cty.NilVal, false
	}
	return v, true
}
