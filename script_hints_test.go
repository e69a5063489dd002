package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"strconv"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/wxmedia/wxmedia/state"
)

// mkkey rsa|ec FILE: writes a new PKCS#8 private key in PEM; with
// "ecpub" and "rsapub", the public key of a new key (PKIX) instead.
func cmdMkkey(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: mkkey rsa|ec|rsapub|ecpub FILE")
	}
	var key crypto.Signer
	var err error
	switch args[0] {
	case "rsa", "rsapub":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ec", "ecpub":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		ts.Fatalf("mkkey: unknown kind %q", args[0])
	}
	ts.Check(err)
	var block *pem.Block
	if args[0] == "rsapub" || args[0] == "ecpub" {
		der, err := x509.MarshalPKIXPublicKey(key.Public())
		ts.Check(err)
		block = &pem.Block{Type: "PUBLIC KEY", Bytes: der}
	} else {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		ts.Check(err)
		block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), pem.EncodeToMemory(block), 0o600))
}

// mkcert KEYFILE FILE: writes a self-signed certificate for the private
// key in KEYFILE (PEM, PKCS#8).
func cmdMkcert(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: mkcert KEYFILE FILE")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	block, _ := pem.Decode(b)
	if block == nil {
		ts.Fatalf("mkcert: %s holds no PEM block", args[0])
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	ts.Check(err)
	signer := k.(crypto.Signer)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0x1DDE55AD98ED),
		Subject:      pkix.Name{CommonName: "1900000001"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
}

// hclset FILE BLOCK ATTR EXPR: sets (or, with EXPR "-", removes) the
// attribute ATTR of the first block of type BLOCK in the HCL file FILE,
// EXPR being HCL expression text.
func cmdHclset(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 4 {
		ts.Fatalf("usage: hclset FILE BLOCK ATTR EXPR|-")
	}
	path := ts.MkAbs(args[0])
	src, err := os.ReadFile(path)
	ts.Check(err)
	f, diags := hclwrite.ParseConfig(src, args[0], hcl.InitialPos)
	if diags.HasErrors() {
		ts.Fatalf("hclset: %s", diags)
	}
	for _, b := range f.Body().Blocks() {
		if b.Type() != args[1] {
			continue
		}
		if args[3] == "-" {
			b.Body().RemoveAttribute(args[2])
		} else {
			expr, diags := hclwrite.ParseConfig([]byte("x = "+args[3]+"\n"), "expr", hcl.InitialPos)
			if diags.HasErrors() {
				ts.Fatalf("hclset: %s", diags)
			}
			b.Body().SetAttributeRaw(args[2], expr.Body().GetAttribute("x").Expr().BuildTokens(nil))
		}
		ts.Check(os.WriteFile(path, f.Bytes(), 0o600))
		return
	}
	ts.Fatalf("hclset: no %s block in %s", args[1], args[0])
}

// holdlock STATEFILE: opens the local state STATEFILE for writing, which
// takes its lock, and holds it until the script ends.
func cmdHoldlock(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: holdlock STATEFILE")
	}
	st, err := state.OpenLocal(ts.MkAbs(args[0]), state.Options{Command: "apply"})
	ts.Check(err)
	ts.Defer(func() { st.Close() })
}

// shaprefix FILE N NAME: sets $NAME to the first N hex digits of FILE's
// SHA-256.
func cmdShaprefix(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: shaprefix FILE N NAME")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	sum := sha256.Sum256(b)
	ts.Setenv(args[2], hex.EncodeToString(sum[:])[:n])
}

// jsonenv PATH NAME: sets $NAME to the string at PATH of the last
// command's stdout, a JSON document (PATH as for jsonfield).
func cmdJSONEnv(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: jsonenv PATH NAME")
	}
	v, ok := jsonField(ts, args[0]).(string)
	if !ok || v == "" {
		ts.Fatalf("jsonenv: %s is not a non-empty string", args[0])
	}
	ts.Setenv(args[1], v)
}
