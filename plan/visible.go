package plan

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Visible makes text from outside (file names, addresses, identifiers,
// server messages) safe for a terminal: its control characters (C0 and C1,
// among them ESC, which starts ANSI and OSC sequences, CR and newlines),
// its Unicode format characters (bidirectional overrides, zero-width
// characters) and invalid UTF-8 are shown as Go escapes, as %q shows them;
// the rest, non-ASCII text included, stays as it is. The standard library
// has no such function: strconv.Quote adds quotes and escapes backslashes,
// and QuoteToASCII escapes all non-ASCII text.
func Visible(s string) string { return visible(s, false) }

// VisibleLines is Visible keeping newlines and tabs, for multi-line text.
func VisibleLines(s string) string { return visible(s, true) }

func visible(s string, keepNL bool) string {
	if !needsEscape(s, keepNL) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				fmt.Fprintf(&b, `\x%02x`, s[i])
				continue
			}
			b.WriteRune(r)
		case keepNL && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case escaped(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func escaped(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }

func needsEscape(s string, keepNL bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80:
			// Non-ASCII: decide rune by rune from here.
			for j, r := range s[i:] {
				if r == utf8.RuneError {
					if _, n := utf8.DecodeRuneInString(s[i+j:]); n == 1 {
						return true
					}
				}
				if escaped(r) && !(keepNL && (r == '\n' || r == '\t')) {
					return true
				}
			}
			return false
		case c < 0x20 || c == 0x7f:
			if !(keepNL && (c == '\n' || c == '\t')) {
				return true
			}
		}
	}
	return false
}
