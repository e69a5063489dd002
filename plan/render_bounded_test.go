package plan

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// One very long instance key (a for_each over a JSON file's keys) must not
// pad every other line of the human plan to its width: the plan of 2,000
// changes and one key of 100,000 characters stays about the size of its
// addresses, not 2,000 times the longest.
func TestRenderLongAddressBounded(t *testing.T) {
	long := `module.store["` + strings.Repeat("k", 100000) + `"].wechatpay_image.logo`
	p := &Plan{full: []*ResourceChange{{Addr: long, Action: Upload, After: &Object{Source: "logo.png", SHA256: "ab", Size: 1}}}}
	for i := range 2000 {
		p.full = append(p.full, &ResourceChange{Addr: fmt.Sprintf(`module.store["%d"].wechatpay_image.logo`, i), Action: Upload, After: &Object{Source: "logo.png", SHA256: "ab", Size: 1}})
	}
	p.Summary.Upload = len(p.full)
	var b bytes.Buffer
	Render(&b, p, NewStyles(false))
	// 100,000 for the long address, then at most 200 bytes per line.
	if limit := 100000 + 200*len(p.full); b.Len() > limit {
		t.Fatalf("the plan is %d bytes, want at most %d", b.Len(), limit)
	}
	// Short addresses are still aligned with each other.
	lines := strings.Split(b.String(), "\n")
	var at []int
	for _, l := range lines {
		if strings.Contains(l, `+ module.store["1`) {
			at = append(at, strings.Index(l, "upload logo.png"))
		}
	}
	for _, i := range at {
		if i != at[0] {
			t.Fatalf("short addresses not aligned: columns %v", at[:10])
		}
	}
}

// Likewise the keys of a map in an output value.
func TestFormatValueLongKeyBounded(t *testing.T) {
	m := map[string]cty.Value{strings.Repeat("k", 100000): cty.StringVal("x")}
	for i := range 2000 {
		m[fmt.Sprint("key", i)] = cty.StringVal("x")
	}
	out := FormatValue(cty.MapVal(m), false)
	if limit := 100000 + 100*len(m); len(out) > limit {
		t.Fatalf("the value is %d bytes, want at most %d", len(out), limit)
	}
}
