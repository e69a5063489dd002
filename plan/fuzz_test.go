package plan

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzReadFile feeds arbitrary bytes to the plan-file decoder: it must
// refuse or decode without panicking, and whatever it decodes must encode
// and decode again to the same changes.
func FuzzReadFile(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"format_version":1}`))
	f.Add([]byte(`{"format_version":1,"wxmedia_version":"0.1.0","lineage":"x","serial":3,"resource_changes":[{"address":"wechatpay_image.a","action":"upload","after":{"source":"a.png","sha256":"00","size":1}}]}`))
	f.Add([]byte("not json"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ReadFile(bytes.NewReader(b))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteFile(&buf, p); err != nil {
			return // a decoded plan may still hold values the writer refuses
		}
		q, err := ReadFile(&buf)
		if err != nil {
			t.Fatalf("re-reading a written plan: %v", err)
		}
		if q.NumChanges() != p.NumChanges() {
			t.Fatalf("round trip changed %d changes into %d", p.NumChanges(), q.NumChanges())
		}
	})
}

// FuzzParseAddress checks that address parsing never panics and that what
// it accepts prints back to something it accepts again.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{`wechatpay_image.a`, `wechatpay_image.a["b.png"]`, `x`, `a.b[`, `a.b["\u00e9"]`,
		`module.s["x"].wechatpay_image.a`, `module.s[0].module.t.wechatpay_image.a["k"]`, `module.s`, `module.s[x].wechatpay_image.a[y]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseTarget(s)
		if err != nil {
			return
		}
		b, err := ParseTarget(a.String())
		if err != nil || b != a {
			t.Fatalf("%q parsed as %+v, printed %q, reparsed %+v, %v", s, a, a.String(), b, err)
		}
		if strings.TrimSpace(a.String()) == "" {
			t.Fatal("empty address accepted")
		}
	})
}
