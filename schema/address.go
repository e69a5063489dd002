package schema

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// InstanceAddress is the address of the instance of the resource at addr
// with key k: addr[QuoteKey(k)], in one allocation when k needs no escape.
func InstanceAddress(addr, k string) string {
	if quotesAsIs(k) {
		return addr + `["` + k + `"]`
	}
	return addr + "[" + QuoteKey(k) + "]"
}

// instanceAddressIn is InstanceAddress(addr, k) made in a, with the key
// as the address holds it (between its quotes) when it needs no escape,
// or else copied to a: both strings are then a's.
func instanceAddressIn(a *byteArena, addr, k string) (address, key string) {
	if quotesAsIs(k) {
		address = a.concat(addr, `["`, k, `"]`)
		return address, address[len(addr)+2 : len(address)-2]
	}
	return a.concat(addr, "[", QuoteKey(k), "]"), a.concat(k)
}

// quotesAsIs reports whether QuoteKey quotes k without escaping anything.
func quotesAsIs(k string) bool {
	return plainKey(k) && !strings.Contains(k, "${") && !strings.Contains(k, "%{")
}

// QuoteKey quotes an instance key as an HCL string literal, the form
// addresses such as wechatpay_image.banner["a.png"] use: what it returns
// parses back to the same key (plan.ParseAddress, -target, state mv).
// Unlike Go's quoting it never writes \x escapes, which HCL does not
// read, and it escapes the template sequences ${ and %{.
//
// Written by hand rather than with hclwrite: the quoted key is part of the
// address that keys the state, so its form must never change, and
// hclwrite escapes every character unicode.IsPrint refuses (a no-break
// or ideographic space in a file name, say) where QuoteKey keeps it.
func QuoteKey(k string) string {
	if quotesAsIs(k) {
		return `"` + k + `"`
	}
	var b strings.Builder
	b.Grow(len(k) + 8)
	b.WriteByte('"')
	for i := 0; i < len(k); {
		r, size := utf8.DecodeRuneInString(k[i:])
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '"':
			b.WriteString(`\"`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case (r == '$' || r == '%') && i+1 < len(k) && k[i+1] == '{':
			b.WriteRune(r)
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			// Printable text, and U+FFFD for bytes that are not UTF-8.
			b.WriteRune(r)
		}
		i += size
	}
	b.WriteByte('"')
	return b.String()
}
