package main

import (
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The environment is read once, into one value; a value wxmedia does not
// understand is an error naming the variable.
func TestReadEnvironment(t *testing.T) {
	env := readEnvironment(nil)
	if env.err != nil || env.noColor || env.logOn || env.progressEvery != 5*time.Second || env.vars != nil {
		t.Errorf("empty environment: %+v", env)
	}
	env = readEnvironment([]string{"PATH=/bin", "WXMEDIA_VAR_b=2", "NO_COLOR=1", "WXMEDIA_LOG=DEBUG", "WXMEDIA_PROGRESS_INTERVAL= 10s ", "WXMEDIA_VAR_a=x=y", "WXMEDIA_VAR_=empty"})
	want := environment{noColor: true, logOn: true, logLevel: slog.LevelDebug, progressEvery: 10 * time.Second,
		vars: []envVar{{"b", "2"}, {"a", "x=y"}, {"", "empty"}}}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("got %+v\nwant %+v", env, want)
	}
	for _, tc := range []struct {
		environ []string
		check   func(environment) bool
	}{
		{[]string{"TERM=dumb"}, func(e environment) bool { return e.noColor }},
		{[]string{"NO_COLOR="}, func(e environment) bool { return !e.noColor }},
		{[]string{"WXMEDIA_LOG=info"}, func(e environment) bool { return e.logOn && e.logLevel == slog.LevelInfo }},
		{[]string{"WXMEDIA_LOG=off"}, func(e environment) bool { return !e.logOn }},
		{[]string{"WXMEDIA_PROGRESS_INTERVAL=off"}, func(e environment) bool { return e.progressEvery == 0 }},
		{[]string{"WXMEDIA_PROGRESS_INTERVAL=0"}, func(e environment) bool { return e.progressEvery == 0 }},
	} {
		if env := readEnvironment(tc.environ); env.err != nil || !tc.check(env) {
			t.Errorf("%q: %+v", tc.environ, env)
		}
	}
	for _, tc := range []struct{ environ, msg string }{
		{"WXMEDIA_LOG=verbose", `WXMEDIA_LOG="verbose" is not a log level`},
		{"WXMEDIA_PROGRESS_INTERVAL=5", `WXMEDIA_PROGRESS_INTERVAL="5" is not a positive duration`},
		{"WXMEDIA_PROGRESS_INTERVAL=-1s", `WXMEDIA_PROGRESS_INTERVAL="-1s" is not a positive duration`},
	} {
		env := readEnvironment([]string{tc.environ})
		if env.err == nil || env.err.Error() != tc.msg || len(hintsFor(env.err)) == 0 || !strings.Contains(hintsFor(env.err)[0], "set WXMEDIA_") {
			t.Errorf("%s: error %v, hints %q", tc.environ, env.err, hintsFor(env.err))
		}
	}
}
