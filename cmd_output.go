package main

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/wxmedia/wxmedia/internal/arguments"
	"github.com/wxmedia/wxmedia/internal/words"
	"github.com/wxmedia/wxmedia/plan"
)

func runOutput(u *ui, a *arguments.Output) error {
	snap, err := readSnapshotClosed(u, a.LockTimeout)
	if err != nil {
		return err
	}
	decode := plan.DecodeOutput
	if a.Name != "" {
		name := a.Name
		o, ok := snap.Outputs[name]
		if !ok {
			return withHints(fmt.Errorf("output %q not found", name), "the outputs are recorded by apply; run wxmedia output to list them")
		}
		switch {
		case a.JSON:
			u.printf("%s\n", o.Value)
		case a.Raw:
			v, err := decode(o)
			if err != nil {
				return err
			}
			sv, ok := plan.RawValue(v)
			if !ok {
				return withHints(fmt.Errorf("output %q is %s; -raw prints only strings, numbers and bools", name, words.Article(v.Type().FriendlyName())), "use -json")
			}
			u.printf("%s", sv)
		default:
			v, err := decode(o)
			if err != nil {
				return err
			}
			// As in the listing: -json and -raw print a sensitive value.
			u.printf("%s\n", plan.FormatValue(v, o.Sensitive))
		}
		return nil
	}
	names := make([]string, 0, len(snap.Outputs))
	for n := range snap.Outputs {
		names = append(names, n)
	}
	sort.Strings(names)
	if a.JSON {
		doc := map[string]any{}
		for _, n := range names {
			o := snap.Outputs[n]
			doc[n] = map[string]any{"value": json.RawMessage(o.Value), "type": json.RawMessage(o.Type), "sensitive": o.Sensitive}
		}
		b, _ := json.MarshalIndent(doc, "", "  ")
		u.printf("%s\n", b)
		return nil
	}
	if len(names) == 0 {
		u.warnf("no outputs found: apply records the values of the configuration's output blocks")
		return nil
	}
	for _, n := range names {
		o := snap.Outputs[n]
		v, err := decode(o)
		if err != nil {
			return err
		}
		u.printf("%s = %s\n", plan.Visible(n), plan.FormatValue(v, o.Sensitive))
	}
	return nil
}
