package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/wxmedia/wxmedia/uploader"
)

// sbrotate [HCLFILE]: the sandbox rotates its platform certificate: the
// server named by the merchant block HCLFILE (POST
// /_sandbox/rotate-certificate), or the script's own sandbox. It sets
// $ROTATED to the new certificate's serial.
func cmdSbrotate(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 1 {
		ts.Fatalf("usage: sbrotate [HCLFILE]")
	}
	if len(args) == 0 {
		serial, err := sandboxOf(ts).RotatePlatformCertificate()
		ts.Check(err)
		ts.Setenv("ROTATED", serial)
		return
	}
	endpoint, hc := sandboxServer(ts, args[0])
	resp, err := hc.Post(endpoint+"/_sandbox/rotate-certificate", "application/json", nil)
	ts.Check(err)
	defer resp.Body.Close()
	var reply struct {
		SerialNo string `json:"serial_no"`
	}
	if resp.StatusCode != http.StatusOK {
		ts.Fatalf("POST /_sandbox/rotate-certificate: %s", resp.Status)
	}
	ts.Check(json.NewDecoder(resp.Body).Decode(&reply))
	if reply.SerialNo == "" {
		ts.Fatalf("POST /_sandbox/rotate-certificate returned no serial")
	}
	ts.Setenv("ROTATED", reply.SerialNo)
}

// TestCertificateHints: a failed certificate download is hinted by its
// type: a key that does not decrypt, a merchant without certificates, a
// reply that cannot be trusted.
func TestCertificateHints(t *testing.T) {
	notFound := &uploader.APIError{StatusCode: 404, Code: "RESOURCE_NOT_EXISTS"}
	for _, tt := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("upload: %w: certificate 0: decryption failed", uploader.ErrCertificates), "check api_v3_key"},
		{fmt.Errorf("upload: %w: GET /v3/certificates: %w", uploader.ErrCertificates, notFound), "has no platform certificates"},
		{fmt.Errorf("upload: %w: %w", uploader.ErrCertificates, &uploader.VerifyError{Protocol: uploader.ProtocolV3, Reason: "names Wechatpay-Serial"}), "or api_v3_key) against the merchant platform"},
		{fmt.Errorf("upload: %w: GET /v3/certificates: %w", uploader.ErrCertificates, &uploader.APIError{StatusCode: 500}), "failed after every retry"},
	} {
		hints := strings.Join(runtimeHints(tt.err), "\n")
		if !strings.Contains(hints, tt.want) {
			t.Errorf("hints for %v = %q, want %q", tt.err, hints, tt.want)
		}
	}
}
