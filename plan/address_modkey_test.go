package plan

import (
	"errors"
	"slices"
	"testing"
)

func TestMissingModuleKey(t *testing.T) {
	addrs := []string{
		`module.store["a"].wechatpay_image.logo`,
		`module.store["b"].wechatpay_image.logo`,
		`module.store["c"].wechatpay_image.logo`,
		`module.store["d"].wechatpay_image.logo`,
		`module.store["a"].wechatpay_image.imgs["x.png"]`,
		`module.store["b"].wechatpay_image.imgs["y.png"]`,
		`module.region[0].module.shop["s1"].wechatpay_image.logo`,
		`module.region[1].module.shop["s1"].wechatpay_image.logo`,
	}
	for _, tc := range []struct {
		given    string
		call     string
		examples []string
		more     int
	}{
		{"module.store.wechatpay_image.logo", "module.store", []string{`module.store["a"].wechatpay_image.logo`, `module.store["b"].wechatpay_image.logo`, `module.store["c"].wechatpay_image.logo`}, 1},
		{"module.store.wechatpay_image.imgs", "module.store", []string{`module.store["a"].wechatpay_image.imgs`, `module.store["b"].wechatpay_image.imgs`}, 0},
		{`module.store.wechatpay_image.imgs["y.png"]`, "module.store", []string{`module.store["b"].wechatpay_image.imgs["y.png"]`}, 0},
		{`module.region.module.shop["s1"].wechatpay_image.logo`, "module.region", []string{`module.region[0].module.shop["s1"].wechatpay_image.logo`, `module.region[1].module.shop["s1"].wechatpay_image.logo`}, 0},
		{`module.region[1].module.shop.wechatpay_image.logo`, `module.region[1].module.shop`, []string{`module.region[1].module.shop["s1"].wechatpay_image.logo`}, 0},
		{"module.store.wechatpay_image.nothing", "", nil, 0},
		{`module.store.wechatpay_image.imgs["z.png"]`, "", nil, 0},
		{`module.region[2].module.shop.wechatpay_image.logo`, "", nil, 0},
		{"module.other.wechatpay_image.logo", "", nil, 0},
		{"wechatpay_image.logo", "", nil, 0},
	} {
		a, err := ParseAddress(tc.given)
		if err != nil {
			t.Fatalf("%s: %v", tc.given, err)
		}
		e := missingModuleKey(a, addrs)
		if tc.call == "" {
			if e != nil {
				t.Errorf("%s: %v, want none", tc.given, e)
			}
			continue
		}
		if e == nil {
			t.Errorf("%s: no error, want %s needs an instance key", tc.given, tc.call)
			continue
		}
		if e.Call != tc.call || !slices.Equal(e.Examples, tc.examples) || e.More != tc.more {
			t.Errorf("%s: call %q examples %q more %d, want %q %q %d", tc.given, e.Call, e.Examples, e.More, tc.call, tc.examples, tc.more)
		}
		if !errors.Is(e, ErrUnknownAddress) {
			t.Errorf("%s: not ErrUnknownAddress", tc.given)
		}
	}
}
