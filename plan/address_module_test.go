package plan

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Addresses with module paths parse into their parts and print back in
// the form Terraform writes them.
func TestParseModuleAddress(t *testing.T) {
	for in, want := range map[string]Address{
		`module.store.wechatpay_image.logo`:                                  {Module: `module.store`, Type: "wechatpay_image", Name: "logo"},
		`module.store["sh-001"].wechatpay_image.logo`:                        {Module: `module.store["sh-001"]`, Type: "wechatpay_image", Name: "logo"},
		`module.store["sh-001"].wechatpay_image.logo["a.png"]`:               {Module: `module.store["sh-001"]`, Type: "wechatpay_image", Name: "logo", Key: "a.png", HasKey: true},
		`module.store[0].wechatpay_image.logo`:                               {Module: `module.store[0]`, Type: "wechatpay_image", Name: "logo"},
		`module.a["x.y"].module.b[2].wechatpay_video.v["k"]`:                 {Module: `module.a["x.y"].module.b[2]`, Type: "wechatpay_video", Name: "v", Key: "k", HasKey: true},
		` module.a["$${x}"].wechatpay_image.i `:                              {Module: `module.a["$${x}"]`, Type: "wechatpay_image", Name: "i"},
		`module.store["sh-001"].module.brand.wechatpay_image.logo["图片.png"]`: {Module: `module.store["sh-001"].module.brand`, Type: "wechatpay_image", Name: "logo", Key: "图片.png", HasKey: true},
	} {
		a, err := ParseAddress(in)
		if err != nil || a != want {
			t.Errorf("%q: parsed as %+v, %v; want %+v", in, a, err, want)
			continue
		}
		if b, err := ParseAddress(a.String()); err != nil || b != a {
			t.Errorf("%q printed as %s, parsed back as %+v, %v", in, a.String(), b, err)
		}
	}
	if got := (Address{Module: `module.store["sh-001"]`, Type: "wechatpay_image", Name: "logo", Key: "a.png", HasKey: true}).String(); got != `module.store["sh-001"].wechatpay_image.logo["a.png"]` {
		t.Errorf("printed as %s", got)
	}
	for _, in := range []string{
		`module.store`, `module.store["x"]`, `module`, `module.`, `module["x"].wechatpay_image.a`,
		`module.store.x`, `module.store[-1].wechatpay_image.a`, `module.store[1.5].wechatpay_image.a`,
		`module.store["x"]["y"].wechatpay_image.a`, `module.store.wechatpay_image.a[0]`, `module.store.aws_s3.b`,
		`wechatpay_image.a.module.store`,
	} {
		if a, err := ParseAddress(in); !errors.Is(err, ErrInvalidAddress) {
			t.Errorf("%q: parsed as %+v, %v; want ErrInvalidAddress", in, a, err)
		}
	}
}

// ParseTarget takes a module (instance) alone as well.
func TestParseTargetModule(t *testing.T) {
	for in, want := range map[string]string{
		`module.store`:                      `module.store`,
		`module.store["sh-001"]`:            `module.store["sh-001"]`,
		`module.store[3]`:                   `module.store[3]`,
		`module.a["x"].module.b`:            `module.a["x"].module.b`,
		`wechatpay_image.a`:                 `wechatpay_image.a`,
		`module.a.wechatpay_image.b["k"]`:   `module.a.wechatpay_image.b["k"]`,
		"module.store[\"tab\\there\"]":      "module.store[\"tab\\there\"]",
		`module.store["quote\"d"].module.c`: `module.store["quote\"d"].module.c`,
	} {
		a, err := ParseTarget(in)
		if err != nil || a.String() != want {
			t.Errorf("%q: %q, %v; want %q", in, a.String(), err, want)
			continue
		}
		if b, err := ParseTarget(a.String()); err != nil || b != a {
			t.Errorf("%q printed as %s, parsed back as %+v, %v", in, a.String(), b, err)
		}
		if strings.HasPrefix(want, "module.") && !strings.Contains(want, "wechatpay_") && !a.IsModule() {
			t.Errorf("%q is not a module address: %+v", in, a)
		}
	}
	if _, err := ParseTarget("module"); !errors.Is(err, ErrInvalidAddress) {
		t.Errorf("module alone: %v", err)
	}
}

// A shell removes the quotes of keys unless the whole argument is quoted:
// module steps and the instance key get them back in the error, which
// says what was meant; a module's whole-number index is no key.
func TestUnquotedKeysInModuleSteps(t *testing.T) {
	for in, want := range map[string]struct{ key, addr string }{
		`module.store[sh-001].wechatpay_image.logo`:            {"sh-001", `module.store["sh-001"].wechatpay_image.logo`},
		`module.store[sh-001].wechatpay_image.logo[a.png]`:     {"sh-001", `module.store["sh-001"].wechatpay_image.logo["a.png"]`},
		`module.store["sh-001"].wechatpay_image.logo[a.png]`:   {"a.png", `module.store["sh-001"].wechatpay_image.logo["a.png"]`},
		`module.store[0].module.b[x].wechatpay_image.logo`:     {"x", `module.store[0].module.b["x"].wechatpay_image.logo`},
		`module.a[x.y].module.b[z].wechatpay_video.v`:          {"x.y", `module.a["x.y"].module.b["z"].wechatpay_video.v`},
		`wechatpay_image.imgs[x.png]`:                          {"x.png", `wechatpay_image.imgs["x.png"]`},
		`module.store["a\"]"].wechatpay_image.logo[$${x}.png]`: {"$${x}.png", `module.store["a\"]"].wechatpay_image.logo["$$${x}.png"]`},
	} {
		_, err := ParseAddress(in)
		var uq *UnquotedKeyError
		if !errors.As(err, &uq) || !errors.Is(err, ErrInvalidAddress) {
			t.Errorf("%q: %v; want an UnquotedKeyError", in, err)
			continue
		}
		if uq.Key != want.key || uq.Address.String() != want.addr {
			t.Errorf("%q: key %q, meant %s; want key %q, %s", in, uq.Key, uq.Address, want.key, want.addr)
		}
		if !strings.Contains(err.Error(), "the key "+want.key+" is not quoted") {
			t.Errorf("%q: message %q", in, err)
		}
	}
	// A module alone, for -target.
	_, err := ParseTarget(`module.store[sh-001]`)
	var uq *UnquotedKeyError
	if !errors.As(err, &uq) || uq.Address.String() != `module.store["sh-001"]` {
		t.Errorf("module.store[sh-001]: %v", err)
	}
	// Nothing to quote back: a plain syntax error, or an index where a
	// key belongs (which parses, so is not a key that lost its quotes).
	for _, in := range []string{`wechatpay_image.b[0]`, `module.s[x].wechatpay_image.b[0]`, `module.store[].wechatpay_image.a`, `module.store[a"b].wechatpay_image.a`, `module.store[x.wechatpay_image.a`} {
		_, err := ParseAddress(in)
		if !errors.Is(err, ErrInvalidAddress) || errors.As(err, &uq) {
			t.Errorf("%q: %v", in, err)
		}
	}
}

// What each kind of address selects, as -target, state list and state rm
// use it.
func TestAddressSelects(t *testing.T) {
	insts := []string{
		`wechatpay_image.logo`,
		`wechatpay_image.imgs["a.png"]`,
		`module.store.wechatpay_image.logo`,
		`module.storefront.wechatpay_image.logo`,
		`module.store["x"].wechatpay_image.logo`,
		`module.store["x"].wechatpay_image.imgs["a.png"]`,
		`module.store["x"].module.brand.wechatpay_image.logo`,
		`module.store["x.y"].wechatpay_image.logo`,
		`module.store["y"].wechatpay_image.logo`,
		`module.store[0].wechatpay_image.logo`,
		`module.other["x"].wechatpay_image.logo`,
	}
	for target, want := range map[string][]int{
		`module.store`:                                    {2, 4, 5, 6, 7, 8, 9},
		`module.store["x"]`:                               {4, 5, 6},
		`module.store["x"].module.brand`:                  {6},
		`module.store[0]`:                                 {9},
		`module.store["x"].wechatpay_image.imgs`:          {5},
		`module.store["x"].wechatpay_image.logo`:          {4},
		`module.store["x"].wechatpay_image.imgs["a.png"]`: {5},
		`wechatpay_image.imgs`:                            {1},
		`wechatpay_image.logo`:                            {0},
		`module.storefront`:                               {3},
	} {
		a, err := ParseTarget(target)
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		var got []int
		for i, inst := range insts {
			if a.Selects(inst) {
				got = append(got, i)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s selects %v, want %v", target, got, want)
		}
	}
}

// -target takes module addresses and checks that they select something;
// -replace refuses them.
func TestParseAddressesModules(t *testing.T) {
	known := map[string]bool{
		`wechatpay_image.logo`:                   true,
		`module.store["x"].wechatpay_image.logo`: true,
		`module.store["y"].wechatpay_image.logo`: true,
	}
	set, err := parseAddresses("target", "the configuration", []string{`module.store["x"]`}, known, nil, true)
	if err != nil || !set.has(`module.store["x"].wechatpay_image.logo`) || set.has(`module.store["y"].wechatpay_image.logo`) || set.has(`wechatpay_image.logo`) {
		t.Fatalf("module.store[\"x\"]: %v %+v", err, set)
	}
	_, err = parseAddresses("target", "the configuration", []string{`module.store["z"]`}, known, nil, true)
	if !errors.Is(err, ErrUnknownModule) || !strings.Contains(err.Error(), `known: module.store["x"], module.store["y"]`) {
		t.Errorf("module.store[\"z\"]: %v", err)
	}
	// A call no instance has (a misspelt name): the calls there are.
	for _, bad := range []string{`module.shop`, `module.shop["x"]`} {
		_, err = parseAddresses("target", "the configuration", []string{bad}, known, nil, true)
		if !errors.Is(err, ErrUnknownModule) || !strings.HasSuffix(err.Error(), `(known: module.store)`) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	_, err = parseAddresses("target", "the configuration", []string{`module.store[z].wechatpay_image.logo`}, known, nil, true)
	if err == nil || !strings.Contains(err.Error(), `-target='module.store["z"].wechatpay_image.logo'`) {
		t.Errorf("unquoted: %v", err)
	}
	_, err = parseAddresses("target", "the configuration", []string{`module.store["z"].wechatpay_image.logo["a"]`}, known, nil, true)
	if !errors.Is(err, ErrUnknownAddress) {
		t.Errorf("unknown instance: %v", err)
	}
	_, err = parseAddresses("replace", "the configuration", []string{`module.store["x"]`}, known, nil, false)
	if !errors.Is(err, ErrInvalidAddress) || !strings.Contains(err.Error(), "not a module") {
		t.Errorf("-replace module: %v", err)
	}
	set, err = parseAddresses("replace", "the configuration", []string{`module.store["y"].wechatpay_image.logo`}, known, nil, false)
	if err != nil || !set.has(`module.store["y"].wechatpay_image.logo`) || set.has(`module.store["x"].wechatpay_image.logo`) {
		t.Errorf("-replace instance: %v", err)
	}
}

// Reports from Terraform's tracker, as cases: a count index and a string
// key that reads the same are different instances (terraform#30706:
// module.m[0] is not module.m["0"]); a key with spaces and dots moves as
// one key (tfmigrate#5); a module target takes its nested modules
// (terraform#5870) and not the other instances of its call
// (terraform#29116).
func TestModuleAddressReports(t *testing.T) {
	idx, err := ParseTarget(`module.m[0]`)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ParseTarget(`module.m["0"]`)
	if err != nil {
		t.Fatal(err)
	}
	if idx == key || idx.Selects(`module.m["0"].wechatpay_image.a`) || key.Selects(`module.m[0].wechatpay_image.a`) {
		t.Errorf("index and key confused: %+v %+v", idx, key)
	}
	got, err := movesOf(t, `module.s["a b.c"]`, `module.s["d e.f"]`, `module.s["a b.c"].wechatpay_image.x["k l.png"]`, `module.s["a b"].wechatpay_image.x`)
	if err != nil || fmt.Sprint(got) != `[module.s["a b.c"].wechatpay_image.x["k l.png"] -> module.s["d e.f"].wechatpay_image.x["k l.png"]]` {
		t.Errorf("keys with spaces and dots: %v, %v", got, err)
	}
	foo, _ := ParseTarget(`module.foo["baz"]`)
	if !foo.Selects(`module.foo["baz"].module.inner.wechatpay_image.a`) || foo.Selects(`module.foo["bar"].wechatpay_image.a`) {
		t.Error("module.foo[\"baz\"] selects the wrong instances")
	}
}
