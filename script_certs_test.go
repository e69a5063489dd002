package main

import (
	"encoding/json"
	"net/http"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["sbrotate"] = cmdSbrotate
}

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
