// Command genstate records every instance of a bench/gencorpus corpus in
// the corpus's local state as an apply would, without uploading: each
// change of a plan against the state is committed with a made-up
// identifier, through the state's own CommitUpload (group commits from
// many goroutines, as apply makes them). It exists for the 1,000,000-file
// row of bench/run.sh, whose apply to the sandbox would take hours on a
// small machine; a no-change plan reads the records exactly as an apply
// leaves them, apart from the records' order on disk (apply's uploads
// finish out of order, these are written in address order).
//
//	go run ./bench/genstate -dir /tmp/corpus
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/schema"
	"github.com/wxmedia/wxmedia/state"
	"github.com/wxmedia/wxmedia/uploader/sandbox"
)

func main() {
	dir := flag.String("dir", "", "corpus directory (written by bench/gencorpus)")
	workers := flag.Int("workers", 64, "concurrent commits")
	flag.Parse()
	if *dir == "" || *workers < 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*dir, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "genstate:", err)
		os.Exit(1)
	}
}

func run(dir string, workers int) error {
	cfg, diags := schema.Load(dir)
	if diags.HasErrors() {
		return diags
	}
	ev, diags := cfg.Evaluate(nil)
	if diags.HasErrors() {
		return diags
	}
	// The sandbox merchant's service is the sandbox's instance ID, as the
	// wxmedia command gives it (the sandbox lives in .wxmedia/sandbox).
	sb, err := sandbox.Open(filepath.Join(dir, ".wxmedia", "sandbox"))
	if err != nil {
		return err
	}
	idents := map[string]plan.MerchantIdentity{}
	for name, m := range ev.Merchants {
		if !m.Sandbox {
			return fmt.Errorf("merchant %q is not a sandbox merchant", name)
		}
		mchid := m.MchID
		if mchid == "" {
			mchid = "1900000001"
		}
		idents[name] = plan.MerchantIdentity{MchID: mchid, Service: sb.ID(), V2Service: sb.ID()}
	}
	sb.Close()
	st, err := state.OpenLocal(filepath.Join(dir, ".wxmedia", "state.db"), state.Options{Command: "apply", LockTimeout: time.Second})
	if err != nil {
		return err
	}
	snap, err := st.Snapshot()
	if err != nil {
		st.Close()
		return err
	}
	p, diags := plan.Make(plan.Input{Eval: ev, State: snap, Merchants: idents})
	if diags.HasErrors() {
		st.Close()
		return diags
	}
	now := time.Now().UTC()
	work := make(chan *plan.ResourceChange)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				id := "bench-" + c.After.SHA256[:32]
				r := state.Resource{Address: c.Addr, Type: c.Type, Name: c.Name, Key: c.Key, Merchant: c.Merchant, MchID: c.MchID,
					Service: c.Service, API: c.API, Source: c.After.Source, Filename: c.After.Filename,
					SHA256: c.After.SHA256, Size: c.After.Size, ID: id, UploadedAt: now}
				e := state.CacheEntry{CacheKey: c.CacheKey(), ID: id, Filename: c.After.Filename, Size: c.After.Size, UploadedAt: now}
				if err := st.CommitUpload(r, e); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	n := 0
	for _, c := range p.Detailed() {
		if c.Action == plan.Upload || c.Action == plan.Reupload {
			work <- c
			n++
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	err = <-errs
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		fmt.Printf("recorded %d instances\n", n)
	}
	return err
}
