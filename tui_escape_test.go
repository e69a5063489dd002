package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// Messages show control and format characters from outside as escapes,
// and indent the lines of a multi-line error.
func TestMessageEscapes(t *testing.T) {
	for _, tc := range []struct {
		args []any
		want string
	}{
		{[]any{"logo.png"}, "upload logo.png"},
		{[]any{"café.png"}, "upload café.png"},
		{[]any{"\x1b[2J\x1b[1;1Hforged"}, `upload \x1b[2J\x1b[1;1Hforged`},
		{[]any{"\x1b]8;;https://evil\x07click\x1b]8;;\x07"}, `upload \x1b]8;;https://evil\aclick\x1b]8;;\a`},
		{[]any{"ok\rwxmedia: Apply complete!"}, `upload ok\rwxmedia: Apply complete!`},
		{[]any{"gpj.\u202eexe"}, `upload gpj.\u202eexe`},
		{[]any{"a\u200bb\ufeff"}, `upload a\u200bb\ufeff`},
		{[]any{"\x9b31m"}, `upload \x9b31m`},
		{[]any{"bad\xffutf8"}, `upload bad\xffutf8`},
		{[]any{errors.New("server said: x\nwxmedia: Apply complete!")}, "upload server said: x\n  wxmedia: Apply complete!"},
		{[]any{errors.New("dial tcp: https://ci:hunter2@host.example/x refused")}, "upload dial tcp: https://ci:xxxxx@host.example/x refused"},
	} {
		if got := newUI(nil, nil, nil, true, environment{}).message("upload %v", tc.args...); got != tc.want {
			t.Errorf("message(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

// Every stderr message of the ui goes through the same escaping.
func TestUIMessagesEscape(t *testing.T) {
	var out bytes.Buffer
	u := newUI(strings.NewReader(""), &out, &out, true, environment{})
	evil := "media_\x1b[31mid\r"
	u.errorf([]string{"hint " + evil}, "error %s", evil)
	u.warnf("warn %s", evil)
	u.infof("info %s", evil)
	u.detailf("detail %s", evil)
	u.statusLine("uploading", evil)
	if strings.ContainsAny(out.String(), "\x1b\r") {
		t.Fatalf("raw control characters reached the terminal: %q", out.String())
	}
	if n := strings.Count(out.String(), `media_\x1b[31mid\r`); n != 6 {
		t.Fatalf("%d escaped values, want 6:\n%s", n, out.String())
	}
}

// The secrets a run has seen are redacted from its messages only: each
// run's ui has its own.
func TestSecretsPerRun(t *testing.T) {
	a, b := newUI(nil, nil, nil, true, environment{}), newUI(nil, nil, nil, true, environment{})
	a.Secrets.Add("hunter2-api-v3-key")
	if got := a.message("key %s", "hunter2-api-v3-key"); got != "key (redacted)" {
		t.Errorf("run a: %q", got)
	}
	if got := b.message("key %s", "hunter2-api-v3-key"); got != "key hunter2-api-v3-key" {
		t.Errorf("run b redacts what only run a saw: %q", got)
	}
}
