package plan

import "testing"

// Instance keys of every kind print as addresses that parse back to the
// same key: control characters, quotes, backslashes, template sequences,
// non-ASCII text.
func TestAddressKeysRoundTrip(t *testing.T) {
	for _, k := range []string{"a.png", "\x00", "tab\there", "line\nbreak", `back\slash`, `"quoted"`, "${x}.png", "%{if}.png", "$$", "café.png", "图片.png", "\x7f", "\u0085", "{}$%"} {
		a := Address{Type: "wechatpay_image", Name: "img", Key: k, HasKey: true}
		b, err := ParseAddress(a.String())
		if err != nil || b != a {
			t.Errorf("key %q printed as %s, parsed back as %+v, %v", k, a.String(), b, err)
		}
	}
	if got := (Address{Type: "wechatpay_image", Name: "img", Key: "a.png", HasKey: true}).String(); got != `wechatpay_image.img["a.png"]` {
		t.Errorf("plain key printed as %s", got)
	}
}
