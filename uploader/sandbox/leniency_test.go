package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"strings"
	"testing"

	"github.com/wxmedia/wxmedia/uploader"
)

// part is one multipart part of a hand-built v3 body.
type part struct {
	name, filename, contentType string
	body                        []byte
}

// multipartBody writes parts in the order given, as a form-data library
// would: a filename parameter only when set, a Content-Type only when set.
func multipartBody(t *testing.T, parts ...part) []byte {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if err := w.SetBoundary("b0undary"); err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := fmt.Sprintf(`form-data; name="%s"`, p.name)
		if p.filename != "" {
			cd += fmt.Sprintf(`; filename="%s"`, p.filename)
		}
		h.Set("Content-Disposition", cd)
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		pw.Write(p.body)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestLeniency sends what published SDKs send and the pages allow; each was
// refused before the sandbox learnt to read the body as the server does.
func TestLeniency(t *testing.T) {
	s, creds := openSandbox(t, t.TempDir())
	content := pngBytes("lenient")
	sum := sha256.Sum256(content)
	meta := uploader.MetaJSON("sha256", "a.png", hex.EncodeToString(sum[:]))
	metaPart := part{name: "meta", contentType: "application/json", body: meta}
	filePart := part{name: "file", filename: "a.png", contentType: "image/png", body: content}
	tests := []struct {
		name string
		mod  func(r *raw)
	}{
		// gopay fills a Go map and ranges over it: file before meta in a
		// share of its requests.
		{"file part before meta (gopay)", func(r *raw) { r.body = multipartBody(t, filePart, metaPart) }},
		// form-data takes the name on disk; wechatpay-node-v3 2.2.1 sends a
		// fixed one; the pages constrain meta's filename only.
		{"file part's own filename", func(r *raw) { r.partFilename = "IMG_0001.JPG" }},
		{"file part with a fixed filename, file first (wechatpay-node-v3)", func(r *raw) {
			fp := filePart
			fp.filename, fp.contentType = "72fe0092be0cf9dd8420579cc954fb4e.jpg", "image/jpg"
			r.body = multipartBody(t, fp, part{name: "meta", body: meta})
		}},
		// @fidm/x509, behind wechatpay-node-v3's documented constructor,
		// gives the serial in lowercase hex.
		{"lowercase serial_no (wechatpay-node-v3)", func(r *raw) { r.serial = strings.ToLower(r.serial) }},
		{"mixed-case serial_no", func(r *raw) { r.serial = strings.ToLower(r.serial[:20]) + r.serial[20:] }},
		// wechatpay-axios-plugin's Multipart sends a text field without a
		// Content-Type; its docs also show meta with a "meta.json" filename.
		{"meta part without a Content-Type (axios-plugin)", func(r *raw) {
			r.body = multipartBody(t, part{name: "meta", body: meta}, filePart)
		}},
		{"meta part with a filename", func(r *raw) {
			r.body = multipartBody(t, part{name: "meta", filename: "meta.json", contentType: "application/json", body: meta}, filePart)
		}},
		{"an extra part the pages do not name", func(r *raw) {
			r.body = multipartBody(t, metaPart, filePart, part{name: "note", body: []byte("x")})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validRaw(t, creds)
			r.meta, r.content = meta, content
			tt.mod(&r)
			w, reply := r.send(t, s)
			if w.Code != 200 || reply["media_id"] == "" {
				t.Fatalf("got %d %s, want 200 with a media_id", w.Code, w.Body.String())
			}
			rec, ok := s.Lookup(reply["media_id"])
			if !ok || rec.Filename != "a.png" || rec.SHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("issued record = %+v, %v; want meta's filename a.png and the content's digest", rec, ok)
			}
		})
	}
}

// TestStrictInAnyOrder: what the pages refuse is refused whichever order
// the parts come in, and each refusal names the page's rule.
func TestStrictInAnyOrder(t *testing.T) {
	s, creds := openSandbox(t, t.TempDir())
	content := pngBytes("strict")
	sum := sha256.Sum256(content)
	good := hex.EncodeToString(sum[:])
	tests := []struct {
		name     string
		filename string // meta's
		digest   string
		content  []byte
		code     string
		msg      string
	}{
		{"digest", "a.png", strings.Repeat("0", 64), content, "PARAM_ERROR", "sha256 has invalid format"},
		{"suffix of meta's filename", "a.gif", good, content, "PARAM_ERROR", "Image format error"},
		{"magic bytes", "a.jpg", good, content, "PARAM_ERROR", "Image format error"},
		{"empty file", "a.png", hex.EncodeToString(func() []byte { s := sha256.Sum256(nil); return s[:] }()), []byte{}, "PARAM_ERROR", "file is empty"},
		{"size", "a.png", "", append(pngBytes("big"), make([]byte, 2<<20)...), "PARAM_ERROR", "FIle exceed the size limit"},
	}
	for _, tt := range tests {
		for _, fileFirst := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/fileFirst=%v", tt.name, fileFirst), func(t *testing.T) {
				digest := tt.digest
				if digest == "" {
					d := sha256.Sum256(tt.content)
					digest = hex.EncodeToString(d[:])
				}
				meta := uploader.MetaJSON("sha256", tt.filename, digest)
				parts := []part{{name: "meta", body: meta}, {name: "file", filename: "a.png", contentType: "image/png", body: tt.content}}
				if fileFirst {
					parts[0], parts[1] = parts[1], parts[0]
				}
				r := validRaw(t, creds)
				r.meta, r.body = meta, multipartBody(t, parts...)
				w, reply := r.send(t, s)
				if w.Code != 400 || reply["code"] != tt.code || !strings.Contains(reply["message"], tt.msg) {
					t.Fatalf("got %d %s, want 400 %s containing %q", w.Code, w.Body.String(), tt.code, tt.msg)
				}
			})
		}
	}
	// The signature and the timestamp window, file first: a meta part
	// whose bytes differ from the signed JSON by one space, and a timestamp
	// 301 s old.
	meta := uploader.MetaJSON("sha256", "a.png", good)
	for _, tt := range []struct {
		name     string
		sentMeta []byte
		age      int64
		msg      string
	}{
		{"signature", append([]byte(" "), meta...), 0, "signature does not verify"},
		{"timestamp", meta, 301, "timestamp"},
	} {
		t.Run(tt.name+"/fileFirst=true", func(t *testing.T) {
			r := validRaw(t, creds)
			r.meta, r.ts = meta, r.ts-tt.age
			r.body = multipartBody(t, part{name: "file", filename: "a.png", body: content}, part{name: "meta", body: tt.sentMeta})
			w, reply := r.send(t, s)
			if w.Code != 401 || reply["code"] != "SIGN_ERROR" || !strings.Contains(reply["message"], tt.msg) {
				t.Fatalf("got %d %s, want 401 SIGN_ERROR containing %q", w.Code, w.Body.String(), tt.msg)
			}
		})
	}
	if st := s.Stats(); st.Uploads != 0 {
		t.Errorf("refused uploads were counted: %+v", st)
	}
}
