package state

import (
	"fmt"
	"sort"
	"strings"
)

// SelectCache returns the entries f selects whose SHA-256 starts with one
// of prefixes (in any case; every entry f selects when prefixes is
// empty), in their order: what state cache list shows.
func SelectCache(entries []CacheEntry, f CacheFilter, prefixes []string) []CacheEntry {
	var out []CacheEntry
	for _, e := range entries {
		if f.Match(e.CacheKey) && (len(prefixes) == 0 || hasPrefixAny(e.SHA256, prefixes)) {
			out = append(out, e)
		}
	}
	return out
}

func hasPrefixAny(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, strings.ToLower(p)) {
			return true
		}
	}
	return false
}

// DigestPrefixError is a SHA-256 prefix that names no cache entry's
// digest (Digests empty), or several (Digests, sorted).
type DigestPrefixError struct {
	Prefix  string
	Digests []string
}

func (e *DigestPrefixError) Error() string {
	if len(e.Digests) == 0 {
		return fmt.Sprintf("no cache entry has a SHA-256 starting with %s; nothing was removed", e.Prefix)
	}
	return fmt.Sprintf("%s is the prefix of %d SHA-256 digests (%s); nothing was removed", e.Prefix, len(e.Digests), strings.Join(e.Digests, ", "))
}

// ExpandDigests turns SHA-256 prefixes into the full digests of the
// entries f selects, as SelectCache matches them, in lower case and in
// the order given. A prefix that matches no digest, or several, is a
// *DigestPrefixError; a whole digest that matches none stands as it is
// (it removes nothing).
func ExpandDigests(entries []CacheEntry, f CacheFilter, prefixes []string) ([]string, error) {
	var out []string
	for _, p := range prefixes {
		p = strings.ToLower(p)
		seen := map[string]bool{}
		var digests []string
		for _, e := range SelectCache(entries, f, []string{p}) {
			if !seen[e.SHA256] {
				seen[e.SHA256] = true
				digests = append(digests, e.SHA256)
			}
		}
		switch {
		case len(digests) == 0 && len(p) == 64:
			out = append(out, p)
		case len(digests) != 1:
			sort.Strings(digests)
			return nil, &DigestPrefixError{Prefix: p, Digests: digests}
		default:
			out = append(out, digests[0])
		}
	}
	return out, nil
}

// RemoveCacheDigests removes the cache entries f selects, only those of
// the given whole digests when there are any, and returns how many it
// removed. Use ExpandDigests first for prefixes.
func RemoveCacheDigests(st Surgery, f CacheFilter, digests []string) (int, error) {
	if len(digests) == 0 {
		return st.RemoveCache(f)
	}
	removed := 0
	for _, d := range digests {
		g := f
		g.SHA256 = strings.ToLower(d)
		n, err := st.RemoveCache(g)
		if err != nil {
			return removed, err
		}
		removed += n
	}
	return removed, nil
}
