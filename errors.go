package main

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"

	"github.com/wxmedia/wxmedia/apply"
	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/state"
	"github.com/wxmedia/wxmedia/uploader"
)

var skewRE = regexp.MustCompile(`is (-?[0-9hms.]+) from the local clock`)

// hintedError is an error with hints a user can act on; exitCode prints
// the message, then each hint on its own "wxmedia: hint:" line.
type hintedError struct {
	err   error
	hints []string
}

// withHints attaches hints to err; nil stays nil.
func withHints(err error, hints ...string) error {
	if err == nil {
		return nil
	}
	return &hintedError{err: err, hints: hints}
}

func (e *hintedError) Error() string { return e.err.Error() }
func (e *hintedError) Unwrap() error { return e.err }

// hintsFor gives hints a user can act on: those attached with withHints
// in err's chain or, when there are none, those known for runtime errors.
func hintsFor(err error) []string {
	var out []string
	for e := err; e != nil; {
		var he *hintedError
		if !errors.As(e, &he) {
			break
		}
		out = append(out, he.hints...)
		e = he.err
	}
	if len(out) > 0 {
		// Hints given where the error arose know its context best.
		return out
	}
	return runtimeHints(err)
}

// runtimeHints gives the hints known for errors of the state and the APIs.
func runtimeHints(err error) []string {
	var ae *uploader.APIError
	switch {
	case errors.Is(err, state.ErrLocked):
		return []string{"wait for it to finish, or give -lock-timeout=DURATION to wait", "if that process is gone, wxmedia force-unlock releases the lock"}
	case errors.Is(err, state.ErrCorrupt):
		return []string{"the file was left untouched; restore it from a backup"}
	case errors.Is(err, uploader.ErrCertificates) && !errors.Is(err, uploader.ErrVerify) && !errors.As(err, &ae):
		return []string{"check api_v3_key: it must be the APIv3 key set on the merchant platform, which decrypts the platform certificates",
			"a merchant without platform certificates verifies replies with the WeChat Pay public key: set platform_public_key_id and platform_public_key_file"}
	case errors.Is(err, uploader.ErrCertificates) && errors.As(err, &ae) && ae.StatusCode == 404:
		return []string{"this merchant has no platform certificates: set platform_public_key_id and platform_public_key_file (the WeChat Pay public key) instead"}
	case errors.Is(err, uploader.ErrVerify):
		if m := skewRE.FindStringSubmatch(err.Error()); m != nil {
			return []string{fmt.Sprintf("the reply's timestamp is %s away from the local clock: set the clock right (NTP) and apply again", m[1])}
		}
		if strings.Contains(err.Error(), "v2 reply") {
			return []string{"check the merchant's api_v2_key and v2_sign_type: the v2 reply is signed with that key"}
		}
		return []string{"check platform_public_key_id and platform_public_key_file (or platform_certificate_file, or api_v3_key) against the merchant platform, and the local clock"}
	case errors.Is(err, uploader.ErrDailyQuota):
		return []string{"the API's daily upload quota is reached: apply again tomorrow; what was uploaded is kept"}
	case errors.Is(err, apply.ErrFileChanged), errors.Is(err, plan.ErrFileChanged):
		return []string{"a source file changed while wxmedia worked: run plan again and review it"}
	case errors.Is(err, uploader.ErrBadIdentifier), errors.Is(err, apply.ErrDuplicateID):
		return []string{"the server's reply names an identifier WeChat Pay would not issue, so nothing was recorded: check endpoint; the upload may have been accepted and will be sent again by the next apply"}
	case errors.Is(err, uploader.ErrBadReply):
		return []string{"the server accepted the request but its reply names no identifier: apply again; if it persists, the endpoint may not be the WeChat Pay API"}
	case errors.As(err, &ae):
		switch {
		case ae.StatusCode == 401 || ae.Code == "SIGN_ERROR" || ae.Code == "SIGNERROR":
			return []string{"check that serial_no is the serial of the certificate that belongs to private_key_file"}
		case ae.StatusCode == 403 || ae.Code == "NO_AUTH":
			return []string{"the merchant lacks the permission for this API: apply for it on the merchant platform"}
		case ae.DailyQuotaReached():
			return []string{"the API's daily upload quota is reached: apply again tomorrow; what was uploaded is kept"}
		case ae.StatusCode == 429:
			return []string{"the server is rate limiting: lower -parallelism or set max_requests_per_second on the merchant"}
		case ae.StatusCode == 400:
			return []string{"the API refused the file or its fields: check it against the API's limits (suffix, size, filename) with wxmedia validate, and the message above"}
		case ae.StatusCode >= 500:
			return []string{"the server failed after every retry: apply again later; what was uploaded is kept"}
		}
	}
	return nil
}

// hintsForAll gathers the distinct hints of several errors.
func hintsForAll(errs []error) []string {
	seen := map[string]bool{}
	var out []string
	for _, err := range errs {
		for _, h := range hintsFor(err) {
			if !seen[h] {
				seen[h] = true
				out = append(out, h)
			}
		}
	}
	sort.Strings(out)
	return out
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
