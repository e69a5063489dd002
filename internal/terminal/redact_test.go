package terminal

import (
	"log/slog"
	"strings"
	"testing"
)

func TestRedactURLs(t *testing.T) {
	for in, want := range map[string]string{
		`endpoint "https://user:pa55@example.com/x" is bad`: `endpoint "https://user:xxxxx@example.com/x" is bad`,
		`postgres://wx:s3cr%40t@db:5432/wx?sslmode=disable`: `postgres://wx:xxxxx@db:5432/wx?sslmode=disable`,
		`host=db user=wx password=s3cret dbname=wx`:         `host=db user=wx password=xxxxx dbname=wx`,
		`host=db password='a b' dbname=wx`:                  `host=db password=xxxxx dbname=wx`,
		`https://user@example.com/ has no password`:         `https://user@example.com/ has no password`,
		`mail admin@example.com`:                            `mail admin@example.com`,
		`two: http://a:b@h1/ and https://c:d@h2/`:           `two: http://a:xxxxx@h1/ and https://c:xxxxx@h2/`,
		// An @ inside the password (not escaped), as pgx and libpq users write it.
		`parse "postgres://app:p@ss@bad host/db": invalid character`: `parse "postgres://app:xxxxx@bad host/db": invalid character`,
		`postgres://app@db/x?sslmode=require&password=s3cret&x=1`:    `postgres://app@db/x?sslmode=require&password=xxxxx&x=1`,
		`host=db pwd=s3cret sslpassword=k3y`:                         `host=db pwd=xxxxx sslpassword=xxxxx`,
		`https://api.example.com:8443/v3 is down`:                    `https://api.example.com:8443/v3 is down`,
	} {
		if got := RedactURLs(in); got != want {
			t.Errorf("RedactURLs(%q) = %q, want %q", in, got, want)
		}
	}
}

// Logs redact attributes named for credentials and every secret seen,
// wherever it appears; off, nothing is logged.
func TestNewLoggerRedacts(t *testing.T) {
	var b strings.Builder
	r := &Redactor{}
	r.Add("hunter2-api-v3-key")
	NewLogger(&b, r, true, slog.LevelDebug).Debug("upload", "authorization", "WECHATPAY2-SHA256-RSA2048 mchid=1", "error", "key hunter2-api-v3-key refused", "url", "https://u:pw@h/x")
	out := b.String()
	if strings.Contains(out, "hunter2") || strings.Contains(out, "RSA2048") || strings.Contains(out, ":pw@") || !strings.Contains(out, "(redacted)") {
		t.Errorf("log record %q", out)
	}
	b.Reset()
	NewLogger(&b, r, false, slog.LevelDebug).Error("x")
	if b.Len() != 0 {
		t.Errorf("level off logged %q", b.String())
	}
}
