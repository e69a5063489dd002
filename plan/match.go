package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"unicode"
)

// Match checks that fresh, planned again from the same configuration and
// state, is the same plan as p, field for field: every field of every
// resource change and output change, and the summary. A file whose bytes
// changed is reported as ErrFileChanged, any other difference as
// ErrPlanChanged naming the instance and the field (as the plan file
// names it). On success the source paths of fresh are copied into p;
// callers should apply fresh, which is p as reviewed.
func (p *Plan) Match(fresh *Plan) error {
	if err := p.checkSignatures(fresh); err != nil {
		return err
	}
	byAddr := make(map[string]*ResourceChange, fresh.NumChanges())
	for c := range fresh.Changes() {
		byAddr[c.Addr] = c
	}
	var files, others []string
	seen := make(map[string]bool, p.NumChanges())
	for c := range p.Changes() {
		if seen[c.Addr] {
			others = append(others, fmt.Sprintf("%q is planned twice", c.Addr))
			continue
		}
		seen[c.Addr] = true
		f, ok := byAddr[c.Addr]
		delete(byAddr, c.Addr)
		if !ok {
			others = append(others, fmt.Sprintf("%q is no longer planned", c.Addr))
			continue
		}
		if c.After != nil && f.After != nil && c.After.Source == f.After.Source && (c.After.SHA256 != f.After.SHA256 || c.After.Size != f.After.Size) {
			files = append(files, fmt.Sprintf("%s (%s): planned sha256 %s, now %s", Visible(c.After.Source), Visible(c.Addr), short(c.After.SHA256), short(f.After.SHA256)))
			continue
		}
		if why := fieldDiff(c, f); why != "" {
			others = append(others, fmt.Sprintf("%q: %s", c.Addr, why))
			continue
		}
		c.Path = f.Path
	}
	for addr := range byAddr {
		others = append(others, fmt.Sprintf("%q is newly planned", addr))
	}
	if len(files) > 0 {
		return fmt.Errorf("%w: %s; plan again", ErrFileChanged, listSome(files))
	}
	outs := make(map[string]OutputChange, len(fresh.Outputs))
	for _, o := range fresh.Outputs {
		outs[o.Name] = o
	}
	for _, o := range p.Outputs {
		f, ok := outs[o.Name]
		delete(outs, o.Name)
		switch {
		case !ok:
			others = append(others, fmt.Sprintf("output %q is no longer planned", o.Name))
		case f.Sensitive:
			// A plan file holds no sensitive value: compare the rest.
			f.After, f.AfterUnknown = o.After, o.AfterUnknown
			fallthrough
		default:
			if why := fieldDiff(o, f); why != "" {
				others = append(others, fmt.Sprintf("output %q: %s", o.Name, why))
			}
		}
	}
	for name := range outs {
		others = append(others, fmt.Sprintf("output %q is newly planned", name))
	}
	if why := fieldDiff(p.Summary, fresh.Summary); why != "" {
		others = append(others, "summary: "+why)
	}
	if len(others) > 0 {
		return fmt.Errorf("%w: %s; plan again", ErrPlanChanged, listSome(others))
	}
	return nil
}

// fieldDiff compares a saved plan's part with the same part planned
// again, as the plan file writes them, and names the first field that
// differs; "" when none does.
func fieldDiff(saved, fresh any) string {
	var a, b any
	if err := roundTrip(saved, &a); err != nil {
		return err.Error()
	}
	if err := roundTrip(fresh, &b); err != nil {
		return err.Error()
	}
	path, x, y := firstDiff("", a, b)
	if path == "" && x == nil && y == nil {
		return ""
	}
	if path == "" {
		path = "value"
	}
	return fmt.Sprintf("field %s differs from planning it again: the plan file says %s, the configuration and state give %s", path, shortJSON(x), shortJSON(y))
}

func roundTrip(v any, out *any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(out)
}

// firstDiff returns the path (dot-separated JSON names, sorted) of the
// first place where a and b differ, with the values there; all empty when
// they are equal. A field absent on one side is compared as null.
func firstDiff(path string, a, b any) (string, any, any) {
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			break
		}
		keys := make([]string, 0, len(x)+len(y))
		for k := range x {
			keys = append(keys, k)
		}
		for k := range y {
			if _, ok := x[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p, u, v := firstDiff(join(k), x[k], y[k]); p != "" || u != nil || v != nil {
				return p, u, v
			}
		}
		return "", nil, nil
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			break
		}
		for i := range x {
			if p, u, v := firstDiff(join(fmt.Sprint(i)), x[i], y[i]); p != "" || u != nil || v != nil {
				return p, u, v
			}
		}
		return "", nil, nil
	}
	if reflect.DeepEqual(a, b) {
		return "", nil, nil
	}
	if a == nil {
		a = json.RawMessage("null")
	}
	if b == nil {
		b = json.RawMessage("null")
	}
	return path, a, b
}

// shortJSON shows v as JSON, cut short, with every character that is not
// printable (a control or format character) escaped, for a terminal.
func shortJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	var out strings.Builder
	for i, r := range string(b) {
		if i >= 80 {
			out.WriteString("…")
			break
		}
		if unicode.IsPrint(r) {
			out.WriteRune(r)
		} else {
			fmt.Fprintf(&out, "\\u%04x", r)
		}
	}
	return out.String()
}
