package main

import (
	"runtime"
	"runtime/debug"

	"github.com/wxmedia/wxmedia/internal/arguments"
)

func runVersion(u *ui, _ *arguments.Version) error {
	u.printf("wxmedia v%s\non %s_%s, built with %s\n", version, runtime.GOOS, runtime.GOARCH, runtime.Version())
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	if bi.Main.Path != "" {
		u.printf("module %s %s\n", bi.Main.Path, bi.Main.Version)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		u.printf("revision %s", rev)
		if t := settings["vcs.time"]; t != "" {
			u.printf(", committed %s", t)
		}
		if settings["vcs.modified"] == "true" {
			u.printf(", with local changes")
		}
		u.printf("\n")
	}
	for _, k := range []string{"CGO_ENABLED", "-trimpath", "-tags"} {
		if v := settings[k]; v != "" {
			u.printf("%s=%s\n", k, v)
		}
	}
	return nil
}
