package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wxmedia/wxmedia/apply"
	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/state"
	"github.com/wxmedia/wxmedia/uploader"
)

// The hints that the transcripts cannot reach with the sandbox (TLS alerts
// of a real server, a host name mismatch, v2 rate limits) are chosen from
// the errors' types as the ones they can.
func TestRuntimeHints(t *testing.T) {
	net := func(err error) error {
		return fmt.Errorf("upload a.png: %w", &uploader.NetworkError{Endpoint: "https://api.example", Err: err})
	}
	for _, tc := range []struct {
		name string
		err  error
		want string // a part of the one hint expected; "" for none
	}{
		{"tls alert unknown_ca", net(fmt.Errorf("remote error: %w", tls.AlertError(48))), "the server refused the client certificate"},
		{"tls alert bad_certificate", net(tls.AlertError(42)), "client_certificate_file must be this merchant's API certificate"},
		{"tls alert other", net(tls.AlertError(40)), ""},
		{"refused for the whole retry budget", &uploader.RetryError{Attempts: 5, Elapsed: 2 * time.Second, Budget: 3 * time.Second, Next: 3 * time.Second, Err: net(syscall.ECONNREFUSED)}, "nothing accepts connections at that address"},
		{"server errors for the whole retry budget", &uploader.RetryError{Attempts: 5, Elapsed: 2 * time.Second, Budget: 3 * time.Second, Next: 3 * time.Second, Err: &uploader.APIError{StatusCode: 500, Code: "SYSTEM_ERROR"}}, "the server kept failing for the whole retry budget (-retry-timeout=3s)"},
		{"host name", net(x509.HostnameError{Certificate: &x509.Certificate{}, Host: "h"}), "not for the endpoint's host name"},
		{"unknown authority", net(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), "set ca_certificate_file"},
		{"v3 skew", fmt.Errorf("x: %w", &uploader.VerifyError{Protocol: uploader.ProtocolV3, Skew: 7 * time.Minute, Reason: "r"}), "is 7m0s away from the local clock"},
		{"v3 signature", &uploader.VerifyError{Protocol: uploader.ProtocolV3, Reason: "r"}, "check platform_public_key_id"},
		{"v2 reply sign", &uploader.VerifyError{Protocol: uploader.ProtocolV2, Reason: "r"}, "api_v2_key and v2_sign_type"},
		{"v2 SIGNERROR", &uploader.V2Error{StatusCode: 200, ErrCode: "SIGNERROR"}, "check api_v2_key (the 32-character API v2 key, not the APIv3 key) and v2_sign_type"},
		{"v2 certificate", &uploader.V2Error{StatusCode: 200, ErrCode: "INVALID_REQUEST", ErrCodeDes: "Certificate verification is failed"}, "the v2 API refused the client certificate"},
		{"v2 permission", &uploader.V2Error{StatusCode: 200, ErrCode: "INVALID_REQUEST", ErrCodeDes: "No permissions"}, ""},
		{"v2 rate", &uploader.V2Error{StatusCode: 200, ErrCode: "FREQUENCY_LIMITED"}, "lower -parallelism"},
		{"v2 sandbox merchant", &uploader.V2Error{StatusCode: 200, ErrCode: "PARAM_ERROR", ErrCodeDes: "Merchant ID error", Sandbox: "sb"}, "this sandbox server has not registered the merchant"},
		{"v3 401", &uploader.APIError{StatusCode: 401, Code: "SIGN_ERROR"}, "serial_no"},
		{"v3 403", &uploader.APIError{StatusCode: 403, Code: "NO_AUTH"}, "apply for it on the merchant platform"},
		{"v3 403 sandbox", &uploader.APIError{StatusCode: 403, Code: "NO_AUTH", Sandbox: "sb"}, "DIR/merchant.wxm.hcl, mchid 1900000001"},
		{"lock tried once", fmt.Errorf("open: %w", &state.LockedError{Path: "p"}), "give -lock-timeout=DURATION"},
		{"lock waited", &state.LockedError{Path: "p", Waited: 2 * time.Minute}, "for all of -lock-timeout=2m0s and still runs"},
		{"lock held by readers", &state.LockedError{Path: "p", Reader: true, Waited: 5 * time.Second}, "readers hold the lock only while they read"},
		{"file changed", fmt.Errorf("a.png: %w", plan.ErrFileChanged), "run plan again"},
		{"saved plan file changed", &plan.RefusedError{Path: "p.plan", Err: fmt.Errorf("%w: a.png", plan.ErrFileChanged)}, "changed since the plan was saved: run plan -out again"},
		{"state show miss", &plan.InstanceNotFoundError{Given: "t.n[\"z\"]", Resource: "t.n", Instances: []string{`t.n["a"]`}}, `the instances of t.n are: t.n["a"]`},
		{"state show many", &plan.InstanceNotFoundError{Given: "t.n[\"z\"]", Resource: "t.n", Instances: make([]string, 11)}, "t.n has 11 instances: wxmedia state list t.n lists them"},
		{"state show unquoted", &plan.InstanceNotFoundError{Given: "t.n[z]", Resource: "t.n", Unquoted: &plan.UnquotedKeyError{Address: plan.Address{Type: "t", Name: "n", Key: "z", HasKey: true}}}, "quote the whole address, wxmedia state show"},
		{"state rm no match", fmt.Errorf("rm: %w", &plan.NoMatchError{Address: "t.n"}), "wxmedia state list shows the addresses"},
		{"cache digest none", &state.DigestPrefixError{Prefix: "abcdef"}, "wxmedia state cache list shows the digests"},
		{"cache digest several", &state.DigestPrefixError{Prefix: "ab", Digests: []string{"ab1", "ab2"}}, "give more digits"},
		{"import unknown", &plan.NotConfiguredError{Address: "t.n"}, "add the resource block first"},
		{"import unkeyed", &plan.NotConfiguredError{Address: "t.n", Key: &plan.ModuleKeyError{Call: "t.n", Examples: []string{`t.n["a b"]`}}}, `give the instance key, the address quoted for the shell: wxmedia import 't.n["a b"]' ID`},
		{"import managed", &apply.ManagedError{Address: "t.n", IDField: "media_id", ID: "x"}, "wxmedia state rm t.n first"},
		{"push field", &plan.DocumentError{Name: "s.json", Err: &plan.FieldError{Where: "cache[0]", Field: "sha256", Reason: "bad"}, Checked: true}, "state pull writes a document of this form"},
		{"push not a document", &plan.DocumentError{Name: "s.json", Err: fmt.Errorf("bad"), NotDocument: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hints := runtimeHints(tc.err)
			if tc.want == "" {
				if len(hints) != 0 {
					t.Fatalf("hints %q, want none", hints)
				}
				return
			}
			if len(hints) == 0 || !strings.Contains(hints[0], tc.want) {
				t.Fatalf("hints %q, want one containing %q", hints, tc.want)
			}
		})
	}
}

// A lock that only readers held has no holder to force-unlock.
func TestReaderLockHintsNoForceUnlock(t *testing.T) {
	for _, h := range runtimeHints(&state.LockedError{Path: "p", Reader: true, Waited: 5 * time.Second}) {
		if strings.Contains(h, "force-unlock") {
			t.Errorf("hint %q for a lock held by readers", h)
		}
	}
}

// The message text never chooses a hint: an error that only says what a
// typed one would say gets none.
func TestHintsIgnoreMessageText(t *testing.T) {
	for _, msg := range []string{
		"reply verification failed: Wechatpay-Timestamp 1 is 7m0s from the local clock",
		"SIGNERROR: v2 reply sign does not verify",
		"state is locked by another wxmedia",
		"dial tcp: connect: connection refused",
	} {
		if h := runtimeHints(fmt.Errorf("%s", msg)); len(h) != 0 {
			t.Errorf("%q got hints %q", msg, h)
		}
	}
}

func TestWithChdir(t *testing.T) {
	for _, tc := range []struct{ hint, dir, want string }{
		{"run wxmedia plan again", "", "run wxmedia plan again"},
		{"run wxmedia plan again", "media", "run wxmedia -chdir=media plan again"},
		{"wxmedia state list shows them; wxmedia force-unlock", "a b", "wxmedia -chdir='a b' state list shows them; wxmedia -chdir='a b' force-unlock"},
		{"the wxmedia: prefix", "d", "the wxmedia: prefix"},
	} {
		if got := withChdir(tc.hint, tc.dir); got != tc.want {
			t.Errorf("withChdir(%q, %q) = %q, want %q", tc.hint, tc.dir, got, tc.want)
		}
	}
}

// A key whose quotes the shell removed: when the quoted address is in the
// state, the quoting is the whole hint; when it is not, the instances of
// the resource follow.
func TestInstanceHintsUnquoted(t *testing.T) {
	uq := &plan.UnquotedKeyError{Address: plan.Address{Type: "t", Name: "n", Key: "z", HasKey: true}}
	exists := &plan.InstanceNotFoundError{Given: "t.n[z]", Resource: "t.n", Instances: []string{`t.n["a"]`, `t.n["z"]`}, Unquoted: uq}
	if h := runtimeHints(exists); len(h) != 1 || !strings.Contains(h[0], `wxmedia state show 't.n["z"]'`) {
		t.Errorf("quoted address in the state: hints %q, want only the quoting", h)
	}
	missing := &plan.InstanceNotFoundError{Given: "t.n[z]", Resource: "t.n", Instances: []string{`t.n["a"]`}, Unquoted: uq}
	if h := runtimeHints(missing); len(h) != 2 || h[1] != `the instances of t.n are: t.n["a"]` {
		t.Errorf("quoted address not in the state: hints %q, want the quoting and the instances", h)
	}
}
