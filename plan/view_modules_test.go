package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wxmedia/wxmedia/state"
)

// modulePlan is a plan whose changes are in the root module and in module
// instances, sorted by address as Make sorts them.
func modulePlan() *Plan {
	p := samplePlan()
	base := *p.full[0]
	var changes []*ResourceChange
	for _, addr := range []string{
		`module.store["sh-002"].wechatpay_image.logo`,
		`module.store["sh-010"].module.brand.wechatpay_image.logo`,
		`module.store["sh-010"].wechatpay_image.logo`,
		`module.store["sh-001"].wechatpay_image.imgs["a.b"]`,
		`module.store["sh-001"].wechatpay_image.logo`,
		`module.store[10].wechatpay_image.logo`,
		`module.store[9].wechatpay_image.logo`,
		`module.store.wechatpay_image.logo`,
		`module.a["x\"].y"].wechatpay_image.logo`,
		`wechatpay_image.banner`,
	} {
		c := base
		c.Addr = addr
		changes = append(changes, &c)
	}
	slices.SortFunc(changes, func(a, b *ResourceChange) int { return strings.Compare(a.Addr, b.Addr) })
	p.full = append(changes, p.full...)
	p.Summary.Reupload += len(changes)
	return p
}

// The module instances in the order every view lists them.
var moduleOrder = []string{
	"",
	`module.a["x\"].y"]`,
	`module.store`,
	`module.store[9]`,
	`module.store[10]`,
	`module.store["sh-001"]`,
	`module.store["sh-002"]`,
	`module.store["sh-010"]`,
	`module.store["sh-010"].module.brand`,
}

func TestModuleOf(t *testing.T) {
	for addr, want := range map[string]string{
		`wechatpay_image.logo`:                                   "",
		`wechatpay_image.imgs["module.x.y"]`:                     "",
		`module.store.wechatpay_image.logo`:                      `module.store`,
		`module.store["a.b"].wechatpay_image.imgs["c.d"]`:        `module.store["a.b"]`,
		`module.store["a\".b"].module.c[0].wechatpay_image.imgs`: `module.store["a\".b"].module.c[0]`,
		`module.wechatpay_image.wechatpay_image.logo["x\\"]`:     `module.wechatpay_image`,
	} {
		if got := ModuleOf(addr); got != want {
			t.Errorf("ModuleOf(%s) = %q, want %q", addr, got, want)
		}
		if a, err := ParseAddress(addr); err != nil || a.Module != ModuleOf(addr) {
			t.Errorf("%s: ParseAddress gives module %q (%v), ModuleOf %q", addr, a.Module, err, ModuleOf(addr))
		}
	}
	shuffled := slices.Clone(moduleOrder)
	slices.Reverse(shuffled)
	slices.SortFunc(shuffled, CompareModules)
	if fmt.Sprint(shuffled) != fmt.Sprint(moduleOrder) {
		t.Errorf("sorted as %q", shuffled)
	}
}

// modulesIn returns the module instances in the order the changes of
// lines (addresses found by re) appear, each once.
func modulesIn(t *testing.T, text string, re *regexp.Regexp) []string {
	t.Helper()
	var out []string
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		mod := ModuleOf(m[1])
		if len(out) == 0 || out[len(out)-1] != mod {
			if slices.Contains(out, mod) {
				t.Errorf("module %q listed in two places:\n%s", mod, text)
			}
			out = append(out, mod)
		}
	}
	return out
}

var humanLine = regexp.MustCompile(`(?m)^  [~-] ((?:module|wechatpay_)\S+)`)

// Every view groups the changes by module instance: the root module's
// first, then the module instances in address order (indexes by number).
func TestViewsGroupByModule(t *testing.T) {
	p := modulePlan()
	var human bytes.Buffer
	Render(&human, p, NewStyles(false))
	if got := modulesIn(t, human.String(), humanLine); fmt.Sprint(got) != fmt.Sprint(moduleOrder) {
		t.Errorf("human view lists modules %q\n%s", got, human.String())
	}
	// Each module instance's changes stand under its heading.
	for _, m := range moduleOrder[1:] {
		if !strings.Contains(human.String(), "  # "+m+"\n  ~ "+m+".") {
			t.Errorf("no heading for %s:\n%s", m, human.String())
		}
	}
	if strings.Contains(human.String(), "# \n") {
		t.Errorf("a heading for the root module:\n%s", human.String())
	}

	var js bytes.Buffer
	if err := RenderJSON(&js, p); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ResourceChanges []struct {
			Address       string  `json:"address"`
			ModuleAddress *string `json:"module_address"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, c := range doc.ResourceChanges {
		m := ""
		if c.ModuleAddress != nil {
			m = *c.ModuleAddress
			if m == "" || !strings.HasPrefix(c.Address, m+".") {
				t.Errorf("%s has module_address %q", c.Address, m)
			}
		} else if strings.HasPrefix(c.Address, "module.") {
			t.Errorf("%s has no module_address", c.Address)
		}
		if len(order) == 0 || order[len(order)-1] != m {
			order = append(order, m)
		}
	}
	if fmt.Sprint(order) != fmt.Sprint(moduleOrder) || len(doc.ResourceChanges) != len(p.full) {
		t.Errorf("JSON view lists modules %q, %d changes of %d", order, len(doc.ResourceChanges), len(p.full))
	}

	md := markdown(p, MarkdownLimit)
	if got := modulesIn(t, md, regexp.MustCompile(`(?m)^[~-] ((?:module|wechatpay_)\S+)`)); fmt.Sprint(got) != fmt.Sprint(moduleOrder) {
		t.Errorf("markdown lists modules %q\n%s", got, md)
	}
	if !strings.Contains(md, fmt.Sprintf("Show %d resource changes", len(p.full))) || !strings.Contains(md, "\n# module.store[9]\n~ module.store[9].") {
		t.Errorf("markdown counts or headings:\n%s", md)
	}
	// Cut short, the view counts changes, not headings.
	short := markdown(p, 1800)
	m := regexp.MustCompile(`\*\*Truncated:\*\* (\d+) of (\d+) changes`).FindStringSubmatch(short)
	shown := len(regexp.MustCompile(`(?m)^[~+-] `).FindAllString(short, -1))
	if m == nil || m[2] != fmt.Sprint(len(p.full)+len(p.Outputs)) || m[1] != fmt.Sprint(len(p.full)+len(p.Outputs)-shown) {
		t.Errorf("truncated view says %v with %d changes shown:\n%s", m, shown, short)
	}
}

// A plan with no module keeps its order and its look: no heading.
func TestViewsWithoutModules(t *testing.T) {
	p := samplePlan()
	var human bytes.Buffer
	Render(&human, p, NewStyles(false))
	if strings.Contains(human.String(), "  # ") || strings.Contains(markdown(p, MarkdownLimit), "\n# ") {
		t.Errorf("heading without modules:\n%s", human.String())
	}
	var got []*ResourceChange
	p.eachInModuleOrder(true, func(c *ResourceChange) bool { got = append(got, c); return true })
	if !slices.Equal(got, p.full) {
		t.Error("the changes were reordered or copied")
	}
}

// state list and state rm list the state's instances in the views' order:
// the root module's first, indexes by number.
func TestAddressesInModuleOrder(t *testing.T) {
	snap := &state.Snapshot{Resources: map[string]state.Resource{}}
	want := []string{
		`wechatpay_image.a`,
		`wechatpay_image.b["x"]`,
		`module.store[9].wechatpay_image.a`,
		`module.store[10].wechatpay_image.a`,
		`module.store["a"].wechatpay_image.a`,
		`module.store["a"].module.brand.wechatpay_image.a`,
	}
	for _, a := range want {
		snap.Resources[a] = state.Resource{Address: a}
	}
	if got := Addresses(snap, nil); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("listed as %q", got)
	}
}
