package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wxmedia/wxmedia/uploader/sandbox"
)

func cmdSandbox(u *ui, _ globalOptions, args []string) error {
	fs := newFlags(u, "sandbox")
	listen := fs.String("listen", "127.0.0.1:8787", "address to listen on")
	dir := fs.String("dir", ".wxmedia-sandbox", "directory for the sandbox's keys, CA and database")
	faults := fs.String("faults", "", "inject faults and limits, e.g. 500=0.2,429=0.1,reset=0.05,badsig=0.02,delay=50ms,rps=20,quota=100,sign=certificate")
	mchids := fs.String("mchid", defaultSandboxMchID, "merchant IDs to register, comma-separated; the first gets merchant.wxm.hcl, each other merchant-MCHID.wxm.hcl with a block named sandbox_MCHID")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := noArguments("sandbox", pos); err != nil {
		return err
	}
	var f sandbox.Faults
	if *faults != "" {
		var err error
		if f, err = sandbox.ParseFaults(*faults); err != nil {
			return fmt.Errorf("-faults: %w", err)
		}
	}
	// Nothing of the user's is overwritten: the merchant block is checked
	// before the sandbox writes anything.
	if err := sandbox.CheckMerchantConfig(filepath.Join(*dir, "merchant.wxm.hcl")); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	sb, err := sandbox.Open(*dir)
	if err != nil {
		return err
	}
	defer sb.Close()
	sb.SetFaults(f)
	var ids []string
	for _, id := range strings.Split(*mchids, ",") {
		if id = strings.TrimSpace(id); id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return errors.New("-mchid: want at least one merchant ID")
	}
	for _, id := range ids {
		if _, err := sb.RegisterMerchant(id); err != nil {
			return fmt.Errorf("-mchid %s: %w", id, err)
		}
	}
	srv, err := sb.Start(*listen)
	if err != nil {
		return err
	}
	// An interrupt from now on stops the server cleanly, even one that
	// comes as soon as the merchant block appears.
	ctx, cancel := contextWithInterrupt()
	defer cancel()
	hclPath := filepath.Join(sb.Dir(), "merchant.wxm.hcl")
	if err := sb.WriteMerchantConfig(hclPath, srv.URL(), ids[0]); err != nil {
		return errors.Join(err, srv.Close())
	}
	for _, id := range ids[1:] {
		p := filepath.Join(sb.Dir(), "merchant-"+id+".wxm.hcl")
		if err := sb.WriteMerchantBlock(p, srv.URL(), id, "sandbox_"+id); err != nil {
			return errors.Join(err, srv.Close())
		}
	}
	u.infof("sandbox %s listening on %s (merchant %s)", sb.ID(), srv.URL(), strings.Join(ids, ", "))
	u.infof("merchant block written to %s", hclPath)
	if f != (sandbox.Faults{}) {
		u.infof("injecting %s", f)
	}
	u.printf("%s\n", srv.URL())
	select {
	case <-ctx.Done():
	case <-waitServer(srv):
	}
	if err := srv.Close(); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	u.infof("sandbox stopped")
	return nil
}

// waitServer is closed when the server stops serving on its own.
func waitServer(srv *sandbox.Server) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		_ = srv.Wait()
		close(ch)
	}()
	return ch
}
