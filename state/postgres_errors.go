package state

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

func isUndefinedTable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "3F000")
}

// secretsOf returns the parts of connStr that must never be shown: the
// whole string and, for a URL, its user information.
func secretsOf(connStr string) []string {
	s := []string{connStr}
	if i := strings.Index(connStr, "://"); i >= 0 {
		rest := connStr[i+3:]
		if j := strings.LastIndex(rest, "@"); j > 0 {
			s = append(s, rest[:j])
		}
	}
	return s
}

// redactedError is an error whose text had a secret cut out. It keeps the
// sentinel errors of the original but not its text.
type redactedError struct {
	msg string
	is  []error
}

func (e *redactedError) Error() string { return e.msg }

func (e *redactedError) Unwrap() []error {
	return e.is
}

// wrap adds what, and the state's location, to err, cutting any secret of
// the connection string out of the message. An error carrying a secret
// is not wrapped, so that no caller can print the original.
func (p *Postgres) wrap(what string, err error) error {
	msg := err.Error()
	redacted := msg
	for _, s := range p.secrets {
		if len(s) >= 3 {
			redacted = strings.ReplaceAll(redacted, s, "[redacted]")
		}
	}
	if redacted == msg {
		return fmt.Errorf("%s %s: %w", what, p.where, err)
	}
	var is []error
	for _, sentinel := range []error{ErrLocked, ErrCorrupt, ErrSchemaVersion, ErrReadOnly, ErrInvalid, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, sentinel) {
			is = append(is, sentinel)
		}
	}
	return &redactedError{msg: fmt.Sprintf("%s %s: %s", what, p.where, redacted), is: is}
}
