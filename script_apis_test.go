package main

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// waitfile SRC DST: wait (up to 15 s) until SRC exists, then copy it to DST.
func cmdWaitfile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: waitfile SRC DST")
	}
	src := ts.MkAbs(args[0])
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, err := os.ReadFile(src)
		if err == nil && len(b) > 0 {
			dst := ts.MkAbs(args[1])
			ts.Check(os.MkdirAll(filepath.Dir(dst), 0o755))
			ts.Check(os.WriteFile(dst, b, 0o600))
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s did not appear within 15s", args[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mediaBytes returns a small file of the suffix's format (its magic bytes
// and a body carrying seed).
func mediaBytes(ext, seed string) ([]byte, error) {
	switch strings.ToLower(ext) {
	case ".png", ".jpg", ".jpeg", ".bmp":
		return makeImage(strings.ToLower(ext), seed)
	case ".mp4", ".mov", ".m4v", ".f4v":
		return append([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"), seed...), nil
	case ".pdf":
		return []byte("%PDF-1.4\n% " + seed + "\n%%EOF\n"), nil
	case ".avi":
		return append([]byte("RIFF\x00\x00\x00\x00AVI LIST"), seed...), nil
	case ".mkv":
		return append([]byte("\x1a\x45\xdf\xa3\x01\x00\x00\x00"), seed...), nil
	case ".flv":
		return append([]byte("FLV\x01\x05\x00\x00\x00\x09"), seed...), nil
	}
	return nil, fmt.Errorf("mkmedia: unsupported suffix %q", ext)
}

// mkmedia FILE [SEED]: write a small file of FILE's format (images, mp4,
// mov, m4v, f4v, avi, mkv, flv, pdf) whose bytes depend on SEED (default: FILE).
func cmdMkmedia(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: mkmedia FILE [SEED]")
	}
	seed := args[0]
	if len(args) == 2 {
		seed = args[1]
	}
	b, err := mediaBytes(filepath.Ext(args[0]), seed)
	ts.Check(err)
	p := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(filepath.Dir(p), 0o755))
	ts.Check(os.WriteFile(p, b, 0o644))
}

var hclAttr = regexp.MustCompile(`(?m)^\s*(endpoint|ca_certificate_file)\s*=\s*"([^"]*)"`)

// sbstats HCLFILE CHECK...: read a sandbox server's GET /_sandbox/stats,
// finding the server and its CA in the merchant block HCLFILE, and check
// counters: uploads=N, certificate_downloads=N, API=N (by_api, e.g.
// merchant_media_video=1), or FILE=N (by_sha256 of FILE's bytes, when FILE exists).
func cmdSbstats(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: sbstats HCLFILE CHECK...")
	}
	endpoint, hc := sandboxServer(ts, args[0])
	resp, err := hc.Get(endpoint + "/_sandbox/stats")
	ts.Check(err)
	defer resp.Body.Close()
	var st struct {
		Uploads              int            `json:"uploads"`
		ByAPI                map[string]int `json:"by_api"`
		BySHA256             map[string]int `json:"by_sha256"`
		CertificateDownloads int            `json:"certificate_downloads"`
	}
	if resp.StatusCode != http.StatusOK {
		ts.Fatalf("GET /_sandbox/stats: %s", resp.Status)
	}
	ts.Check(json.NewDecoder(resp.Body).Decode(&st))
	ts.Logf("sandbox stats: %+v", st)
	for _, check := range args[1:] {
		k, v, ok := strings.Cut(check, "=")
		want, err := strconv.Atoi(v)
		if !ok || err != nil {
			ts.Fatalf("check %q: want KEY=N", check)
		}
		var got int
		switch {
		case k == "uploads":
			got = st.Uploads
		case k == "certificate_downloads":
			got = st.CertificateDownloads
		case fileExists(ts.MkAbs(k)):
			b, err := os.ReadFile(ts.MkAbs(k))
			ts.Check(err)
			sum := sha256.Sum256(b)
			got = st.BySHA256[hex.EncodeToString(sum[:])]
		default:
			got = st.ByAPI[k]
		}
		if (got == want) == neg {
			ts.Fatalf("sandbox stats %s = %d, want %s%d", k, got, map[bool]string{true: "not ", false: ""}[neg], want)
		}
	}
}

// sandboxServer returns the endpoint of the sandbox server named by the
// merchant block HCLFILE, and an HTTPS client trusting its CA.
func sandboxServer(ts *testscript.TestScript, hclFile string) (string, *http.Client) {
	hcl, err := os.ReadFile(ts.MkAbs(hclFile))
	ts.Check(err)
	attrs := map[string]string{}
	for _, m := range hclAttr.FindAllStringSubmatch(string(hcl), -1) {
		attrs[m[1]] = m[2]
	}
	if attrs["endpoint"] == "" || attrs["ca_certificate_file"] == "" {
		ts.Fatalf("%s has no endpoint or ca_certificate_file", hclFile)
	}
	ca, err := os.ReadFile(attrs["ca_certificate_file"])
	ts.Check(err)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		ts.Fatalf("no CA certificate in %s", attrs["ca_certificate_file"])
	}
	return attrs["endpoint"], &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
