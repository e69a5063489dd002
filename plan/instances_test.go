package plan

import (
	"errors"
	"strings"
	"testing"

	"github.com/wxmedia/wxmedia/state"
)

func instancesSnapshot(addrs ...string) *state.Snapshot {
	snap := &state.Snapshot{Resources: map[string]state.Resource{}}
	for _, s := range addrs {
		a, err := ParseAddress(s)
		if err != nil {
			panic(err)
		}
		snap.Resources[a.String()] = state.Resource{Address: a.String(), Type: a.Type, Name: a.Name, Key: a.Key, ID: "id-" + a.Key}
	}
	return snap
}

func TestAddressesMatchResourceAndInstances(t *testing.T) {
	snap := instancesSnapshot(`wechatpay_image.b["y"]`, `wechatpay_image.b["x"]`, `wechatpay_image.bb`, `wechatpay_video.b`)
	sel, err := ParseTargets([]string{"wechatpay_image.b"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(Addresses(snap, sel), " "); got != `wechatpay_image.b["x"] wechatpay_image.b["y"]` {
		t.Errorf("instances of wechatpay_image.b: %s", got)
	}
	if got := len(Addresses(snap, nil)); got != 4 {
		t.Errorf("every address: %d", got)
	}
}

// A miss carries the resource meant and its instances; a key whose quotes
// the shell removed says so; an escaped key is found as state list shows it.
func TestFindInstance(t *testing.T) {
	snap := instancesSnapshot(`wechatpay_image.b["x"]`, `wechatpay_image.b["y"]`, "wechatpay_image.b[\"\u202e\"]")
	if r, err := FindInstance(snap, `wechatpay_image.b["\u202e"]`); err != nil || r.Key != "\u202e" {
		t.Errorf("escaped key: %v, %+v", err, r)
	}
	_, err := FindInstance(snap, `wechatpay_image.b["z"]`)
	var nf *InstanceNotFoundError
	if !errors.As(err, &nf) || nf.Resource != "wechatpay_image.b" || len(nf.Instances) != 3 || nf.Unquoted != nil {
		t.Errorf("miss: %v %+v", err, nf)
	}
	_, err = FindInstance(snap, `wechatpay_image.b[z]`)
	if !errors.As(err, &nf) || nf.Unquoted == nil || !errors.Is(err, ErrInvalidAddress) {
		t.Errorf("unquoted key: %v", err)
	}
	if _, err := FindInstance(snap, `not an address`); !errors.Is(err, ErrInvalidAddress) || errors.As(err, &nf) {
		t.Errorf("bad address: %v", err)
	}
}

func TestRemovals(t *testing.T) {
	snap := instancesSnapshot(`wechatpay_image.b["y"]`, `wechatpay_image.b["x"]`, `wechatpay_image.c`)
	given := []string{"wechatpay_image.c", "wechatpay_image.b", `wechatpay_image.b["x"]`}
	sel, err := ParseTargets(given)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Removals(snap, given, sel)
	if err != nil || strings.Join(got, " ") != `wechatpay_image.c wechatpay_image.b["x"] wechatpay_image.b["y"]` {
		t.Errorf("Removals = %v, %v", got, err)
	}
	var nm *NoMatchError
	given = []string{"wechatpay_image.c", "wechatpay_image.d"}
	sel, _ = ParseTargets(given)
	if _, err := Removals(snap, given, sel); !errors.As(err, &nm) || nm.Address != "wechatpay_image.d" {
		t.Errorf("no match: %v", err)
	}
}
