package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/wxmedia/wxmedia/apply"
	"github.com/wxmedia/wxmedia/internal/arguments"
	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/state"
	"github.com/wxmedia/wxmedia/uploader"
)

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

// Hints shared by several errors.
const (
	hintQuota     = "the API's daily upload quota is reached: apply again tomorrow; what was uploaded is kept"
	hintRateLimit = "the server is rate limiting: lower -parallelism or set max_requests_per_second on the merchant"
	hintServer    = "the server failed after every retry: apply again later; what was uploaded is kept"
)

// runtimeHints gives the hints known for errors of the state, the APIs and
// the network. They are chosen by the errors' types and sentinels, which
// the packages where the errors arise define, never by their text.
func runtimeHints(err error) []string {
	var (
		locked  *state.LockedError
		verify  *uploader.VerifyError
		ae      *uploader.APIError
		v2      *uploader.V2Error
		re      *uploader.RetryError
		nf      *plan.InstanceNotFoundError
		prefix  *state.DigestPrefixError
		managed *apply.ManagedError
		doc     *plan.DocumentError
		nc      *plan.NotConfiguredError
	)
	switch {
	case errors.As(err, &nf):
		return instanceHints(nf)
	case errors.As(err, &doc) && doc.Checked:
		return []string{"state pull writes a document of this form; correct the field or push a pulled state"}
	case errors.As(err, &nc) && nc.Key != nil && len(nc.Key.Examples) > 0:
		return []string{fmt.Sprintf("give the instance key, the address quoted for the shell: wxmedia import %s ID", plan.Visible(shellQuote(nc.Key.Examples[0])))}
	case errors.As(err, &nc) && nc.Key != nil:
		return nil
	case errors.As(err, &nc):
		return []string{"add the resource block first; import binds an identifier to a declared instance"}
	case errors.As(err, &managed):
		return []string{fmt.Sprintf("wxmedia state rm %s first to import another identifier", plan.Visible(shellQuote(managed.Address)))}
	case errors.As(err, new(*plan.NoMatchError)):
		return []string{"wxmedia state list shows the addresses"}
	case errors.As(err, &prefix) && len(prefix.Digests) == 0:
		return []string{"wxmedia state cache list shows the digests"}
	case errors.As(err, &prefix):
		return []string{"give more digits of the digest"}
	case errors.As(err, &locked):
		return lockHints(locked)
	case errors.Is(err, state.ErrCorrupt):
		return []string{"the state was left untouched: restore it from a backup, or run wxmedia state push with a copy that wxmedia state pull wrote (move a local state file aside first)"}
	case errors.Is(err, uploader.ErrCertificates) && !errors.Is(err, uploader.ErrVerify) && !errors.As(err, &ae):
		return []string{"check api_v3_key: it must be the APIv3 key set on the merchant platform, which decrypts the platform certificates",
			"a merchant without platform certificates verifies replies with the WeChat Pay public key: set platform_public_key_id and platform_public_key_file"}
	case errors.Is(err, uploader.ErrCertificates) && errors.As(err, &ae) && ae.StatusCode == 404:
		return []string{"this merchant has no platform certificates: set platform_public_key_id and platform_public_key_file (the WeChat Pay public key) instead"}
	case errors.As(err, &verify):
		return verifyHints(verify)
	case errors.Is(err, uploader.ErrDailyQuota):
		return []string{hintQuota}
	case errors.Is(err, plan.ErrFileChanged) && errors.As(err, new(*plan.RefusedError)):
		return []string{"a source file changed since the plan was saved: run plan -out again, review the new plan and apply it"}
	case errors.Is(err, plan.ErrFileChanged):
		return []string{"a source file changed while wxmedia worked: run plan again and review it"}
	case errors.Is(err, uploader.ErrBadIdentifier), errors.Is(err, apply.ErrDuplicateID):
		return []string{"the server's reply names an identifier WeChat Pay would not issue, so nothing was recorded: check endpoint; the upload may have been accepted and will be sent again by the next apply"}
	case errors.Is(err, uploader.ErrBadReply):
		return []string{"the server accepted the request but its reply names no identifier: apply again; if it persists, the endpoint may not be the WeChat Pay API"}
	case errors.Is(err, uploader.ErrEndpointDown):
		return append(networkHints(err), "the endpoint stopped answering, so its other uploads were not sent: apply again once it answers (or set fallback_endpoint); what was uploaded is kept")
	case errors.As(err, &re) && uploader.TooManyRequests(err):
		return []string{fmt.Sprintf("the server kept rate limiting for the whole retry budget (-retry-timeout=%s): apply again later or with a longer -retry-timeout; what was uploaded is kept", re.Budget)}
	case errors.As(err, &re) && re.BudgetSpent():
		// What the network said (nothing listening, an untrusted
		// certificate) comes first: waiting does not mend it.
		return append(networkHints(err), fmt.Sprintf("the server kept failing for the whole retry budget (-retry-timeout=%s): apply again later; what was uploaded is kept", re.Budget))
	case errors.As(err, &v2):
		return v2Hints(v2)
	case errors.As(err, &ae):
		return apiHints(ae)
	}
	return networkHints(err)
}

// instanceHints: the quoting the shell removed, and the instances of the
// resource meant, or where to find the addresses.
func instanceHints(e *plan.InstanceNotFoundError) []string {
	var hints []string
	if e.Unquoted != nil {
		hints = append(hints, fmt.Sprintf("%s, wxmedia state show %s", e.Unquoted.Cause(), plan.Visible(shellQuote(e.Unquoted.Address.String()))))
		if slices.Contains(e.Instances, e.Unquoted.Address.String()) {
			// The quoted address is in the state: quoting is all it takes.
			return hints
		}
	}
	switch n := len(e.Instances); {
	case n > 0 && n <= 10:
		return append(hints, "the instances of "+e.Resource+" are: "+strings.Join(e.Instances, ", "))
	case n > 10:
		return append(hints, fmt.Sprintf("%s has %d instances: wxmedia state list %s lists them", plan.Visible(e.Resource), n, plan.Visible(shellQuote(e.Resource))))
	}
	return append(hints, "wxmedia state list shows the addresses")
}

// lockHints: a lock tried once suggests waiting for it; a lock waited for
// until the timeout expired says that the holder still runs.
func lockHints(e *state.LockedError) []string {
	if e.Reader {
		return []string{"readers hold the lock only while they read: run the command again when they have finished, or give -lock-timeout=DURATION (e.g. 2m) to wait longer"}
	}
	unlock := "if that process is gone, wxmedia force-unlock releases the lock"
	if e.Session != 0 {
		unlock = fmt.Sprintf("if that process is gone, wxmedia force-unlock %d ends its lock session", e.Session)
	}
	if e.Waited > 0 {
		return []string{fmt.Sprintf("the holder kept the lock for all of -lock-timeout=%s and still runs: run the command again when it has finished", e.Waited), unlock}
	}
	return []string{"wait for it to finish, or give -lock-timeout=DURATION (e.g. 2m) to wait for the lock", unlock}
}

func verifyHints(e *uploader.VerifyError) []string {
	switch {
	case e.Skew != 0:
		return []string{fmt.Sprintf("the reply's timestamp is %s away from the local clock: set the clock right (NTP) and apply again", e.Skew)}
	case e.Protocol == uploader.ProtocolV2:
		return []string{"check the merchant's api_v2_key and v2_sign_type: the v2 reply is signed with that key"}
	}
	return []string{"check platform_public_key_id and platform_public_key_file (or platform_certificate_file, or api_v3_key) against the merchant platform, and the local clock"}
}

// v2Hints are the hints for the v2 API's err_code values (its page's
// error table).
func v2Hints(e *uploader.V2Error) []string {
	switch {
	case e.DailyQuotaReached():
		return []string{hintQuota}
	case e.ErrCode == "SIGNERROR":
		return []string{"the v2 API did not accept the request's sign: check api_v2_key (the 32-character API v2 key, not the APIv3 key) and v2_sign_type (MD5 or HMAC-SHA256)"}
	case e.CertificateRefused():
		if e.Sandbox != "" {
			return []string{"the sandbox refused the client certificate: use the client_certificate_file and private_key_file of the merchant block the sandbox server wrote (DIR/merchant.wxm.hcl)"}
		}
		return []string{"the v2 API refused the client certificate: client_certificate_file must be this merchant's API certificate (apiclient_cert.pem), and private_key_file its key"}
	case e.Sandbox != "" && e.ErrCode == "PARAM_ERROR" && e.MerchantUnknown():
		return []string{fmt.Sprintf("this sandbox server has not registered the merchant: use the merchant block it wrote (DIR/merchant.wxm.hcl, mchid %s)", defaultSandboxMchID)}
	case e.ErrCode == "FREQUENCY_LIMITED":
		return []string{hintRateLimit}
	case e.ErrCode == "SYSTEMERROR" || e.StatusCode >= 500:
		return []string{hintServer}
	}
	return nil
}

func apiHints(e *uploader.APIError) []string {
	switch {
	case e.DailyQuotaReached():
		return []string{hintQuota}
	case e.StatusCode == http.StatusUnauthorized:
		return []string{"check that serial_no is the serial of the certificate that belongs to private_key_file, and the local clock"}
	case e.StatusCode == http.StatusForbidden && e.Sandbox != "":
		return []string{fmt.Sprintf("this sandbox server has not registered the merchant: use the merchant block it wrote (DIR/merchant.wxm.hcl, mchid %s), or sandbox = true for an in-process sandbox", defaultSandboxMchID)}
	case e.StatusCode == http.StatusForbidden:
		return []string{"the merchant lacks the permission for this API: apply for it on the merchant platform"}
	case e.StatusCode == http.StatusTooManyRequests:
		return []string{hintRateLimit}
	case e.StatusCode == http.StatusBadRequest:
		return []string{"the API refused the file or its fields: check it against the API's limits (suffix, size, filename) with wxmedia validate, and the message above"}
	case e.StatusCode >= 500:
		return []string{hintServer}
	}
	return nil
}

// networkHints are the hints for connections that failed: nothing
// listening, a server certificate without a trusted CA, a client
// certificate the server refused during the TLS handshake.
func networkHints(err error) []string {
	var (
		unknownCA x509.UnknownAuthorityError
		alert     tls.AlertError
		host      x509.HostnameError
	)
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return []string{"another process listens on that address: give another port, or -listen=127.0.0.1:0 for a free one (the URL chosen is printed, and written into DIR/merchant.wxm.hcl)"}
	case errors.Is(err, syscall.ECONNREFUSED):
		return []string{"nothing accepts connections at that address: check the merchant's endpoint (or v2_endpoint), and that the server, e.g. wxmedia sandbox, is running"}
	case errors.As(err, &unknownCA):
		return []string{"the server's certificate is not signed by a trusted CA: for a private endpoint or a sandbox server, set ca_certificate_file to its CA certificate (a sandbox server's merchant.wxm.hcl names its ca.pem)"}
	case errors.As(err, &host):
		return []string{"the server's certificate is not for the endpoint's host name: check endpoint"}
	case errors.As(err, &alert):
		switch alert {
		case 42, 43, 44, 45, 46, 48, 49, 116: // bad_certificate … certificate_required (RFC 8446 §6)
			return []string{"the server refused the client certificate: client_certificate_file must be this merchant's API certificate, issued for private_key_file, by a CA the server trusts"}
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

// withChdir puts the -chdir the user gave into the wxmedia commands a hint
// suggests ("run wxmedia plan" becomes "run wxmedia -chdir=DIR plan"), so
// that they work when pasted.
func withChdir(hint, dir string) string {
	if dir == "" {
		return hint
	}
	var b strings.Builder
	for {
		i := strings.Index(hint, "wxmedia ")
		if i < 0 {
			b.WriteString(hint)
			return b.String()
		}
		i += len("wxmedia ")
		b.WriteString(hint[:i])
		hint = hint[i:]
		if hint != "" && hint[0] >= 'a' && hint[0] <= 'z' {
			b.WriteString("-chdir=" + shellQuote(dir) + " ")
		}
	}
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string { return arguments.ShellQuote(s) }

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
