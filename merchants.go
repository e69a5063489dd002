package main

import (
	"fmt"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"github.com/wxmedia/wxmedia/apply"
	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/uploader"
	"github.com/wxmedia/wxmedia/uploader/sandbox"
)

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// uploaders builds one client per merchant that has something to upload
// (uploader.NewSet), starting the in-process sandbox when a sandbox merchant
// has. The returned stop function shuts the sandbox down.
func (w *workspace) uploaders(p *plan.Plan, parallelism int, retryTimeout time.Duration) (map[string]apply.Uploader, func(), error) {
	var srv *sandbox.Server
	stop := func() {
		if srv != nil {
			srv.Close()
		}
	}
	issue := func(mchID string) (uploader.Merchant, error) {
		if srv == nil {
			var err error
			if srv, err = w.sandbox.Start("127.0.0.1:0"); err != nil {
				return uploader.Merchant{}, fmt.Errorf("starting the sandbox: %w", err)
			}
		}
		c, err := w.sandbox.RegisterMerchant(mchID)
		if err != nil {
			return uploader.Merchant{}, fmt.Errorf("sandbox merchant %s: %w", mchID, err)
		}
		return uploader.Merchant{MchID: c.MchID, SerialNo: c.SerialNo, PrivateKeyFile: c.PrivateKeyFile,
			PlatformPublicKeyID: c.PlatformPublicKeyID, PlatformPublicKeyFile: c.PlatformPublicKeyFile,
			APIv2Key: c.APIv2Key, ClientCertificateFile: c.CertificateFile, CACertificateFile: c.CAFile,
			Endpoint: srv.URL(), V2Endpoint: srv.URL()}, nil
	}
	clients, err := uploader.NewSet(p.UploadMerchants(w.ev, w.idents), uploader.SetOptions{
		Parallelism: parallelism, RetryTimeout: retryTimeout,
		UserAgent: fmt.Sprintf("wxmedia/%s (%s; %s)", version, runtime.GOOS, runtime.Version()),
		Logger:    w.log, CertificateCachePath: platformCertificatesPath, Sandbox: issue,
	})
	if err != nil {
		return nil, stop, err
	}
	out := make(map[string]apply.Uploader, len(clients))
	for name, c := range clients {
		out[name] = c
	}
	return out, stop, nil
}

func configPath(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Clean(p)
}
