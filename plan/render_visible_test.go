package plan

import (
	"bytes"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestVisible(t *testing.T) {
	for in, want := range map[string]string{
		"logo.png":                 "logo.png",
		"café 横幅.png":              "café 横幅.png",
		"\x1b[2Kx":                 `\x1b[2Kx`,
		"a\rb\nc\td":               `a\rb\nc\td`,
		"\x1b]0;t\x07":             `\x1b]0;t\a`,
		"gpj.\u202eexe":            `gpj.\u202eexe`,
		"\u200b\ufeff":             `\u200b\ufeff`,
		"\x7f\u0085\u009b":         `\x7f\u0085\u009b`,
		"bad\xff":                  `bad\xff`,
		"ok \ufffd replacement":    "ok \ufffd replacement",
		`back\slash "quotes" stay`: `back\slash "quotes" stay`,
	} {
		if got := Visible(in); got != want {
			t.Errorf("Visible(%q) = %q, want %q", in, got, want)
		}
	}
	if got := VisibleLines("a\x1b\nb\tc\r"); got != "a\\x1b\nb\tc\\r" {
		t.Errorf("VisibleLines = %q", got)
	}
}

// The human and Markdown plan views show sources, addresses, identifiers
// and output values from outside with their control and format characters
// escaped.
func TestRenderEscapes(t *testing.T) {
	evil := "x\x1b[2K\r\u202e\u009b"
	p := &Plan{
		full: []*ResourceChange{
			{Addr: `wechatpay_image.a["` + evil + `"]`, Action: Upload, After: &Object{Source: "media/" + evil, SHA256: "ab", Size: 1}},
			{Addr: "wechatpay_image.b", Action: Reuse, After: &Object{Source: evil, ID: "id-" + evil}},
			{Addr: "wechatpay_image.c", Action: Reuse, ReuseOf: evil, After: &Object{Source: evil}},
			{Addr: "wechatpay_image.d", Action: Forget, Before: &Object{Source: evil}},
		},
		Outputs: []OutputChange{{Name: "o", Action: "create", After: []byte(`{"k":"` + "\u202e\u009b\x7f" + `"}`), AfterUnknown: []byte("false")}},
		Summary: Summary{Upload: 1, Reuse: 2, Forget: 1},
		Targets: []string{evil},
	}
	var b bytes.Buffer
	Render(&b, p, NewStyles(false))
	md := &bytes.Buffer{}
	if err := RenderMarkdown(md, p); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"human": b.String(), "markdown": md.String()} {
		if i := strings.IndexFunc(out, func(r rune) bool {
			return (unicode.IsControl(r) && r != '\n') || unicode.Is(unicode.Cf, r)
		}); i >= 0 {
			t.Errorf("%s view holds a raw control or format character at %d:\n%q", name, i, out)
		}
		if !strings.Contains(out, `media/x\x1b[2K\r\u202e\u009b`) {
			t.Errorf("%s view lacks the escaped source:\n%s", name, out)
		}
	}
}

// Whatever the input, Visible leaves no control or format character and
// no invalid UTF-8, keeps printable text as it is, and changes nothing
// it already made safe.
func FuzzVisible(f *testing.F) {
	for _, s := range []string{"logo.png", "\x1b[2K\r", "gpj.\u202eexe", "bad\xff\xfe", "横幅\u200b.png", "\x9b\u009b\x7f", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := Visible(s)
		if !utf8.ValidString(v) {
			t.Fatalf("Visible(%q) = %q is not UTF-8", s, v)
		}
		for _, r := range v {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("Visible(%q) = %q holds %U", s, v, r)
			}
		}
		if Visible(v) != v {
			t.Fatalf("Visible is not stable on %q", v)
		}
		safe := utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) })
		if safe && v != s {
			t.Fatalf("Visible(%q) = %q changed safe text", s, v)
		}
		if l := VisibleLines(s); strings.Count(l, "\n") != strings.Count(s, "\n") {
			t.Fatalf("VisibleLines(%q) = %q lost or added newlines", s, l)
		}
	})
}
