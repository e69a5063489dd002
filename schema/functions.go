package schema

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"unicode/utf8"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/wxmedia/wxmedia/internal/safefile"
)

// Functions returns the functions available to expressions: go-cty's
// standard library under Terraform's names, HCL's try and can, and the
// file-system functions, whose relative paths are relative to baseDir.
func Functions(baseDir string) map[string]function.Function {
	return functionsIn(baseDir, new(atomic.Int64), true)
}

// functionsIn is Functions with file() counting what it reads in read,
// which may be shared by several sets of functions; fast lets fileset
// take its parallel walk (see filesetMatches).
func functionsIn(baseDir string, read *atomic.Int64, fast bool) map[string]function.Function {
	fs := map[string]function.Function{
		"abs":             stdlib.AbsoluteFunc,
		"can":             tryfunc.CanFunc,
		"ceil":            stdlib.CeilFunc,
		"chomp":           stdlib.ChompFunc,
		"chunklist":       stdlib.ChunklistFunc,
		"coalesce":        stdlib.CoalesceFunc,
		"coalescelist":    stdlib.CoalesceListFunc,
		"compact":         stdlib.CompactFunc,
		"concat":          stdlib.ConcatFunc,
		"contains":        stdlib.ContainsFunc,
		"convert":         typeexpr.ConvertFunc,
		"csvdecode":       stdlib.CSVDecodeFunc,
		"distinct":        distinctFunc,
		"element":         stdlib.ElementFunc,
		"flatten":         stdlib.FlattenFunc,
		"floor":           stdlib.FloorFunc,
		"format":          stdlib.FormatFunc,
		"formatdate":      stdlib.FormatDateFunc,
		"formatlist":      stdlib.FormatListFunc,
		"indent":          stdlib.IndentFunc,
		"index":           stdlib.IndexFunc,
		"join":            stdlib.JoinFunc,
		"jsondecode":      jsonDecodeFunc,
		"jsonencode":      stdlib.JSONEncodeFunc,
		"keys":            stdlib.KeysFunc,
		"length":          lengthFunc,
		"log":             stdlib.LogFunc,
		"lookup":          stdlib.LookupFunc,
		"lower":           stdlib.LowerFunc,
		"max":             stdlib.MaxFunc,
		"merge":           stdlib.MergeFunc,
		"min":             stdlib.MinFunc,
		"parseint":        stdlib.ParseIntFunc,
		"pow":             stdlib.PowFunc,
		"range":           stdlib.RangeFunc,
		"regex":           stdlib.RegexFunc,
		"regexall":        stdlib.RegexAllFunc,
		"regex_replace":   stdlib.RegexReplaceFunc,
		"replace":         stdlib.ReplaceFunc,
		"reverse":         stdlib.ReverseListFunc,
		"setintersection": stdlib.SetIntersectionFunc,
		"setproduct":      stdlib.SetProductFunc,
		"setsubtract":     stdlib.SetSubtractFunc,
		"setunion":        stdlib.SetUnionFunc,
		"signum":          stdlib.SignumFunc,
		"slice":           stdlib.SliceFunc,
		"sort":            stdlib.SortFunc,
		"split":           stdlib.SplitFunc,
		"strlen":          stdlib.StrlenFunc,
		"strrev":          stdlib.ReverseFunc,
		"substr":          stdlib.SubstrFunc,
		"timeadd":         stdlib.TimeAddFunc,
		"title":           stdlib.TitleFunc,
		"tobool":          stdlib.MakeToFunc(cty.Bool),
		"tolist":          stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tomap":           stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"tonumber":        stdlib.MakeToFunc(cty.Number),
		"toset":           stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tostring":        stdlib.MakeToFunc(cty.String),
		"trim":            stdlib.TrimFunc,
		"trimprefix":      stdlib.TrimPrefixFunc,
		"trimspace":       stdlib.TrimSpaceFunc,
		"trimsuffix":      stdlib.TrimSuffixFunc,
		"try":             tryfunc.TryFunc,
		"upper":           stdlib.UpperFunc,
		"values":          stdlib.ValuesFunc,
		"zipmap":          stdlib.ZipmapFunc,
	}
	resolve := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(baseDir, p)
	}
	str := func(name string) function.Parameter {
		return function.Parameter{Name: name, Type: cty.String}
	}
	// file() reads at most MaxFileFuncSize bytes per call and
	// MaxFileFuncTotal over all calls of one evaluation (an expression of
	// a resource with for_each calls it once per instance); like every
	// read of a file from outside, it never blocks on a named pipe or
	// reads a device (see safefile).
	fs["file"] = function.New(&function.Spec{
		Params: []function.Parameter{str("path")},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			b, err := safefile.ReadFile(resolve(args[0].AsString()), MaxFileFuncSize)
			if err != nil {
				return cty.NilVal, function.NewArgError(0, err)
			}
			if read.Add(int64(len(b))) > MaxFileFuncTotal {
				return cty.NilVal, function.NewArgErrorf(0, "file() has read more than %d MiB in this configuration; wxmedia reads at most that much through file()", MaxFileFuncTotal>>20)
			}
			if !utf8.Valid(b) {
				return cty.NilVal, function.NewArgErrorf(0, "contents of %s are not valid UTF-8", args[0].AsString())
			}
			return cty.StringVal(string(b)), nil
		},
	})
	fs["fileexists"] = function.New(&function.Spec{
		Params: []function.Parameter{str("path")},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			st, err := os.Stat(resolve(args[0].AsString()))
			if err != nil {
				if os.IsNotExist(err) {
					return cty.False, nil
				}
				return cty.NilVal, function.NewArgError(0, err)
			}
			if !st.Mode().IsRegular() {
				return cty.NilVal, function.NewArgErrorf(0, "%s is not a regular file", args[0].AsString())
			}
			return cty.True, nil
		},
	})
	fs["filesha256"] = function.New(&function.Spec{
		Params: []function.Parameter{str("path")},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			// Streamed, and only as many bytes as the file held when
			// opened: a file growing meanwhile does not make it endless.
			f, st, err := safefile.Open(resolve(args[0].AsString()))
			if err != nil {
				return cty.NilVal, function.NewArgError(0, err)
			}
			defer f.Close()
			h := sha256.New()
			if _, err := io.Copy(h, io.LimitReader(f, st.Size())); err != nil {
				return cty.NilVal, function.NewArgError(0, err)
			}
			return cty.StringVal(hex.EncodeToString(h.Sum(nil))), nil
		},
	})
	fs["fileset"] = function.New(&function.Spec{
		Params: []function.Parameter{str("path"), str("pattern")},
		Type:   function.StaticReturnType(cty.Set(cty.String)),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			matches, err := filesetMatches(baseDir, args[0].AsString(), args[1].AsString(), fast)
			if err != nil {
				return cty.NilVal, err
			}
			if len(matches) == 0 {
				return cty.SetValEmpty(cty.String), nil
			}
			vals := make([]cty.Value, len(matches))
			for i, m := range matches {
				vals[i] = cty.StringVal(m)
			}
			return cty.SetVal(vals), nil
		},
	})
	fs["basename"] = function.New(&function.Spec{
		Params: []function.Parameter{str("path")},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.StringVal(filepath.Base(args[0].AsString())), nil
		},
	})
	fs["dirname"] = function.New(&function.Spec{
		Params: []function.Parameter{str("path")},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.StringVal(filepath.Dir(args[0].AsString())), nil
		},
	})
	fs["abspath"] = function.New(&function.Spec{
		Params: []function.Parameter{str("path")},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.StringVal(filepath.ToSlash(filepath.Clean(resolve(args[0].AsString())))), nil
		},
	})
	fs["env"] = function.New(&function.Spec{
		Params:   []function.Parameter{str("name")},
		VarParam: &function.Parameter{Name: "default", Type: cty.String},
		Type:     function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if v, ok := os.LookupEnv(args[0].AsString()); ok {
				return cty.StringVal(v), nil
			}
			if len(args) > 2 {
				return cty.NilVal, function.NewArgErrorf(2, "env takes at most one default")
			}
			if len(args) == 2 {
				return args[1], nil
			}
			return cty.StringVal(""), nil
		},
	})
	// Conversions to collections of any type are made linear, and
	// setproduct checks the size of its result before building it (see
	// limits.go).
	to := map[string]cty.Type{
		"toset":  cty.Set(cty.DynamicPseudoType),
		"tolist": cty.List(cty.DynamicPseudoType),
		"tomap":  cty.Map(cty.DynamicPseudoType),
	}
	for name, f := range fs {
		var check func([]cty.Value) error
		if name == "setproduct" {
			check = checkProductSize
		}
		ty, ok := to[name]
		if !ok {
			ty = cty.NilType
		}
		fs[name] = linearArgs(f, ty, check)
	}
	return fs
}

// filesetMatches lists the regular files under dir (relative to baseDir
// unless absolute) whose slash-separated paths relative to dir match
// pattern, in no particular order. Errors are function argument errors,
// as fileset reports them. With fast, a simple pattern (see
// parseSimpleGlob) is listed by a parallel walk with doublestar's exact
// result.
func filesetMatches(baseDir, dir, pattern string, fast bool) ([]string, error) {
	runs, err := filesetRuns(baseDir, dir, pattern, fast)
	return flatten(runs), err
}

// filesetRuns is filesetMatches with the matches in sorted runs: a
// directory's each, when the parallel walk lists them (see
// walkSimpleGlob).
func filesetRuns(baseDir, dir, pattern string, fast bool) ([]nameRun, error) {
	runs, err := listFileset(baseDir, dir, pattern, fast)
	if err == nil {
		err = checkMatchNames(dir, runs)
	}
	if err != nil {
		return nil, err
	}
	return runs, nil
}

// listFileset lists filesetRuns's matches, whatever their names.
func listFileset(baseDir, dir, pattern string, fast bool) ([]nameRun, error) {
	root := dir
	if !filepath.IsAbs(root) {
		root = filepath.Join(baseDir, root)
	}
	if !doublestar.ValidatePattern(pattern) {
		return nil, function.NewArgErrorf(1, "invalid glob pattern %q", pattern)
	}
	g, simple := parseSimpleGlob(pattern)
	if simple && fast && !g.deep && g.prefix == "" {
		// One directory (a module instance's fileset("${path.module}/x",
		// "*.png")): listing it shows it is one, without a stat first.
		// When it cannot be listed, the path below says why.
		if runs, err := listDirRuns(root, dirItem{rel: "."}, g.last); err == nil {
			return runs, nil
		}
	}
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		if err == nil {
			err = fmt.Errorf("%s is not a directory", dir)
		}
		return nil, function.NewArgError(0, err)
	}
	if simple && fast {
		return walkSimpleGlob(root, g), nil
	}
	matches, err := doublestar.Glob(newAcyclicFS(root), pattern, doublestar.WithFilesOnly())
	if err != nil {
		return nil, function.NewArgError(1, err)
	}
	slices.Sort(matches)
	return newNameRuns(matches), nil
}

// lengthFunc is Terraform's length: the number of elements of a collection
// or structural value (an object's attributes), or of characters (grapheme clusters) of a string.
var lengthFunc = function.New(&function.Spec{
	Params: []function.Parameter{{
		Name:             "value",
		Type:             cty.DynamicPseudoType,
		AllowDynamicType: true,
		AllowUnknown:     true,
		AllowMarked:      true,
	}},
	Type: function.StaticReturnType(cty.Number),
	RefineResult: func(b *cty.RefinementBuilder) *cty.RefinementBuilder {
		return b.NotNull()
	},
	Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
		v, marks := args[0].Unmark()
		switch {
		case v.Type() == cty.String:
			n, err := stdlib.Strlen(v)
			return n.WithMarks(marks), err
		case v.Type().IsObjectType():
			return cty.NumberIntVal(int64(len(v.Type().AttributeTypes()))).WithMarks(marks), nil
		}
		n, err := stdlib.Length(v)
		return n.WithMarks(marks), err
	},
})
