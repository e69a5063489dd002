package main

import (
	"fmt"
	"strings"

	"github.com/wxmedia/wxmedia/uploader/sandbox"
)

func cmdSandbox(u *ui, _ globalOptions, args []string) error {
	fs := newFlags(u, "sandbox", "sandbox [options]", "Run the WeChat Pay upload API emulator as an HTTPS server, and write DIR/merchant.wxm.hcl, a ready merchant block for it.")
	listen := fs.String("listen", "127.0.0.1:8787", "address to listen on")
	dir := fs.String("dir", ".wxmedia-sandbox", "directory for the sandbox's keys, CA and database")
	faults := fs.String("faults", "", "inject faults, e.g. 500=0.2,429=0.1,reset=0.05,badsig=0.02,delay=50ms")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	sb, err := sandbox.Open(*dir)
	if err != nil {
		return err
	}
	defer sb.Close()
	if *faults != "" {
		f, err := sandbox.ParseFaults(*faults)
		if err != nil {
			return fmt.Errorf("-faults: %w", err)
		}
		sb.SetFaults(f)
	}
	srv, err := sb.Start(*listen)
	if err != nil {
		return err
	}
	defer srv.Close()
	hclPath := strings.TrimRight(*dir, "/") + "/merchant.wxm.hcl"
	if err := sb.WriteMerchantConfig(hclPath, srv.URL(), defaultSandboxMchID); err != nil {
		return err
	}
	fmt.Fprintf(u.stderr, "wxmedia: sandbox listening on %s\nwxmedia: merchant block written to %s\n", srv.URL(), hclPath)
	u.printf("%s\n", srv.URL())
	ctx, cancel := contextWithInterrupt()
	defer cancel()
	<-ctx.Done()
	return nil
}
