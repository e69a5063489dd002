package main

import (
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// safeSources returns files with the control and format characters of
// their text (and invalid UTF-8) masked, for the source snippets of
// diagnostics: a configuration comes from outside (a pull request), and
// its bytes must not reach the terminal as escape sequences that could
// retitle the window or erase and forge lines. Each such character
// becomes as many bytes of '?' as it takes (a carriage return a space),
// so the diagnostics' byte ranges still point at the same text. The
// summary and detail are escaped separately (safeDiagnostic). Written by
// hand: HCL's diagnostic writer prints source lines as they are.
func safeSources(files map[string]*hcl.File) map[string]*hcl.File {
	var out map[string]*hcl.File
	for name, f := range files {
		if f == nil || !unsafeSource(f.Bytes) {
			continue
		}
		if out == nil {
			out = make(map[string]*hcl.File, len(files))
			for n, g := range files {
				out[n] = g
			}
		}
		c := *f
		c.Bytes = maskSource(f.Bytes)
		out[name] = &c
	}
	if out == nil {
		return files
	}
	return out
}

func unsafeSource(b []byte) bool {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if maskedRune(r, n) {
			return true
		}
		i += n
	}
	return false
}

func maskedRune(r rune, n int) bool {
	if r == utf8.RuneError && n == 1 {
		return true
	}
	return r != '\n' && r != '\t' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r))
}

func maskSource(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case r == '\r':
			out = append(out, ' ')
		case maskedRune(r, n):
			for range n {
				out = append(out, '?')
			}
		default:
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return out
}
