package interop

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"testing"
	"time"

	"github.com/wxmedia/wxmedia/uploader"
	"github.com/wxmedia/wxmedia/uploader/sandbox"
)

// The Go SDKs cannot be fetched here (wechatpay-go is not served by the
// module proxy this project uses; gopay is not a dependency), so these
// tests rebuild the requests their uploaders send, from their published
// source, and send them to the sandbox over real HTTPS:
//
//   - gopay (wechat/v3, V3MediaUploadImage and siblings): the meta object
//     is a BodyMap JSON-encoded with encoding/json (keys sorted, so 002's
//     meta is {"digest":…,"filename":…}), signed as such; the body is
//     written by ranging over a Go map, so meta and file come in either
//     order; meta is a text field (WriteField: no Content-Type) and file a
//     CreateFormFile part (application/octet-stream); Wechatpay-Serial is
//     the platform serial it was given.
//   - wechatpay-go (services/fileuploader): meta is json.Marshal of a map
//     (sorted keys, HTML escaping of <, > and &), sent first as a part with
//     Content-Type application/json, then the file with the caller's
//     content type.
type shape struct {
	metaFirst bool
	metaCT    string // meta part Content-Type; "" for none
	fileCT    string
	filename  string
}

func TestGoSDKShapes(t *testing.T) {
	s, err := sandbox.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	creds, err := s.RegisterMerchant("1900000001")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	key, err := uploader.LoadPrivateKey(creds.PrivateKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := uploader.LoadPublicKey(creds.PlatformPublicKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	hc, err := uploader.NewHTTPClient(creds.CAFile)
	if err != nil {
		t.Fatal(err)
	}

	nonce := 0
	upload := func(t *testing.T, api uploader.API, file string, sh shape) {
		spec, _ := uploader.SpecForAPI(api)
		content := testFiles[file]
		sum := sha256.Sum256(content)
		// encoding/json of a map: sorted keys, HTML escaping.
		meta, err := json.Marshal(map[string]string{"filename": sh.filename, spec.DigestField: hex.EncodeToString(sum[:])})
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		writeMeta := func() {
			h := textproto.MIMEHeader{"Content-Disposition": {`form-data; name="meta"`}}
			if sh.metaCT != "" {
				h.Set("Content-Type", sh.metaCT)
			}
			pw, _ := w.CreatePart(h)
			pw.Write(meta)
		}
		writeFile := func() {
			h := textproto.MIMEHeader{"Content-Disposition": {fmt.Sprintf(`form-data; name="file"; filename="%s"`, sh.filename)}, "Content-Type": {sh.fileCT}}
			pw, _ := w.CreatePart(h)
			pw.Write(content)
		}
		if sh.metaFirst {
			writeMeta()
			writeFile()
		} else {
			writeFile()
			writeMeta()
		}
		w.Close()
		nonce++
		ts := time.Now().Unix()
		n := fmt.Sprintf("shape%027d", nonce)
		sig, err := uploader.Sign(key, uploader.SignatureMessage("POST", spec.Path, ts, n, meta))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("POST", srv.URL()+spec.Path, &body)
		req.Header.Set("Content-Type", w.FormDataContentType())
		req.Header.Set("Authorization", uploader.AuthorizationHeader(creds.MchID, n, ts, creds.SerialNo, sig))
		req.Header.Set("Wechatpay-Serial", creds.PlatformPublicKeyID)
		req.Header.Set("Accept", "application/json")
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		reply, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d %s", spec.Path, res.StatusCode, reply)
		}
		if err := uploader.Verify(pub, uploader.ReplyMessage(res.Header.Get("Wechatpay-Timestamp"), res.Header.Get("Wechatpay-Nonce"), reply), res.Header.Get("Wechatpay-Signature")); err != nil {
			t.Fatalf("%s: reply signature: %v", spec.Path, err)
		}
		var ids map[string]string
		if err := json.Unmarshal(reply, &ids); err != nil {
			t.Fatal(err)
		}
		rec, ok := s.Lookup(ids[spec.IDField])
		if !ok || rec.Filename != sh.filename || rec.SHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("%s: issued %q, record %+v", spec.Path, reply, rec)
		}
	}

	for _, a := range v3APIs {
		for _, metaFirst := range []bool{true, false} {
			sh := shape{metaFirst: metaFirst, fileCT: "application/octet-stream", filename: a.file}
			t.Run(fmt.Sprintf("gopay/%s/metaFirst=%s", a.api, strconv.FormatBool(metaFirst)), func(t *testing.T) { upload(t, a.api, a.file, sh) })
		}
	}
	// wechatpay-go has uploaders for two of the seeded APIs (image, video).
	for _, a := range v3APIs[:2] {
		sh := shape{metaFirst: true, metaCT: "application/json", fileCT: uploader.ContentType(a.file), filename: "logo&<co>" + a.file[len(a.file)-4:]}
		t.Run("wechatpay-go/"+string(a.api), func(t *testing.T) { upload(t, a.api, a.file, sh) })
	}
	if st := s.Stats(); st.Uploads != 2*len(v3APIs)+2 {
		t.Errorf("sandbox issued %d identifiers, want %d", st.Uploads, 2*len(v3APIs)+2)
	}
}
