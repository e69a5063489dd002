package main

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// The environment variables wxmedia reads besides WXMEDIA_VAR_name. A
// value it does not understand is an error, never silently ignored.
const (
	envLog              = "WXMEDIA_LOG"
	envProgressInterval = "WXMEDIA_PROGRESS_INTERVAL"
)

// progressInterval is the default interval of plain progress lines.
const progressInterval = 5 * time.Second

// logLevels are the values of WXMEDIA_LOG ("" and "off": no logs).
var logLevels = []string{"debug", "info", "off"}

// checkEnv checks the environment variables that configure wxmedia.
func checkEnv() error {
	if v := os.Getenv(envLog); v != "" {
		ok := false
		for _, l := range logLevels {
			ok = ok || strings.EqualFold(v, l)
		}
		if !ok {
			return withHints(fmt.Errorf("%s=%q is not a log level", envLog, v),
				fmt.Sprintf("set %s to debug (every upload attempt) or info (a summary), or unset it", envLog))
		}
	}
	if _, _, err := progressIntervalEnv(); err != nil {
		return withHints(err, fmt.Sprintf("set %s to a duration such as 10s, or off, or unset it (default %s)", envProgressInterval, progressInterval))
	}
	return nil
}

// progressIntervalEnv is WXMEDIA_PROGRESS_INTERVAL: the interval of plain
// progress lines, and whether progress is shown at all ("off" or 0: not).
func progressIntervalEnv() (time.Duration, bool, error) {
	v := strings.TrimSpace(os.Getenv(envProgressInterval))
	switch v {
	case "":
		return progressInterval, true, nil
	case "off", "0":
		return 0, false, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return progressInterval, true, fmt.Errorf("%s=%q is not a positive duration", envProgressInterval, v)
	}
	return d, true, nil
}
