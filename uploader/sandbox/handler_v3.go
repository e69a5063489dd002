package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// v3Handler serves one APIv3 upload API.
type v3Handler struct {
	s   *Sandbox
	def *apiDef
}

func (h *v3Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s, def := h.s, h.def
	c := &call{w: w, r: r, reqID: randomHex(16), start: time.Now()}
	w.Header().Set("Request-ID", c.reqID)
	w.Header().Set(InstanceHeader, s.id)
	defer s.logCall(def.name, c)
	r.Body = http.MaxBytesReader(w, r.Body, def.maxSize+bodyOverhead)
	fail := func(status int, code, message string) {
		c.status, c.code = status, code
		// Read what the client is still sending, so that it sees the reply
		// rather than a broken pipe.
		_, _ = io.Copy(io.Discard, r.Body)
		s.replyJSON(w, r, status, errorBody(code, message), false)
	}
	faults, ok := s.prologue(c, def, fail)
	if !ok {
		return
	}

	// Authorization: who, with which key, when.
	auth, m, ok := s.authMerchant(c, def.sign, def.noAuth, fail)
	if !ok {
		return
	}
	ts, err := strconv.ParseInt(auth["timestamp"], 10, 64)
	if err != nil || ts <= 0 {
		fail(http.StatusUnauthorized, def.sign, "timestamp "+auth["timestamp"]+" is not a unix time")
		return
	}
	now := s.now()
	if d := now.Unix() - ts; d > int64(MaxClockSkew/time.Second) || -d > int64(MaxClockSkew/time.Second) {
		fail(http.StatusUnauthorized, def.sign, fmt.Sprintf("timestamp %d is %ds from the server clock (limit %s)", ts, d, MaxClockSkew))
		return
	}
	if ws := r.Header.Get("Wechatpay-Serial"); ws != "" && ws != s.platformKeyID && !s.isCertSerial(ws) {
		fail(http.StatusBadRequest, def.param, fmt.Sprintf("Wechatpay-Serial %s is neither the platform public key ID (%s) nor the serial of a valid platform certificate (%s) of this server",
			ws, s.platformKeyID, strings.Join(s.PlatformCertificateSerials(), ", ")))
		return
	}

	// Multipart layout.
	meta, content, perr := readV3Body(r, def)
	if perr != nil {
		var tooBig *http.MaxBytesError
		if errors.Is(perr, errFileTooBig) || errors.As(perr, &tooBig) {
			fail(http.StatusBadRequest, def.param, def.msg.size)
		} else {
			fail(http.StatusBadRequest, def.invalid, perr.Error())
		}
		return
	}

	// Signature over the meta part's exact bytes.
	if !verifyRequest(m.pub, r.Method, r.URL.RequestURI(), auth["timestamp"], auth["nonce_str"], meta, auth["signature"]) {
		fail(http.StatusUnauthorized, def.sign, "signature does not verify with the registered key of merchant "+c.mchid)
		return
	}
	fresh, allowed := s.useNonce(c.mchid, auth["nonce_str"], def.name, now)
	if !fresh {
		fail(http.StatusUnauthorized, def.sign, "nonce_str "+auth["nonce_str"]+" was already used")
		return
	}
	if !allowed {
		fail(http.StatusTooManyRequests, def.rate, "Frequency limit: operation is too fast, please retry later")
		return
	}

	// Meta JSON and content.
	metaName, metaDigest, err := readMeta(meta, def.digestKey)
	if err != nil {
		fail(http.StatusBadRequest, def.param, err.Error())
		return
	}
	// The pages constrain meta's filename; the file part's own filename
	// (form-data libraries send the name on disk, wechatpay-node-v3 a
	// fixed one) takes no part in the checks.
	filename := metaName
	sum := sha256.Sum256(content)
	c.sha = hex.EncodeToString(sum[:])
	switch {
	case !strings.EqualFold(metaDigest, c.sha):
		fail(http.StatusBadRequest, def.param, def.msg.digest)
		return
	case len(content) == 0:
		fail(http.StatusBadRequest, def.param, def.msg.empty)
		return
	}
	spoil, f := s.finishUpload(c, def, faults, filename, content, http.StatusBadRequest, now)
	if f != nil {
		fail(f.status, f.code, f.msg)
		return
	}
	c.status = http.StatusOK
	body, _ := json.Marshal(map[string]string{def.idField: c.id})
	s.replyJSON(w, r, http.StatusOK, body, spoil)
}

var errFileTooBig = errors.New("file part exceeds the size limit")

// readV3Body reads the multipart body: the two parameters of the pages'
// tables, meta (JSON) and file, in either order — gopay builds its body
// from a Go map, so file comes first in a share of its requests — and
// ignores any other part, as the pages constrain none. It returns the meta
// part's exact bytes and the file bytes. The file part's own filename is
// not read: meta's filename is the one the pages constrain.
func readV3Body(r *http.Request, def *apiDef) (meta, content []byte, err error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, nil, errors.New("Content-Type has invalid format: the request must be multipart/form-data with a boundary")
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var sawMeta, sawFile bool
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("the request body has invalid format: it is not a well-formed multipart/form-data body: %w", err)
		}
		name, _ := disposition(p.Header.Get("Content-Disposition"))
		switch name {
		case "meta":
			if sawMeta {
				return nil, nil, errors.New("meta has invalid format: the meta part is given twice")
			}
			sawMeta = true
			// A meta part without a Content-Type is what the form-data
			// libraries send for a text field; one that has it must say JSON.
			if ct := p.Header.Get("Content-Type"); ct != "" {
				if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
					return nil, nil, fmt.Errorf("meta has invalid format: its Content-Type %q is not application/json", ct)
				}
			}
			meta, err = io.ReadAll(io.LimitReader(p, maxMetaSize+1))
			if err != nil {
				return nil, nil, err
			}
			if len(meta) > maxMetaSize {
				return nil, nil, errors.New("meta has invalid format: it is too large")
			}
		case "file":
			if sawFile {
				return nil, nil, errors.New("file has invalid format: the file part is given twice")
			}
			sawFile = true
			content, err = io.ReadAll(io.LimitReader(p, def.maxSize+1))
			if err != nil {
				return nil, nil, err
			}
			if int64(len(content)) > def.maxSize {
				return nil, nil, errFileTooBig
			}
		default:
			if _, err := io.Copy(io.Discard, p); err != nil {
				return nil, nil, err
			}
		}
	}
	switch {
	case !sawMeta || len(meta) == 0:
		return nil, nil, errors.New("meta is required: the request has no meta part (the media file meta information), or it is empty")
	case !sawFile:
		return nil, nil, errors.New("file is required: the request has no file part (the media file's binary content)")
	}
	return meta, content, nil
}

// disposition returns the name and filename of a form-data part.
func disposition(v string) (name, filename string) {
	d, params, err := mime.ParseMediaType(v)
	if err != nil || d != "form-data" {
		return "", ""
	}
	return params["name"], params["filename"]
}

// readMeta checks that meta is a JSON object with exactly "filename" and
// digestKey, both non-empty strings, the digest 64 hex characters.
func readMeta(meta []byte, digestKey string) (filename, digest string, err error) {
	var fields map[string]any
	d := json.NewDecoder(bytes.NewReader(meta))
	if err := d.Decode(&fields); err != nil || d.More() {
		return "", "", errors.New("meta has invalid format: it is not one JSON object")
	}
	if len(fields) != 2 || fields["filename"] == nil || fields[digestKey] == nil {
		return "", "", fmt.Errorf("meta has invalid format: it must have exactly %q and %q", "filename", digestKey)
	}
	filename, _ = fields["filename"].(string)
	digest, _ = fields[digestKey].(string)
	if filename == "" {
		return "", "", errors.New("meta filename has invalid format: it must be a non-empty string")
	}
	if _, err := hex.DecodeString(digest); err != nil || len(digest) != 64 {
		return "", "", fmt.Errorf("meta %s has invalid format: it must be 64 hex characters", digestKey)
	}
	return filename, digest, nil
}
