package main

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/wxmedia/wxmedia/uploader"
)

func cmdState(u *ui, _ globalOptions, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" {
		fmt.Fprintf(u.stderr, "Usage: wxmedia [global options] state list | show ADDR\n\n  list       list the resource instances in the state\n  show ADDR  show one resource instance\n")
		if len(args) == 0 {
			return exitError{1}
		}
		return nil
	}
	sub, rest := args[0], args[1:]
	fs := newFlags(u, "state "+sub, "state "+sub, "Inspect the state.")
	lockTimeout := fs.Duration("lock-timeout", 0, "how long to wait for the state lock")
	pos, err := parseFlags(fs, rest)
	if err != nil {
		return err
	}
	snap, _, done, err := readSnapshot(*lockTimeout)
	if err != nil {
		return err
	}
	defer done()
	switch sub {
	case "list":
		addrs := make([]string, 0, len(snap.Resources))
		for a := range snap.Resources {
			addrs = append(addrs, a)
		}
		sort.Strings(addrs)
		for _, a := range addrs {
			if len(pos) == 0 || matchesAny(a, pos) {
				u.printf("%s\n", a)
			}
		}
		return nil
	case "show":
		if len(pos) != 1 {
			return errors.New("state show needs exactly one resource instance address")
		}
		r, ok := snap.Resources[pos[0]]
		if !ok {
			return fmt.Errorf("no resource instance %s in the state\nwxmedia: hint: wxmedia state list shows the addresses", pos[0])
		}
		spec, _ := uploader.SpecFor(r.Type)
		u.printf("# %s:\nresource %q %q {\n", r.Address, r.Type, r.Name)
		rows := [][2]string{
			{"id", fmt.Sprintf("%q", r.ID)}, {spec.IDField, fmt.Sprintf("%q", r.ID)},
			{"merchant", fmt.Sprintf("%q", r.Merchant)}, {"mchid", fmt.Sprintf("%q", r.MchID)},
			{"service", fmt.Sprintf("%q", r.Service)}, {"api", fmt.Sprintf("%q", r.API)},
			{"source", fmt.Sprintf("%q", r.Source)}, {"filename", fmt.Sprintf("%q", r.Filename)},
			{"sha256", fmt.Sprintf("%q", r.SHA256)}, {"size", fmt.Sprintf("%d", r.Size)},
			{"uploaded_at", fmt.Sprintf("%q", r.UploadedAt.UTC().Format(time.RFC3339))},
		}
		for _, row := range rows {
			u.printf("    %-11s = %s\n", row[0], row[1])
		}
		u.printf("}\n")
		return nil
	}
	return fmt.Errorf("unknown state subcommand %q\nwxmedia: hint: state list, state show ADDR", sub)
}

func matchesAny(addr string, prefixes []string) bool {
	for _, p := range prefixes {
		if addr == p || strings.HasPrefix(addr, p+"[") || strings.HasPrefix(addr, p+".") {
			return true
		}
	}
	return false
}
