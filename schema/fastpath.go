package schema

import (
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Specialised evaluation of for_each for large configurations. They give
// exactly what the general evaluator gives (fastpath_test.go compares the
// two over many configurations) and step aside, to the general evaluator,
// whenever a case is not theirs, including every case that ends in a
// diagnostic.
//
//   - A for_each that is directly a fileset(…) call lists the files without
//     building and sorting a cty set.
//   - A source or filename that is a string template made only of literal
//     text, each.key, each.value, var.NAME and path.module, path.root or
//     path.cwd is compiled, its var and path parts replaced by their values
//     once per resource (see bind), and filled in per instance, without
//     building an evaluation context per instance.

// generalOnly reports whether the tests asked for the general path only
// (Config.general, set on the root configuration).
func (c *Config) generalOnly() bool {
	if c.root != nil {
		return c.root.general
	}
	return c.general
}

// fastPathsAllowed reports whether the specialised paths may serve cfg.
// They handle, and fastpath_test.go compares with the general evaluator,
// only configurations whose merchant blocks, in every module, are single
// blocks: a configuration with any merchant block with for_each or count
// takes the general evaluator throughout, and so does one in a syntax
// other than HCL's native one. A language feature
// added later stays on the general path until it is handled here and in
// the comparison.
func fastPathsAllowed(cfg *Config) bool {
	if cfg == nil || cfg.generalOnly() {
		return false
	}
	for _, f := range cfg.Files() {
		body, ok := f.Body.(*hclsyntax.Body)
		if !ok {
			return false
		}
		for _, b := range body.Blocks {
			if b.Type == "merchant" {
				for _, name := range []string{"for_each", "count"} {
					if _, ok := b.Body.Attributes[name]; ok {
						return false
					}
				}
			}
		}
	}
	return true
}

// fastFileset returns the for_each keys of expr, sorted and distinct, when
// expr is a call of the built-in fileset with two plain string arguments
// that lists without error; ok is false otherwise.
func (s *scope) fastFileset(expr hcl.Expression, ctx *hcl.EvalContext) (keys keyList, ok bool) {
	call, isCall := expr.(*hclsyntax.FunctionCallExpr)
	if !s.fast() || !isCall || call.Name != "fileset" || call.ExpandFinal || len(call.Args) != 2 {
		return keyList{}, false
	}
	var args [2]string
	for i, a := range call.Args {
		v, diags := a.Value(ctx)
		if diags.HasErrors() || v.IsMarked() || !v.IsKnown() || v.IsNull() {
			return keyList{}, false
		}
		sv, err := convert.Convert(v, cty.String)
		if err != nil || sv.IsMarked() || !sv.IsKnown() || sv.IsNull() {
			return keyList{}, false
		}
		args[i] = sv.AsString()
	}
	runs, err := s.ev.filesetRunsOf(s.ev.Config.Dir, args[0], args[1])
	if err != nil {
		return keyList{}, false
	}
	return sortedKeys(runs), true
}

// sortedKeys is the keys of the fileset whose matches are runs: NFC
// normalised (the strings a set would hold), sorted and distinct. Runs
// that are normalised and in order already, as the parallel walk usually
// gives them, are the keys as they are; they are copied only when they
// are not.
func sortedKeys(runs []nameRun) keyList {
	inOrder := true
	last := "" // the last key so far
	for _, r := range runs {
		for i := range r.len() {
			m := r.at(i)
			if cty.NormalizeString(m) != m || (i > 0 || last != "") && m <= last {
				inOrder = false
			}
			last = m
		}
	}
	if inOrder {
		return newKeyList(runs)
	}
	keys := flatten(runs)
	for i, m := range keys {
		keys[i] = cty.NormalizeString(m)
	}
	slices.Sort(keys)
	// Names that differ only in their normalisation never get here:
	// filesetRuns refuses them (checkMatchNames).
	return newKeyList(newNameRuns(slices.Compact(keys)))
}

// nameRun is a list of names (a directory's matches, sorted): their
// bytes one after the other in names, the i-th ending at ends[i]. A name
// takes 4 bytes beside its own, rather than a string's 16.
type nameRun struct {
	names string
	ends  []uint32
}

// newNameRuns is names copied into runs: one, unless their bytes pass
// what a run's offsets count (4 GiB), with no name split.
func newNameRuns(names []string) []nameRun {
	var runs []nameRun
	for len(names) > 0 {
		n, k := 0, 0
		for k < len(names) && (k == 0 || uint64(n)+uint64(len(names[k])) <= math.MaxUint32) {
			n += len(names[k])
			k++
		}
		runs = append(runs, newNameRun(names[:k], n))
		names = names[k:]
	}
	return runs
}

// newNameRun is the run of names, whose bytes are n (at most 4 GiB but
// for a name alone), copied.
func newNameRun(names []string, n int) nameRun {
	b := make([]byte, 0, n)
	r := nameRun{ends: make([]uint32, len(names))}
	for i, m := range names {
		b = append(b, m...)
		r.ends[i] = uint32(len(b))
	}
	r.names = arenaString(b)
	return r
}

func (r nameRun) len() int { return len(r.ends) }

// at is the i-th name.
func (r nameRun) at(i int) string {
	start := uint32(0)
	if i > 0 {
		start = r.ends[i-1]
	}
	return r.names[start:r.ends[i]]
}

// flatten is the names of runs, one after the other.
func flatten(runs []nameRun) []string {
	n := 0
	for _, r := range runs {
		n += r.len()
	}
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	for _, r := range runs {
		for i := range r.len() {
			out = append(out, r.at(i))
		}
	}
	return out
}

// keyList is a list of keys made of runs, one after the other.
type keyList struct {
	runs []nameRun
	ends []int // where each run ends in the list
}

func newKeyList(runs []nameRun) keyList {
	l := keyList{runs: runs, ends: make([]int, len(runs))}
	n := 0
	for i, r := range runs {
		n += r.len()
		l.ends[i] = n
	}
	return l
}

// len is the number of keys.
func (l keyList) len() int {
	if len(l.ends) == 0 {
		return 0
	}
	return l.ends[len(l.ends)-1]
}

// at is the i-th key.
func (l keyList) at(i int) string {
	k, _ := slices.BinarySearch(l.ends, i+1)
	start := 0
	if k > 0 {
		start = l.ends[k-1]
	}
	return l.runs[k].at(i - start)
}

// each calls fn with the keys lo to hi, in order.
func (l keyList) each(lo, hi int, fn func(i int, key string)) {
	if lo >= hi {
		return
	}
	k, _ := slices.BinarySearch(l.ends, lo+1)
	start := 0
	if k > 0 {
		start = l.ends[k-1]
	}
	for i := lo; i < hi; i++ {
		for i >= l.ends[k] {
			start = l.ends[k]
			k++
		}
		fn(i, l.runs[k].at(i-start))
	}
}

// strings is the keys, in one slice.
func (l keyList) strings() []string { return flatten(l.runs) }

// tplPart is one part of a compiled template: literal text, or each.key,
// or each.value, or a reference to var.NAME or path.* that bind replaces
// by literal text.
type tplPart struct {
	lit  string
	each string    // "", "key" or "value"
	ref  [2]string // var or path, and the attribute; "" when not a reference
}

// template is a string expression compiled for per-instance filling.
type template struct {
	parts []tplPart
	// wrap is true for an expression whose value is one part's value as it
	// is ("${each.value}" or each.value), not a string built from parts.
	wrap bool
}

// compileTemplate compiles expr when it is literal text, each.key,
// each.value, or a template of those and var.NAME and path.*; nil
// otherwise. References to var and path fill nothing until bound.
func compileTemplate(expr hcl.Expression) *template {
	if expr == nil {
		return nil
	}
	switch e := expr.(type) {
	case *hclsyntax.TemplateWrapExpr:
		p, ok := compilePart(e.Wrapped)
		if !ok {
			return nil
		}
		return &template{parts: []tplPart{p}, wrap: true}
	case *hclsyntax.ScopeTraversalExpr:
		p, ok := compilePart(e)
		if !ok || p.each == "" {
			return nil
		}
		return &template{parts: []tplPart{p}, wrap: true}
	case *hclsyntax.TemplateExpr:
		t := &template{}
		for _, part := range e.Parts {
			p, ok := compilePart(part)
			if !ok {
				return nil
			}
			t.parts = append(t.parts, p)
		}
		return t
	}
	return nil
}

func compilePart(expr hclsyntax.Expression) (tplPart, bool) {
	switch e := expr.(type) {
	case *hclsyntax.LiteralValueExpr:
		v := e.Val
		if v.Type() != cty.String || v.IsMarked() || !v.IsKnown() || v.IsNull() {
			return tplPart{}, false
		}
		return tplPart{lit: v.AsString()}, true
	case *hclsyntax.ScopeTraversalExpr:
		t := e.Traversal
		if len(t) != 2 {
			return tplPart{}, false
		}
		a, ok := t[1].(hcl.TraverseAttr)
		switch {
		case !ok:
		case t.RootName() == "each" && (a.Name == "key" || a.Name == "value"):
			return tplPart{each: a.Name}, true
		case t.RootName() == "var", t.RootName() == "path" && (a.Name == "module" || a.Name == "root" || a.Name == "cwd"):
			return tplPart{ref: [2]string{t.RootName(), a.Name}}, true
		}
		return tplPart{}, false
	}
	return tplPart{}, false
}

// fill returns the template's string for one instance, or false when the
// general evaluator must decide: each.value is not a known, unmarked,
// non-null string, or the result would be refused (empty). A string the
// template makes is made in a (nil: on its own).
func (t *template) fill(a *byteArena, key string, val cty.Value) (string, bool) {
	if t == nil {
		return "", false
	}
	ok := val.Type() == cty.String && !val.IsMarked() && val.IsKnown() && !val.IsNull()
	value := ""
	if ok {
		value = val.AsString()
	}
	return t.fillStr(a, key, value, ok)
}

// fillStr is fill with each.value given as a string, valueOK false when it
// is not a known, unmarked, non-null string.
func (t *template) fillStr(a *byteArena, key, value string, valueOK bool) (string, bool) {
	if t != nil && t.wrap {
		// The one part as it is: no copy.
		s, ok := t.part(t.parts[0], key, value, valueOK)
		return s, ok && s != ""
	}
	return t.fillStrIn(a, "", key, value, valueOK)
}

// fillStrIn is fillStr with the result made at the end of a copy of
// prefix: it returns prefix + the result, or false. The result is NFC
// normalised on its own, as a template's cty string is (a template that is
// one interpolation gives its value as it is).
func (t *template) fillStrIn(a *byteArena, prefix, key, value string, valueOK bool) (string, bool) {
	if t == nil {
		return "", false
	}
	n := 0
	for _, p := range t.parts {
		s, ok := t.part(p, key, value, valueOK)
		if !ok {
			return "", false
		}
		n += len(s)
	}
	if n == 0 {
		return "", false
	}
	buf := a.take(len(prefix) + n)[:0]
	buf = append(buf, prefix...)
	for _, p := range t.parts {
		s, _ := t.part(p, key, value, valueOK)
		buf = append(buf, s...)
	}
	all := arenaString(buf)
	if t.wrap {
		return all, true // a lone interpolation gives its value as it is
	}
	res := all[len(prefix):]
	norm := cty.NormalizeString(res)
	if norm == res && unsafe.StringData(norm) == unsafe.StringData(res) {
		return all, true
	}
	if prefix != "" {
		return prefix + norm, true
	}
	return norm, true
}

// size is how long the template's string is for a key that each.key and
// each.value both give: what fillStr takes from an arena.
func (t *template) size(key string) int {
	if t == nil || t.wrap {
		return 0
	}
	n := 0
	for _, p := range t.parts {
		if p.each != "" {
			n += len(key)
		} else {
			n += len(p.lit)
		}
	}
	return n
}

// part is the text of one part of a template.
func (t *template) part(p tplPart, key, value string, valueOK bool) (string, bool) {
	switch p.each {
	case "key":
		return key, true
	case "value":
		return value, valueOK
	}
	return p.lit, p.ref[0] == ""
}

// simpleGlob is a fileset pattern the parallel walk lists: literal
// directory segments, then optionally "**", then one last segment of
// literal text, "*", "?" and non-nested, non-empty "{a,b}" alternatives.
type simpleGlob struct {
	prefix string // literal directory, "" for the base itself
	deep   bool   // "**" before the last segment
	last   string // the last segment, matched against a name
}

// parseSimpleGlob recognises a simpleGlob; ok is false for every other
// pattern, which doublestar lists.
func parseSimpleGlob(pattern string) (g simpleGlob, ok bool) {
	segs := strings.Split(pattern, "/")
	g.last = segs[len(segs)-1]
	segs = segs[:len(segs)-1]
	if n := len(segs); n > 0 && segs[n-1] == "**" {
		g.deep = true
		segs = segs[:n-1]
	}
	for _, s := range segs {
		if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "*?[]{}\\") {
			return simpleGlob{}, false
		}
	}
	g.prefix = strings.Join(segs, "/")
	if g.last == "" || strings.ContainsAny(g.last, "[]\\") || strings.Contains(g.last, "**") {
		return simpleGlob{}, false
	}
	// Braces: balanced, not nested, no empty alternative and no "*" in
	// one (doublestar expands alternatives into patterns of their own, so
	// "{*,a}*" would become "**").
	open := -1
	for i := 0; i < len(g.last); i++ {
		switch g.last[i] {
		case '*':
			if open >= 0 {
				return simpleGlob{}, false
			}
		case '{':
			if open >= 0 {
				return simpleGlob{}, false
			}
			open = i
		case ',':
			if open >= 0 && (g.last[i-1] == '{' || g.last[i-1] == ',') {
				return simpleGlob{}, false
			}
		case '}':
			if open < 0 || g.last[i-1] == '{' || g.last[i-1] == ',' {
				return simpleGlob{}, false
			}
			open = -1
		}
	}
	if open >= 0 {
		return simpleGlob{}, false
	}
	return g, true
}

// walkSimpleGlob lists the files matching g under root (a directory)
// exactly as doublestar.Glob(newAcyclicFS(root), pattern, WithFilesOnly())
// does, reading directories on every core: a directory entry is a
// directory when it is one, or a symbolic link or irregular file whose
// target is one (anything else, a dangling link included, is a file);
// "**" descends into every directory so found; a directory that cannot be
// read, or whose path is cyclic (see fileset_cycles.go), is skipped.
//
// The matches come in runs, a directory's each, sorted, the runs in the
// order of their first match: usually the whole is sorted (fastFileset
// checks it), but not always (a directory's files and those of its
// subdirectories may interleave). Each run is made in two allocations of
// its exact size (nameRun).
func walkSimpleGlob(root string, g simpleGlob) []nameRun {
	rel := "."
	if g.prefix != "" {
		rel = g.prefix
		if fi, err := os.Stat(root + "/" + g.prefix); err != nil || !fi.IsDir() {
			return nil
		}
	}
	above, ok := prefixChain(root, rel)
	if !ok {
		return nil
	}
	if !g.deep {
		runs, _ := listDirRuns(root, dirItem{rel, above}, g.last)
		return runs
	}
	var (
		mu    sync.Mutex
		cond  = sync.NewCond(&mu)
		queue = []dirItem{{rel, above}}
		busy  int
		// runs are the matches of each directory listed, each sorted.
		runs []nameRun
	)
	worker := func() {
		// Each worker lists into scratch, the names in an arena it uses
		// again for every directory; a directory's matches are then
		// copied, sorted, to a run of their exact size.
		var (
			dirs    []dirItem
			scratch []string
			arena   byteArena
			mine    []nameRun
		)
		mu.Lock()
		for {
			for len(queue) == 0 && busy > 0 {
				cond.Wait()
			}
			if len(queue) == 0 {
				runs = append(runs, mine...)
				mu.Unlock()
				cond.Broadcast()
				return
			}
			dir := queue[len(queue)-1]
			queue = queue[:len(queue)-1]
			busy++
			mu.Unlock()
			dirs = dirs[:0]
			arena.reset()
			scratch = listDir(root, dir, g.last, &dirs, scratch[:0], &arena)
			if len(scratch) > 0 {
				slices.Sort(scratch)
				mine = append(mine, newNameRuns(scratch)...)
			}
			mu.Lock()
			busy--
			queue = append(queue, dirs...)
			cond.Broadcast()
		}
	}
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(worker)
	}
	wg.Wait()
	slices.SortFunc(runs, func(a, b nameRun) int { return strings.Compare(a.at(0), b.at(0)) })
	return runs
}

// listScratch is where a directory is listed before its matches are
// copied to runs: the names and their bytes, used again by the next
// listing (listScratches).
type listScratch struct {
	names []string
	arena byteArena
}

var listScratches = sync.Pool{New: func() any { return new(listScratch) }}

// listDirRuns lists one directory, without its subdirectories (see
// listDirErr), in a scratch of listScratches and returns its matches
// copied to sorted runs.
func listDirRuns(root string, d dirItem, last string) ([]nameRun, error) {
	sc := listScratches.Get().(*listScratch)
	defer listScratches.Put(sc)
	sc.arena.reset()
	var err error
	sc.names, err = listDirErr(root, d, last, nil, sc.names[:0], &sc.arena)
	if err != nil {
		return nil, err
	}
	slices.Sort(sc.names)
	return newNameRuns(sc.names), nil
}

// dirItem is a directory to list: its path relative to the root, and the
// directories of the path above it.
type dirItem struct {
	rel   string
	above *dirChain
}

// matchName reports whether a file name (no separator) matches the last
// segment of a fileset pattern, as doublestar.Match does. The usual
// "*.png" form, one star before literal text, is a suffix test.
func matchName(last, name string) bool {
	if rest, ok := strings.CutPrefix(last, "*"); ok && !strings.ContainsAny(rest, "*?[]{}\\") {
		return strings.HasSuffix(name, rest)
	}
	ok, _ := doublestar.Match(last, name)
	return ok
}

// entryKind is what readDir says about a directory entry.
type entryKind uint8

const (
	// kindOther is a file that is not a directory: a regular file, or a
	// named pipe, socket or device, which fileset lists like one.
	kindOther entryKind = iota
	// kindDir is a directory.
	kindDir
	// kindFollow is a symbolic link or an entry of unknown type, whose
	// target decides (os.Stat).
	kindFollow
)

// listDir appends to out the files of root/d.rel whose names match last,
// as paths relative to root; with subdirs, it appends the directories of
// root/d.rel to it. A directory that cannot be listed, or is one of the
// directories above it (a cycle), adds nothing.
func listDir(root string, d dirItem, last string, subdirs *[]dirItem, out []string, arena *byteArena) []string {
	out, _ = listDirErr(root, d, last, subdirs, out, arena)
	return out
}

// listDirErr is listDir that also returns why the directory could not be
// listed. The names of the matches are made in arena.
func listDirErr(root string, d dirItem, last string, subdirs *[]dirItem, out []string, arena *byteArena) ([]string, error) {
	dir := d.rel
	full := root
	if dir != "." {
		full = root + "/" + dir
	}
	outHad := len(out)
	had := 0
	if subdirs != nil {
		had = len(*subdirs)
	}
	join := func(name string) string {
		if dir == "." {
			return arena.concat(name) // name is only valid during the call
		}
		return arena.concat(dir, "/", name)
	}
	self := d.above
	enter := func(k dirKey, known bool) bool {
		if !known {
			return true
		}
		if d.above.has(k) {
			return false // a cycle closes here
		}
		self = &dirChain{key: k, parent: d.above}
		return true
	}
	err := readDir(full, enter, func(name string, kind entryKind) {
		isDir := kind == kindDir
		if kind == kindFollow {
			fi, err := os.Stat(full + "/" + name)
			isDir = err == nil && fi.IsDir()
		}
		if isDir {
			if subdirs != nil {
				*subdirs = append(*subdirs, dirItem{joinDir(dir, name), self})
			}
			return
		}
		if matchName(last, name) {
			out = append(out, join(name))
		}
	})
	if err != nil {
		// As if the directory could not be listed at all.
		if subdirs != nil {
			*subdirs = (*subdirs)[:had]
		}
		return out[:outHad], err
	}
	return out, nil
}

// joinDir is the path of the directory name in dir, both relative to the
// root of a walk. Directories are few: each has an allocation of its own,
// so that the blocks of the matches' names hold only names.
func joinDir(dir, name string) string {
	if dir == "." {
		return string([]byte(name))
	}
	return dir + "/" + name
}

// parallelBlock is how many instances a core takes at a time; fewer than
// two blocks are built on one goroutine.
const parallelBlock = 2048

// parallelChunks calls fn for consecutive ranges covering [0, n), on
// every core when n is large. fn must be safe to call concurrently for
// different ranges.
func parallelChunks(n int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n/parallelBlock)
	if workers <= 1 {
		fn(0, n)
		return
	}
	var next atomic.Int64
	work := func() {
		for {
			lo := int(next.Add(parallelBlock)) - parallelBlock
			if lo >= n {
				return
			}
			fn(lo, min(lo+parallelBlock, n))
		}
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
}
