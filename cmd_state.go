package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/wxmedia/wxmedia/internal/arguments"
	"github.com/wxmedia/wxmedia/internal/words"
	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/state"
	"github.com/wxmedia/wxmedia/uploader"
)

// runState runs a subcommand of state: its table entry is "state SUB".
func runState(u *ui, args []string) error {
	state, _ := lookupCommand("state")
	if len(args) == 0 {
		printHelp(u.stderr, state)
		return exitError{1}
	}
	if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		printHelp(u.stdout, state)
		return nil
	}
	sub, rest := args[0], args[1:]
	if sub == "cache" {
		if len(rest) > 0 && (rest[0] == "-h" || rest[0] == "-help" || rest[0] == "--help") {
			stateCacheUsage(u.stdout)
			return nil
		}
		if len(rest) == 0 {
			return withHints(errors.New("state cache needs a subcommand: list or rm"), "wxmedia help state cache list, wxmedia help state cache rm")
		}
		if rest[0] == "ls" {
			rest[0] = "list"
		}
		c, ok := lookupCommand("state cache " + rest[0])
		if !ok {
			return withHints(fmt.Errorf("unknown state cache subcommand %q", rest[0]), "the subcommands are state cache list and state cache rm")
		}
		return runCommand(u, c, rest[1:])
	}
	if c, ok := lookupCommand("state " + sub); ok {
		return runCommand(u, c, rest)
	}
	return withHints(fmt.Errorf("unknown state subcommand %q%s", sub, suggestFrom(sub, []string{"list", "show", "rm", "mv", "pull", "push", "cache"})), "wxmedia state -help lists the subcommands")
}

// stateCacheUsage is the help of state cache: the usage of its two
// subcommands, and where their flags are.
func stateCacheUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: wxmedia [global options] state cache SUBCOMMAND [options] [args]\n\n")
	fmt.Fprintf(w, "  The content cache: the identifier issued for each content, per service, merchant and API.\n  Subcommands:\n\n")
	for _, name := range []string{"state cache list", "state cache rm"} {
		if c, ok := lookupCommand(name); ok {
			fmt.Fprintf(w, "    %s\n", strings.TrimPrefix(c.usage, "state cache "))
		}
	}
	fmt.Fprintf(w, "\n  wxmedia help state cache list, or state cache rm, shows each one's flags.\n")
}

// openStateForWrite opens the state for a state-changing command, taking its
// lock; see state.OpenExisting.
func openStateForWrite(u *ui, lockTimeout time.Duration, command string) (state.Backend, error) {
	b, err := configuredBackend(u)
	if err != nil {
		return nil, err
	}
	return state.OpenExisting(b.settings(), b.options(lockTimeout, command))
}

// openStateForSurgery opens the state for a command that changes its
// resources, taking its lock, and reads it. The caller closes the state.
func openStateForSurgery(u *ui, lockTimeout time.Duration, command string) (state.Backend, *state.Snapshot, error) {
	st, err := openStateForWrite(u, lockTimeout, command)
	if err != nil {
		return nil, nil, err
	}
	snap, err := st.Snapshot()
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, snap, nil
}

// readState calls fn with the configured state, opened read-only, when
// there is something to read; see state.OpenToRead.
func readState(u *ui, lockTimeout time.Duration, command string, withSharedCache bool, fn func(state.Reader) error) error {
	b, err := configuredBackend(u)
	if err != nil {
		return err
	}
	st, err := state.OpenToRead(b.settings(), b.options(lockTimeout, command), withSharedCache)
	if err != nil || st == nil {
		return err
	}
	defer st.Close()
	return fn(st)
}

func runStateList(u *ui, args *arguments.StateList) error {
	snap, err := readSnapshotClosed(u, args.LockTimeout)
	if err != nil {
		return err
	}
	sel, err := plan.ParseTargets(args.Addrs)
	if err != nil {
		return addressHint(err)
	}
	for _, a := range plan.Addresses(snap, sel) {
		u.printf("%s\n", plan.Visible(a))
	}
	return nil
}

func runStateShow(u *ui, args *arguments.StateShow) error {
	snap, err := readSnapshotClosed(u, args.LockTimeout)
	if err != nil {
		return err
	}
	r, err := plan.FindInstance(snap, args.Addr)
	if errors.Is(err, plan.ErrInvalidAddress) && !errors.As(err, new(*plan.InstanceNotFoundError)) {
		return withHints(err, "wxmedia state list shows the addresses")
	} else if err != nil {
		return err
	}
	spec, _ := uploader.SpecFor(r.Type)
	u.printf("# %s:\nresource %q %q {\n", plan.Visible(r.Address), r.Type, r.Name)
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

func runStateRm(u *ui, args *arguments.StateRm) error {
	sel, err := plan.ParseTargets(args.Addrs)
	if err != nil {
		return addressHint(err)
	}
	st, snap, err := openStateForSurgery(u, args.LockTimeout, "state rm")
	if err != nil {
		return err
	}
	defer st.Close()
	doomed, err := plan.Removals(snap, args.Addrs, sel)
	if err != nil {
		return err
	}
	if err := st.RemoveResources(doomed...); err != nil {
		return err
	}
	for _, a := range doomed {
		u.printf("Removed %s\n", plan.Visible(a))
	}
	u.printf("Successfully removed %s.\n", words.Count(len(doomed), "resource instance"))
	return st.Close()
}

func runStateMv(u *ui, args *arguments.StateMv) error {
	src, err := plan.ParseTarget(args.Src)
	if err != nil {
		return addressHint(err)
	}
	dst, err := plan.ParseTarget(args.Dst)
	if err != nil {
		return addressHint(err)
	}
	st, snap, err := openStateForSurgery(u, args.LockTimeout, "state mv")
	if err != nil {
		return err
	}
	defer st.Close()
	moves, err := plan.Moves(src, dst, snap.Resources)
	switch {
	case errors.Is(err, plan.ErrMoveSource):
		return withHints(err, "wxmedia state list shows the addresses")
	case errors.Is(err, state.ErrExists):
		return withHints(err, "wxmedia state rm the destination first to replace it")
	case err != nil:
		return err
	}
	batch := make([]state.Move, len(moves))
	for i, m := range moves {
		batch[i] = state.Move{From: m.From, To: m.To}
	}
	// One write transaction for the whole resource or module: nothing
	// moves unless everything does.
	if err := st.MoveResources(batch); err != nil {
		var me *state.MoveError
		if errors.Is(err, state.ErrExists) && errors.As(err, &me) {
			return withHints(err, fmt.Sprintf("wxmedia state rm %s first to replace it", plan.Visible(shellQuote(me.To))))
		}
		return err
	}
	for _, m := range moves {
		u.printf("Move %q to %q\n", m.From, m.To.Address)
	}
	u.printf("Successfully moved %s.\n", words.Count(len(moves), "resource instance"))
	return st.Close()
}

func runStatePull(u *ui, args *arguments.StatePull) error {
	var err error
	doc := &state.Export{FormatVersion: state.ExportFormatVersion, Resources: []state.Resource{}, Outputs: map[string]state.Output{}, Cache: []state.CacheEntry{}}
	err = readState(u, args.LockTimeout, "state pull", false, func(st state.Reader) error {
		doc, err = st.Export()
		return err
	})
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(state.NewDocument(doc), "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	u.printf("%s\n", b)
	return nil
}

func runStatePush(u *ui, args *arguments.StatePush) error {
	doc, err := plan.ReadStateDocument(args.Path, u.stdin, time.Now())
	if err != nil {
		return err
	}
	st, err := openState(u, false, args.LockTimeout, "state push")
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Push(doc, args.Force); err != nil {
		if errors.Is(err, state.ErrLineage) || errors.Is(err, state.ErrSerialBehind) {
			return withHints(err, "state pull the current state to compare; -force overwrites it")
		}
		return err
	}
	after, err := st.Export()
	if err != nil {
		return err
	}
	u.printf("Pushed %s, %s and %s; the state is now at serial %d.\n",
		words.Count(len(doc.Resources), "resource instance"), words.Count(len(doc.Outputs), "output"), words.Count(len(doc.Cache), "cache entry"), after.Serial)
	return st.Close()
}

// cacheFilter is the state's filter for the selector flags.
func cacheFilter(f arguments.CacheFilter) state.CacheFilter {
	return state.CacheFilter{MchID: f.MchID, API: f.API, Service: f.Service}
}

func runStateCacheList(u *ui, args *arguments.StateCacheList) error {
	var err error
	entries := []state.CacheEntry{}
	err = readState(u, args.LockTimeout, "state cache list", true, func(st state.Reader) error {
		entries, err = st.ListCache()
		return err
	})
	if err != nil {
		return err
	}
	sel := state.SelectCache(entries, cacheFilter(args.Filter), args.Digests)
	if args.JSON {
		b, _ := json.MarshalIndent(state.CacheDocument(sel), "", "  ")
		u.printf("%s\n", b)
		return nil
	}
	if len(sel) == 0 {
		u.warnf("no cache entries")
		return nil
	}
	for _, e := range sel {
		u.printf("%s\n", plan.Visible(fmt.Sprintf("%s  %s  %s  %s  %s  %s  %s", e.SHA256, e.Service, e.MchID, e.API, e.ID, e.Filename, plan.FormatBytes(e.Size))))
	}
	return nil
}

func runStateCacheRm(u *ui, args *arguments.StateCacheRm) error {
	base := cacheFilter(args.Filter)
	st, err := openStateForWrite(u, args.LockTimeout, "state cache rm")
	if err != nil {
		return err
	}
	defer st.Close()
	var digests []string
	if len(args.Digests) > 0 {
		entries, err := st.ListCache()
		if err != nil {
			return err
		}
		if digests, err = state.ExpandDigests(entries, base, args.Digests); err != nil {
			return err
		}
	}
	removed, err := state.RemoveCacheDigests(st, base, digests)
	if err != nil {
		return err
	}
	u.printf("Removed %s.\n", words.Count(removed, "cache entry"))
	return st.Close()
}

// addressHint adds to an address error the quoting a shell needs when it
// removed the quotes of an instance key.
func addressHint(err error) error {
	var uq *plan.UnquotedKeyError
	if errors.As(err, &uq) {
		return withHints(err, fmt.Sprintf("%s, %s", uq.Cause(), plan.Visible(shellQuote(uq.Address.String()))))
	}
	return err
}
