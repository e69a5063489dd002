// Package suggest finds the option nearest to a mistyped name, for the
// "did you mean" of every message that names an unknown command, flag,
// subcommand, variable, resource or merchant.
package suggest

import (
	"sort"
	"strings"

	"github.com/agext/levenshtein"
)

// maxDistance is the largest edit distance still taken for a typo.
const maxDistance = 2

// Nearest returns the option closest to name: the one within an edit
// distance of 2 (the first in sorted order on a tie), or else the only
// option that name is a prefix of (of two characters or more); "" when
// none is close.
func Nearest(name string, options []string) string {
	sorted := append([]string(nil), options...)
	sort.Strings(sorted)
	best, bestD := "", maxDistance+1
	for _, o := range sorted {
		if o == name {
			continue
		}
		if d := levenshtein.Distance(name, o, nil); d < bestD {
			best, bestD = o, d
		}
	}
	if best != "" || len(name) < 2 {
		return best
	}
	var prefixed []string
	for _, o := range sorted {
		if o != name && strings.HasPrefix(o, name) {
			prefixed = append(prefixed, o)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0]
	}
	return ""
}
