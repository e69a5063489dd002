package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/wxmedia/wxmedia/internal/arguments"
	"github.com/wxmedia/wxmedia/internal/interrupt"
	"github.com/wxmedia/wxmedia/uploader/sandbox"
)

func runSandbox(u *ui, a *arguments.Sandbox) error {
	var f sandbox.Faults
	if a.Faults != "" {
		var err error
		if f, err = sandbox.ParseFaults(a.Faults); err != nil {
			return fmt.Errorf("-faults: %w", err)
		}
	}
	// Nothing of the user's is overwritten: the merchant block is checked
	// before the sandbox writes anything.
	if err := sandbox.CheckMerchantConfig(filepath.Join(a.Dir, "merchant.wxm.hcl")); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	sb, err := sandbox.Open(a.Dir)
	if err != nil {
		return err
	}
	defer sb.Close()
	sb.SetFaults(f)
	ids := a.MchIDs
	for _, id := range ids {
		if _, err := sb.RegisterMerchant(id); err != nil {
			return fmt.Errorf("-mchid %s: %w", id, err)
		}
	}
	srv, err := sb.Start(a.Listen)
	if err != nil {
		return err
	}
	// An interrupt from now on stops the server cleanly, even one that
	// comes as soon as the merchant block appears.
	ctx, cancel := interrupt.Context(interrupt.Exit)
	defer cancel()
	hclPath := filepath.Join(sb.Dir(), "merchant.wxm.hcl")
	if err := writeSandboxMerchants(sb, srv.URL(), hclPath, ids, a.Merchants > 0); err != nil {
		return errors.Join(err, srv.Close())
	}
	if a.Merchants > 0 {
		u.infof("sandbox %s listening on %s (%d merchants, %s to %s)", sb.ID(), srv.URL(), len(ids), ids[0], ids[len(ids)-1])
		u.infof("merchant blocks written to %s", hclPath)
	} else {
		u.infof("sandbox %s listening on %s (merchant %s)", sb.ID(), srv.URL(), strings.Join(ids, ", "))
		u.infof("merchant block written to %s", hclPath)
	}
	u.infof("merchants by mchid, for for_each, written to %s", sb.MerchantsJSONFile())
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

// writeSandboxMerchants writes the merchant blocks of ids: with oneFile
// (-merchants) all in hclPath, the first named sandbox and each other
// sandbox_MCHID; otherwise (-mchid) the first in hclPath and each other in
// merchant-MCHID.wxm.hcl beside it. Then the JSON file of them all.
func writeSandboxMerchants(sb *sandbox.Sandbox, url, hclPath string, ids []string, oneFile bool) error {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = "sandbox_" + id
	}
	names[0] = "sandbox"
	if oneFile {
		if err := sb.WriteMerchantBlocks(hclPath, url, ids, names); err != nil {
			return err
		}
	} else {
		if err := sb.WriteMerchantConfig(hclPath, url, ids[0]); err != nil {
			return err
		}
		for i, id := range ids[1:] {
			p := filepath.Join(sb.Dir(), "merchant-"+id+".wxm.hcl")
			if err := sb.WriteMerchantBlock(p, url, id, names[i+1]); err != nil {
				return err
			}
		}
	}
	return sb.WriteMerchantsJSON(url, ids)
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
