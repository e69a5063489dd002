package main

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// The environment variables wxmedia reads besides WXMEDIA_VAR_name. A
// value it does not understand is an error, never silently ignored.
const (
	envLog              = "WXMEDIA_LOG"
	envProgressInterval = "WXMEDIA_PROGRESS_INTERVAL"
	envVarPrefix        = "WXMEDIA_VAR_"
)

// progressInterval is the default interval of plain progress lines.
const progressInterval = 5 * time.Second

// environment is what wxmedia takes from its environment variables, read
// once when it starts (readEnvironment): nothing else reads them.
type environment struct {
	// noColor is NO_COLOR set to a value (https://no-color.org), or
	// TERM=dumb.
	noColor bool
	// logOn says whether WXMEDIA_LOG asks for logs, at logLevel.
	logOn    bool
	logLevel slog.Level
	// progressEvery is WXMEDIA_PROGRESS_INTERVAL: the interval of plain
	// progress lines, 0 when progress is off.
	progressEvery time.Duration
	// vars are the WXMEDIA_VAR_name variables, in the environment's order.
	vars []envVar
	// err is a value wxmedia does not understand: every command refuses
	// to run with it.
	err error
}

// envVar is one WXMEDIA_VAR_name=value.
type envVar struct{ name, value string }

// readEnvironment reads the environment, given as os.Environ gives it.
func readEnvironment(environ []string) environment {
	env := environment{progressEvery: progressInterval}
	get := map[string]string{}
	for _, kv := range environ {
		name, val, _ := strings.Cut(kv, "=")
		get[name] = val
		if n, ok := strings.CutPrefix(name, envVarPrefix); ok {
			env.vars = append(env.vars, envVar{n, val})
		}
	}
	env.noColor = get["NO_COLOR"] != "" || get["TERM"] == "dumb"
	switch v := get[envLog]; strings.ToLower(v) {
	case "", "off":
	case "debug":
		env.logOn, env.logLevel = true, slog.LevelDebug
	case "info":
		env.logOn, env.logLevel = true, slog.LevelInfo
	default:
		env.err = withHints(fmt.Errorf("%s=%q is not a log level", envLog, v),
			fmt.Sprintf("set %s to debug (every upload attempt), info (a summary) or off, or unset it", envLog))
		return env
	}
	switch v := strings.TrimSpace(get[envProgressInterval]); v {
	case "":
	case "off", "0":
		env.progressEvery = 0
	default:
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			env.err = withHints(fmt.Errorf("%s=%q is not a positive duration", envProgressInterval, v),
				fmt.Sprintf("set %s to a duration such as 10s, or off, or unset it (default %s)", envProgressInterval, progressInterval))
			return env
		}
		env.progressEvery = d
	}
	return env
}
