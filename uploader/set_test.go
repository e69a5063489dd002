package uploader

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testMerchant is a v3 merchant with the test keys.
func testMerchant(mchID, service string, maxPerSecond float64) Merchant {
	return Merchant{
		MchID: mchID, V3: true, Service: service, SerialNo: testSerial,
		PrivateKeyFile:      filepath.Join("testdata", "merchant_test_key.pem"),
		PlatformPublicKeyID: testPlatform, PlatformPublicKeyFile: filepath.Join("testdata", "platform_test_pub.pem"),
		MaxRequestsPerSecond: maxPerSecond,
	}
}

// waited reports how long the second of two throttled requests, one by a
// then one by b, waited.
func waited(t *testing.T, a, b *Client) time.Duration {
	t.Helper()
	ctx := context.Background()
	if err := a.cfg.Throttle(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := b.cfg.Throttle(ctx); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

// Merchants of one merchant ID at one service share one pace, at the lowest
// max_requests_per_second among them; another service is paced apart.
func TestNewSetSharesLimiterPerMerchantID(t *testing.T) {
	set, err := NewSet(map[string]Merchant{
		"a":     testMerchant("1900000001", "wechatpay", 0),
		"b":     testMerchant("1900000001", "wechatpay", 4),
		"other": testMerchant("1900000001", "https://pay.example.com", 0),
	}, SetOptions{Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	// 4 requests per second: the next request 250ms after the first.
	if d := waited(t, set["a"], set["b"]); d < 150*time.Millisecond {
		t.Errorf("b's request waited %v after a's: want about 250ms (one pace of 4/s)", d)
	}
	if d := waited(t, set["other"], set["other"]); d > 100*time.Millisecond {
		t.Errorf("a merchant of another service waited %v: want no pace", d)
	}
	if set["a"].endpoint != DefaultEndpoint {
		t.Errorf("endpoint %q, want WeChat Pay's default", set["a"].endpoint)
	}
	if set["a"].http.Transport != set["other"].http.Transport {
		t.Errorf("merchants trusting the same CAs must share one keep-alive pool")
	}
}

// An error names the merchant and the attribute of the file, and wraps the
// loader's error.
func TestNewSetErrorNamesMerchantAndAttribute(t *testing.T) {
	bad := testMerchant("1900000001", "wechatpay", 0)
	bad.PlatformPublicKeyFile = filepath.Join(t.TempDir(), "missing.pem")
	_, err := NewSet(map[string]Merchant{"ok": testMerchant("1900000002", "wechatpay", 0), "shop": bad}, SetOptions{})
	if err == nil || !strings.HasPrefix(err.Error(), `merchant "shop": platform_public_key_file: `) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error %v: want merchant \"shop\": platform_public_key_file: … wrapping fs.ErrNotExist", err)
	}
}

// A sandbox merchant's endpoint and credentials are the ones the sandbox
// issues for its merchant ID, once per merchant, in name order; the
// sandbox's error is returned as it is.
func TestNewSetSandboxMerchants(t *testing.T) {
	var asked []string
	issue := func(mchID string) (Merchant, error) {
		asked = append(asked, mchID)
		m := testMerchant(mchID, "", 0)
		m.V3, m.Endpoint = false, "https://127.0.0.1:9/"+mchID
		return m, nil
	}
	sb := func(mchID string) Merchant {
		return Merchant{MchID: mchID, V3: true, Sandbox: true, Service: "sandbox-1"}
	}
	set, err := NewSet(map[string]Merchant{"z": sb("1900000009"), "a": sb("1900000001")}, SetOptions{Sandbox: issue})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(asked, ",") != "1900000001,1900000009" {
		t.Errorf("sandbox asked for %v, want each merchant once in name order", asked)
	}
	if set["z"].endpoint != "https://127.0.0.1:9/1900000009" || !set["z"].v3 {
		t.Errorf("sandbox merchant: endpoint %q, v3 %v: want the issued endpoint over v3", set["z"].endpoint, set["z"].v3)
	}
	stop := errors.New("sandbox down")
	if _, err := NewSet(map[string]Merchant{"a": sb("1")}, SetOptions{Sandbox: func(string) (Merchant, error) { return Merchant{}, stop }}); err != stop {
		t.Errorf("error %v, want the sandbox's own", err)
	}
	if _, err := NewSet(map[string]Merchant{"a": sb("1")}, SetOptions{}); err == nil {
		t.Errorf("a sandbox merchant without a sandbox must fail")
	}
}
