package main

import (
	"runtime"
	"runtime/debug"
)

func cmdVersion(u *ui, _ globalOptions, args []string) error {
	fs := newFlags(u, "version", "version", "Print the version and build information.")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	u.printf("wxmedia v%s\non %s_%s, built with %s\n", version, runtime.GOOS, runtime.GOARCH, runtime.Version())
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				u.printf("revision %s\n", s.Value)
			}
		}
	}
	return nil
}
