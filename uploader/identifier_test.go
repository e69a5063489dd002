package uploader

import (
	"errors"
	"strings"
	"testing"
)

// The bounds are those of each page's reply table: media_id string[1,512]
// (001, 004), file_id string[16,64] (002), image_url string(256) (003),
// v2 media_id string[1,256] (000).
func TestCheckIdentifier(t *testing.T) {
	spec := func(rt string) Spec {
		s, ok := SpecFor(rt)
		if !ok {
			t.Fatalf("no spec %s", rt)
		}
		return s
	}
	for _, tt := range []struct {
		rt, id string
		ok     bool
	}{
		{"wechatpay_image", "6uqyGjvHzOhsLleGFQVRF", true},
		{"wechatpay_image", strings.Repeat("a", 512), true},
		{"wechatpay_image", strings.Repeat("a", 513), false},
		{"wechatpay_image", strings.Repeat("a", 1_000_000), false},
		{"wechatpay_image", "", false},
		{"wechatpay_image", "abc\x1b[31mdef", false},
		{"wechatpay_image", "abc\ndef", false},
		{"wechatpay_image", "abc\u200bdef", false}, // zero-width space: not printable
		{"wechatpay_image", "abc\xffdef", false},
		{"wechatpay_image", "9UYfXi- WMUhgWXvJtEw4", true}, // the page's own example has a space
		{"wechatpay_video", strings.Repeat("媒", 512), true},
		{"wechatpay_video", strings.Repeat("媒", 513), false},
		{"wechatpay_global_file", "b6a17e2a-1dc4-4376-8630-e73d06490c0d", true},
		{"wechatpay_global_file", "short", false},
		{"wechatpay_global_file", strings.Repeat("f", 65), false},
		{"wechatpay_coupon_image", "https://qpic.cn/xxx", true},
		{"wechatpay_coupon_image", "qpic.cn/xxx", false},
		{"wechatpay_coupon_image", "https://qpic.cn/" + strings.Repeat("x", 241), false},
		{"wechatpay_v2_image", strings.Repeat("m", 256), true},
		{"wechatpay_v2_image", strings.Repeat("m", 257), false},
	} {
		err := CheckIdentifier(spec(tt.rt), tt.id)
		if (err == nil) != tt.ok {
			t.Errorf("%s %.40q: %v, want ok=%v", tt.rt, tt.id, err, tt.ok)
		}
		if err != nil {
			var ie *IdentifierError
			if !errors.As(err, &ie) || !errors.Is(err, ErrBadIdentifier) || !errors.Is(err, ErrBadReply) || IsRetryable(err) {
				t.Errorf("%v: want a final *IdentifierError", err)
			}
			if strings.ContainsAny(err.Error(), "\x1b\n") || len(err.Error()) > 400 {
				t.Errorf("message not escaped or not bounded: %q", err.Error())
			}
		}
	}
}
