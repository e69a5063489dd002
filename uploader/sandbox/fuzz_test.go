package sandbox

import (
	"bytes"
	"net/http"
	"testing"
)

// FuzzMultipart feeds arbitrary request bodies to the sandbox's v3 and v2
// multipart readers: they refuse or parse, never panic, and a v3 body they
// accept always has its meta part and a file part, in either order.
func FuzzMultipart(f *testing.F) {
	f.Add("b", []byte("--b\r\nContent-Disposition: form-data; name=\"meta\"\r\nContent-Type: application/json\r\n\r\n{\"filename\":\"a.png\",\"sha256\":\"00\"}\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n\r\n--b--\r\n"))
	f.Add("b", []byte("--b\r\nContent-Disposition: form-data; name=\"mch_id\"\r\n\r\n1900000001\r\n--b\r\nContent-Disposition: form-data; name=\"media\"; filename=\"a.jpg\"\r\n\r\n\xff\xd8\xff\r\n--b--\r\n"))
	f.Add("b", []byte("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.png\"\r\n\r\n\x89PNG\r\n\x1a\n\r\n--b\r\nContent-Disposition: form-data; name=\"meta\"\r\n\r\n{}\r\n--b--\r\n"))
	f.Add("", []byte("--\r\n"))
	f.Fuzz(func(t *testing.T, boundary string, body []byte) {
		for _, def := range apiDefs {
			r, err := http.NewRequest("POST", "https://127.0.0.1"+def.path, bytes.NewReader(body))
			if err != nil {
				return
			}
			r.Header.Set("Content-Type", "multipart/form-data; boundary=\""+boundary+"\"")
			if def.v2 {
				_, _, _, _ = readV2Body(r, def)
				continue
			}
			meta, _, err := readV3Body(r, def)
			if err == nil && len(meta) == 0 {
				t.Fatalf("%s: accepted a body without meta", def.name)
			}
		}
	})
}
