package plan

import (
	"errors"
	"strings"
	"testing"
)

// Quotes escaped with backslashes, as PowerShell users pass them and as
// Terraform's issue #23702 and its state show documentation fix show:
// the error names the address meant.
func TestParseAddressEscapedQuotes(t *testing.T) {
	for in, want := range map[string]string{
		`module.store[\"a\"].wechatpay_image.logo`: `module.store["a"].wechatpay_image.logo`,
		`wechatpay_image.imgs[\"b.png\"]`:          `wechatpay_image.imgs["b.png"]`,
		`module.store[\"x y\"]`:                    `module.store["x y"]`,
	} {
		_, err := ParseTarget(in)
		var uq *UnquotedKeyError
		if !errors.As(err, &uq) || !uq.Escaped || uq.Address.String() != want || !errors.Is(err, ErrInvalidAddress) {
			t.Errorf("ParseTarget(%s) = %v, want an escaped-quotes error for %s", in, err, want)
			continue
		}
		if !strings.Contains(uq.Cause(), "backslashes") {
			t.Errorf("%s: cause %q", in, uq.Cause())
		}
	}
	// A key that holds a quote itself is still the key it was.
	a, err := ParseAddress(`wechatpay_image.imgs["a\"b"]`)
	if err != nil || a.Key != `a"b` {
		t.Errorf(`wechatpay_image.imgs["a\"b"] = %+v, %v`, a, err)
	}
}
