package terminal

import (
	"context"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync"
)

// Structured logs go to stderr when WXMEDIA_LOG is debug or info. Every
// credential is redacted: attributes whose names say they hold one, and any
// value containing a secret the configuration declared (api_v2_key,
// conn_str), wherever it appears.

// secretKeys are attribute names whose values are never written.
var secretKeys = []string{"key", "secret", "sign", "signature", "authorization", "password", "conn_str", "token"}

// Redactor holds the secrets one run has seen, to redact them from its
// messages and logs; the Terminal of the run owns it (a nil one redacts
// only the passwords of URLs). It is safe for concurrent use.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string
}

// Add registers secret values; short ones are ignored (they would redact
// ordinary text and protect nothing).
func (r *Redactor) Add(values ...string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range values {
		if len(v) >= 6 {
			r.secrets = append(r.secrets, v)
		}
	}
}

// Scrub returns s with every secret of r replaced by "(redacted)" and the
// passwords of URLs and connection strings hidden (RedactURLs).
func (r *Redactor) Scrub(s string) string {
	if r == nil {
		return RedactURLs(s)
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, "(redacted)")
	}
	return RedactURLs(s)
}

// urlPassword matches the user info of a URL with a password
// (scheme://user:password@), and connPassword the password of a libpq
// key=value connection string.
var (
	urlPassword  = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://[^\s/?#@:"'<>]*):[^\s/?#"'<>]*@`)
	connPassword = regexp.MustCompile(`(?i)\b((?:ssl)?password|passwd|pwd)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s'"&;]+)`)
)

// RedactURLs hides the passwords of URLs and connection strings in s, as
// url.URL.Redacted does ("user:xxxxx@").
func RedactURLs(s string) string {
	if l := strings.ToLower(s); !strings.Contains(l, "@") && !strings.Contains(l, "pass") && !strings.Contains(l, "pwd") {
		return s
	}
	s = urlPassword.ReplaceAllString(s, "${1}:xxxxx@")
	return connPassword.ReplaceAllString(s, "${1}=xxxxx")
}

func (r *Redactor) replaceAttr(_ []string, a slog.Attr) slog.Attr {
	k := strings.ToLower(a.Key)
	for _, sk := range secretKeys {
		if k == sk || strings.HasSuffix(k, "_"+sk) {
			return slog.String(a.Key, "(redacted)")
		}
	}
	if a.Value.Kind() == slog.KindString || a.Value.Kind() == slog.KindAny {
		return slog.String(a.Key, r.Scrub(a.Value.String()))
	}
	return a
}

// NewLogger returns a logger writing text records to w from level up
// when on, or a silent one. It redacts attributes whose names say they
// hold a credential, and the secrets of r wherever they appear.
func NewLogger(w io.Writer, r *Redactor, on bool, level slog.Level) *slog.Logger {
	if !on {
		return slog.New(discard{})
	}
	h := slog.NewTextHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: r.replaceAttr})
	return slog.New(h)
}

type discard struct{}

func (discard) Enabled(context.Context, slog.Level) bool  { return false }
func (discard) Handle(context.Context, slog.Record) error { return nil }
func (d discard) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discard) WithGroup(string) slog.Handler           { return d }
