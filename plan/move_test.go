package plan

import (
	"errors"
	"fmt"
	"testing"

	"github.com/wxmedia/wxmedia/state"
)

func movesOf(t *testing.T, src, dst string, have ...string) ([]string, error) {
	t.Helper()
	resources := map[string]state.Resource{}
	for _, addr := range have {
		a, err := ParseAddress(addr)
		if err != nil {
			t.Fatal(err)
		}
		resources[addr] = state.Resource{Address: addr, Type: a.Type, Name: a.Name, Key: a.Key, ID: "id-" + addr}
	}
	s, err := ParseTarget(src)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseTarget(dst)
	if err != nil {
		t.Fatal(err)
	}
	moves, err := Moves(s, d, resources)
	var out []string
	for _, m := range moves {
		if m.To.ID != resources[m.From].ID {
			t.Errorf("%s moved without its identifier", m.From)
		}
		b, err := ParseAddress(m.To.Address)
		if err != nil || b.Type != m.To.Type || b.Name != m.To.Name || b.Key != m.To.Key {
			t.Errorf("%s moved to %+v: fields disagree with the address (%v)", m.From, m.To, err)
		}
		out = append(out, m.From+" -> "+m.To.Address)
	}
	return out, err
}

func TestMoves(t *testing.T) {
	have := []string{
		`wechatpay_image.logo`,
		`wechatpay_image.imgs["a.png"]`,
		`wechatpay_image.imgs["b.png"]`,
		`module.store["x"].wechatpay_image.logo`,
		`module.store["x"].wechatpay_image.imgs["a.png"]`,
		`module.store["x"].module.brand.wechatpay_image.logo`,
		`module.store["x.y"].wechatpay_image.logo`,
		`module.other.wechatpay_image.logo`,
	}
	for _, tc := range []struct {
		src, dst string
		want     string
	}{
		// A module instance to another one, with what it calls.
		{`module.store["x"]`, `module.store["z"]`, `[module.store["x"].module.brand.wechatpay_image.logo -> module.store["z"].module.brand.wechatpay_image.logo module.store["x"].wechatpay_image.imgs["a.png"] -> module.store["z"].wechatpay_image.imgs["a.png"] module.store["x"].wechatpay_image.logo -> module.store["z"].wechatpay_image.logo]`},
		// Every instance of a call, keys kept.
		{`module.store`, `module.shop`, `[module.store["x"].module.brand.wechatpay_image.logo -> module.shop["x"].module.brand.wechatpay_image.logo module.store["x"].wechatpay_image.imgs["a.png"] -> module.shop["x"].wechatpay_image.imgs["a.png"] module.store["x"].wechatpay_image.logo -> module.shop["x"].wechatpay_image.logo module.store["x.y"].wechatpay_image.logo -> module.shop["x.y"].wechatpay_image.logo]`},
		// A module without for_each into an instance of one with it.
		{`module.other`, `module.store["o"]`, `[module.other.wechatpay_image.logo -> module.store["o"].wechatpay_image.logo]`},
		// Flat resources into a module and out of one.
		{`wechatpay_image.logo`, `module.store["n"].wechatpay_image.logo`, `[wechatpay_image.logo -> module.store["n"].wechatpay_image.logo]`},
		{`wechatpay_image.imgs`, `module.store["n"].wechatpay_image.pics`, `[wechatpay_image.imgs["a.png"] -> module.store["n"].wechatpay_image.pics["a.png"] wechatpay_image.imgs["b.png"] -> module.store["n"].wechatpay_image.pics["b.png"]]`},
		{`wechatpay_image.imgs["b.png"]`, `module.store["x"].wechatpay_image.imgs["b.png"]`, `[wechatpay_image.imgs["b.png"] -> module.store["x"].wechatpay_image.imgs["b.png"]]`},
		{`module.store["x.y"].wechatpay_image.logo`, `wechatpay_image.xy_logo`, `[module.store["x.y"].wechatpay_image.logo -> wechatpay_image.xy_logo]`},
	} {
		got, err := movesOf(t, tc.src, tc.dst, have...)
		if err != nil || fmt.Sprint(got) != tc.want {
			t.Errorf("mv %s %s:\n got %v, %v\nwant %s", tc.src, tc.dst, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		src, dst string
		want     error
	}{
		{`module.store["x"]`, `module.store["x.y"]`, state.ErrExists},                       // destination taken
		{`wechatpay_image.logo`, `module.store["x"].wechatpay_image.logo`, state.ErrExists}, // destination taken
		{`module.store["x"]`, `module.store["x"].module.x`, ErrMoveDestination},
		{`module.other`, `module.store`, state.ErrExists}, // some instance of the call is there
		{`module.store["nope"]`, `module.store["z"]`, ErrMoveSource},
		{`module.nope`, `module.z`, ErrMoveSource},
		{`wechatpay_image.nope`, `wechatpay_image.z`, ErrMoveSource},
		{`module.store["x"]`, `wechatpay_image.z`, ErrMoveDestination},
		{`wechatpay_image.logo`, `module.z`, ErrMoveDestination},
		{`wechatpay_image.logo`, `module.z.wechatpay_video.logo`, ErrMoveDestination},
		{`module.store["x"]`, `module.store["x"].module.inner`, ErrMoveDestination},
		{`module.store`, `module.store["n"]`, ErrMoveDestination},
		{`module.store`, `module.shop["n"]`, ErrMoveDestination}, // keys would stack
		{`wechatpay_image.imgs`, `wechatpay_image.pics["k"]`, ErrMoveDestination},
		{`module.other`, `module.other`, ErrMoveDestination},
	} {
		got, err := movesOf(t, tc.src, tc.dst, have...)
		if !errors.Is(err, tc.want) || got != nil {
			t.Errorf("mv %s %s: %v, %v; want %v and nothing moved", tc.src, tc.dst, got, err, tc.want)
		}
	}
}

// Adding count or for_each to a module, or taking it away, as Terraform
// users do it: state mv module.a 'module.a[0]' and back. A call whose
// instances already have keys still cannot take one more.
func TestMovesAddOrDropModuleKey(t *testing.T) {
	for _, tc := range []struct {
		src, dst string
		have     []string
		want     string
	}{
		{`module.one`, `module.one[0]`, []string{`module.one.wechatpay_image.logo`, `module.one.module.inner.wechatpay_image.x`, `wechatpay_image.root`},
			`[module.one.module.inner.wechatpay_image.x -> module.one[0].module.inner.wechatpay_image.x module.one.wechatpay_image.logo -> module.one[0].wechatpay_image.logo]`},
		{`module.one`, `module.one["sh-001"]`, []string{`module.one.wechatpay_image.logo`},
			`[module.one.wechatpay_image.logo -> module.one["sh-001"].wechatpay_image.logo]`},
		{`module.one[0]`, `module.one`, []string{`module.one[0].wechatpay_image.logo`},
			`[module.one[0].wechatpay_image.logo -> module.one.wechatpay_image.logo]`},
		{`module.a["x"].module.b`, `module.a["x"].module.b[0]`, []string{`module.a["x"].module.b.wechatpay_image.logo`, `module.a["y"].module.b.wechatpay_image.logo`},
			`[module.a["x"].module.b.wechatpay_image.logo -> module.a["x"].module.b[0].wechatpay_image.logo]`},
	} {
		got, err := movesOf(t, tc.src, tc.dst, tc.have...)
		if err != nil || fmt.Sprint(got) != tc.want {
			t.Errorf("mv %s %s:\n got %v, %v\nwant %s", tc.src, tc.dst, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		src, dst string
		have     []string
		want     error
	}{
		// Another instance is where the keyless one would go.
		{`module.one[0]`, `module.one`, []string{`module.one[0].wechatpay_image.logo`, `module.one[1].wechatpay_image.logo`}, state.ErrExists},
		{`module.one`, `module.one[0]`, []string{`module.one.wechatpay_image.logo`, `module.one[0].wechatpay_image.logo`}, ErrMoveDestination},
		// Deeper than one key is still into itself.
		{`module.one`, `module.one[0].module.x`, []string{`module.one.wechatpay_image.logo`}, ErrMoveDestination},
	} {
		got, err := movesOf(t, tc.src, tc.dst, tc.have...)
		if !errors.Is(err, tc.want) || got != nil {
			t.Errorf("mv %s %s: %v, %v; want %v and nothing moved", tc.src, tc.dst, got, err, tc.want)
		}
	}
}
