package schema

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// checkMatchNames refuses a fileset whose matches would not each be one
// for_each key of their own: a name that is not valid UTF-8 (a cty string
// replaces its invalid bytes by U+FFFD, so c\xfe.png and c\xff.png would
// be one key, naming a file that does not exist), or two names that
// differ only in their Unicode normalisation (a cty string is NFC, so
// ü.png precomposed and decomposed would be one key). Terraform's
// fileset merges them silently; here the user is told to rename the
// file instead, as losing one of the files is never what was meant. dir
// is the fileset's path argument, as the names are shown under it.
func checkMatchNames(dir string, runs []nameRun) error {
	nonNFC := false
	for _, r := range runs {
		for i := range r.len() {
			m := r.at(i)
			if !utf8.ValidString(m) {
				return function.NewArgErrorf(0, "the file %s has a name that is not valid UTF-8; rename it (for_each keys, addresses and the state hold text)", strconv.Quote(joinShown(dir, m)))
			}
			if !nonNFC && !isASCII(m) && cty.NormalizeString(m) != m {
				nonNFC = true
			}
		}
	}
	if !nonNFC {
		return nil // every name is its own NFC form: all distinct
	}
	seen := make(map[string]string)
	for _, r := range runs {
		for i := range r.len() {
			m := r.at(i)
			k := cty.NormalizeString(m)
			if other, dup := seen[k]; dup {
				a, b := other, m
				if b < a {
					a, b = b, a
				}
				return function.NewArgErrorf(0, "the files %s and %s have names that differ only in their Unicode normalisation, so they would be one for_each key %s; rename one of them", strconv.QuoteToASCII(joinShown(dir, a)), strconv.QuoteToASCII(joinShown(dir, b)), strconv.QuoteToASCII(k))
			}
			seen[k] = m
		}
	}
	return nil
}

// joinShown is name under dir, as the user wrote dir.
func joinShown(dir, name string) string {
	if dir == "" || dir == "." {
		return name
	}
	if dir[len(dir)-1] == '/' {
		return dir + name
	}
	return fmt.Sprintf("%s/%s", dir, name)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// checkDistinctAddrs refuses an evaluation in which two instances have one
// address (for_each keys that a conversion made one, however they came
// about): the plan and the state keep one record an address, so one of
// the two files would be lost. The instances are refused before anything
// is planned, naming both sources.
func (ev *Evaluation) checkDistinctAddrs() hcl.Diagnostics {
	if len(ev.Instances) < 2 || strictlyIncreasing(ev.Instances) {
		return nil
	}
	seen := make(map[string]*Instance, len(ev.Instances))
	var diags hcl.Diagnostics
	for _, in := range ev.Instances {
		other, dup := seen[in.Addr]
		if !dup {
			seen[in.Addr] = in
			continue
		}
		var subject *hcl.Range
		if in.Resource != nil {
			subject = in.Resource.DeclRange.Ptr()
			if in.Resource.ForEach != nil {
				subject = in.Resource.ForEach.Range().Ptr()
			}
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Duplicate instance address",
			Detail: fmt.Sprintf("The instances of sources %s and %s both have the address %s: their for_each keys became one, and one of the files would be lost. Make the keys distinct (rename one of the files).",
				strconv.Quote(other.Source), strconv.Quote(in.Source), strconv.Quote(in.Addr)),
			Subject: subject,
		})
	}
	return diags
}

// strictlyIncreasing reports whether the instances' addresses are in
// strictly increasing order, and so all distinct: a fileset's instances
// usually are (its keys are sorted), which spares checkDistinctAddrs a map
// of every address on a large plan's path.
func strictlyIncreasing(ins []*Instance) bool {
	for i := 1; i < len(ins); i++ {
		if ins[i-1].Addr >= ins[i].Addr {
			return false
		}
	}
	return true
}

// shownName is a file name (or a message naming one) for the detail of a
// diagnostic, whose newlines the diagnostic writer keeps: its control
// characters are Go escapes, so that a name cannot start a line of its
// own. The rest, escaped for the terminal there, stays as it is.
func shownName(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			q := strconv.Quote(s)
			return q[1 : len(q)-1]
		}
	}
	return s
}
