package uploader

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// ErrBadIdentifier is matched (errors.Is) by every *IdentifierError.
var ErrBadIdentifier = errors.New("identifier refused")

// IdentifierError is a verified reply whose identifier breaks its page's
// rules: outside the length bounds of the reply table, not printable text,
// or (image_url) not a URL. Nothing is recorded and the upload is not
// retried: the server may have accepted it.
type IdentifierError struct {
	API    API
	Field  string // the reply field, e.g. "media_id"
	Reason string // what is wrong, e.g. "1000000 characters, the page allows 1 to 512"
	Quoted string // the identifier's beginning, quoted and escaped for a terminal
}

func (e *IdentifierError) Error() string {
	return fmt.Sprintf("%s %s refused: %s", e.Field, e.Quoted, e.Reason)
}

// Is makes errors.Is(err, ErrBadIdentifier) and errors.Is(err, ErrBadReply)
// hold for an *IdentifierError.
func (e *IdentifierError) Is(target error) bool {
	return target == ErrBadIdentifier || target == ErrBadReply
}

// CheckIdentifier checks an identifier against spec's rules: length in
// characters within [IDMin, IDMax], valid UTF-8 of printable characters
// (U+0020 is the only space allowed), and for IDIsURL an absolute http(s) URL. It returns an
// *IdentifierError, or nil.
func CheckIdentifier(spec Spec, id string) error {
	bad := func(format string, args ...any) error {
		return &IdentifierError{API: spec.API, Field: spec.IDField, Reason: fmt.Sprintf(format, args...), Quoted: quoteShort(id)}
	}
	if !utf8.ValidString(id) {
		return bad("not valid UTF-8")
	}
	n := utf8.RuneCountInString(id)
	lo, hi := max(spec.IDMin, 1), spec.IDMax
	if n < lo || hi > 0 && n > hi {
		return bad("%d characters, the API's page allows %d to %d", n, lo, hi)
	}
	for i, r := range id {
		if !unicode.IsPrint(r) {
			return bad("character %d is %U, not printable text", utf8.RuneCountInString(id[:i])+1, r)
		}
	}
	if spec.IDIsURL {
		u, err := url.Parse(id)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return bad("not an absolute http(s) URL")
		}
	}
	return nil
}

// quoteShort quotes the first 64 characters of s, Go-escaped so that no
// control character reaches a terminal.
func quoteShort(s string) string {
	const keep = 64
	if utf8.RuneCountInString(s) <= keep {
		return strconv.QuoteToGraphic(s)
	}
	i, n := 0, 0
	for i = range s {
		if n == keep {
			break
		}
		n++
	}
	return strconv.QuoteToGraphic(s[:i]) + "…"
}
