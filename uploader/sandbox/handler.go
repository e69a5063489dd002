package sandbox

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wxmedia/wxmedia/uploader"
)

const (
	// MaxClockSkew is how far a request timestamp may be from the sandbox clock.
	MaxClockSkew = 5 * time.Minute
	maxMetaSize  = 64 << 10
	// bodyOverhead is what a request body may hold beyond the file: meta, part headers, boundaries.
	bodyOverhead = 1 << 20
	nonceWindow  = 2 * MaxClockSkew
)

// messages are one API page's messages for content errors.
type messages struct {
	size, digest, format, filename, empty string
}

var apiMessages = map[uploader.API]messages{
	uploader.APIMerchantImage: {
		size:     "FIle exceed the size limit",
		digest:   "sha256 does not match the file content",
		format:   "image format error",
		filename: "image format error: filename must end in .jpg, .bmp or .png",
		empty:    "file is empty",
	},
	uploader.APIMerchantVideo: {
		size:     "文件大小不能超过5M,请检查后重新提交",
		digest:   "视频sha256值有误,请检查后重新提交",
		format:   "文件二进制内容不是视频,请检查后重新提交",
		filename: "视频文件名称不正确,请检查后重新提交",
		empty:    "文件为空,请检查后重新提交",
	},
	uploader.APIGlobalFile: {
		size:     "The file size of the uploaded file cannot exceed 5 M.",
		digest:   "The value of the uploaded file content calculated by sha256 encryption algorithm is inconsistent with the value of the transmitted field (digest).",
		format:   "The file type of uploaded file is currently not supported",
		filename: "The file type of uploaded file is currently not supported",
		empty:    "The uploaded file is empty",
	},
	uploader.APICouponImage: {
		size:     "图片文件大小不能超过2M",
		digest:   "图片文件摘要sha256与文件内容不一致",
		format:   "图片格式错误,只支持JPG、BMP、PNG",
		filename: "图片文件名不正确,必须以JPG、BMP、PNG为后缀,且不超过150个字符",
		empty:    "图片文件为空",
	},
}

func (s *Sandbox) newHandler() http.Handler {
	mux := http.NewServeMux()
	for _, spec := range uploader.Specs() {
		if spec.Protocol == uploader.ProtocolV3 {
			mux.Handle(spec.Path, &uploadHandler{s: s, spec: spec, msg: apiMessages[spec.API]})
		}
	}
	mux.HandleFunc("/_sandbox/stats", s.serveStats)
	mux.HandleFunc("/_sandbox/media/", s.serveMedia)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.replyJSON(w, http.StatusNotFound, errorBody("NOT_FOUND", "no such API: "+r.Method+" "+r.URL.Path), false)
	})
	return mux
}

// Handler returns the sandbox's HTTP handler: the v3 upload APIs,
// GET /_sandbox/stats and GET /_sandbox/media/{id}. It is the same handler
// every call.
func (s *Sandbox) Handler() http.Handler { return s.handler }

func (s *Sandbox) serveStats(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.replyJSON(w, http.StatusMethodNotAllowed, errorBody("METHOD_NOT_ALLOWED", "use GET"), false)
		return
	}
	body, _ := json.Marshal(s.Stats())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(append(body, '\n'))
}

// serveMedia answers the record of an issued identifier: GET
// /_sandbox/media/{id}, or the image_url itself for the coupon image API.
func (s *Sandbox) serveMedia(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimPrefix(r.URL.Path, "/_sandbox/media/")
	rec, ok := s.Lookup(token)
	if !ok {
		rec, ok = s.Lookup("https://" + r.Host + r.URL.Path)
	}
	if !ok || r.Method != http.MethodGet {
		s.replyJSON(w, http.StatusNotFound, errorBody("NOT_FOUND", "no media "+token), false)
		return
	}
	body, _ := json.Marshal(rec)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(body, '\n'))
}

func errorBody(code, message string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{code, message})
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// replyJSON writes a JSON reply signed with the platform key, as WeChat Pay
// signs its replies; spoil makes the signature wrong.
func (s *Sandbox) replyJSON(w http.ResponseWriter, status int, body []byte, spoil bool) {
	ts := strconv.FormatInt(s.now().Unix(), 10)
	nonce := randomHex(16)
	sig, err := uploader.Sign(s.platformKey, uploader.ReplyMessage(ts, nonce, body))
	if err != nil {
		http.Error(w, "signing failed", http.StatusInternalServerError)
		return
	}
	if spoil {
		raw, _ := base64.StdEncoding.DecodeString(sig)
		raw[len(raw)/2] ^= 0x5A
		sig = base64.StdEncoding.EncodeToString(raw)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Serial", s.platformKeyID)
	h.Set("Wechatpay-Signature", sig)
	h.Set("Wechatpay-Signature-Type", uploader.AuthScheme)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

type uploadHandler struct {
	s    *Sandbox
	spec uploader.Spec
	msg  messages
}

// call is one upload request in progress.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	reqID  string
	mchid  string
	sha    string
	status int
	code   string
	id     string
	start  time.Time
}

func (h *uploadHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s, spec := h.s, h.spec
	c := &call{w: w, r: r, reqID: randomHex(16), start: time.Now()}
	w.Header().Set("Request-ID", c.reqID)
	defer h.logCall(c)
	limit := spec.MaxSize + bodyOverhead
	r.Body = http.MaxBytesReader(w, r.Body, limit)

	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.fail(c, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "use POST")
		return
	}
	s.mu.Lock()
	closed, faults := s.closed, s.faults
	s.mu.Unlock()
	if closed {
		h.fail(c, http.StatusInternalServerError, spec.Codes.System, "sandbox is closed")
		return
	}
	if faults.Delay > 0 {
		t := time.NewTimer(faults.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			c.status = 499
			return
		}
	}
	if faults.Reset > 0 && s.roll() < faults.Reset {
		c.status, c.code = 0, "reset"
		_, _ = io.Copy(io.Discard, r.Body)
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	if faults.P500 > 0 && s.roll() < faults.P500 {
		h.fail(c, http.StatusInternalServerError, spec.Codes.System, "System error (injected fault)")
		return
	}
	if faults.P429 > 0 && s.roll() < faults.P429 {
		h.fail(c, http.StatusTooManyRequests, spec.Codes.RateLimit, "Frequency limit (injected fault)")
		return
	}

	// Authorization.
	auth, err := uploader.ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		h.fail(c, http.StatusUnauthorized, spec.Codes.Sign, "Authorization header is invalid: "+err.Error())
		return
	}
	for _, f := range uploader.AuthFields {
		if auth[f] == "" {
			h.fail(c, http.StatusUnauthorized, spec.Codes.Sign, "Authorization header lacks "+f)
			return
		}
	}
	c.mchid = auth["mchid"]
	s.mu.Lock()
	m := s.merchants[c.mchid]
	s.mu.Unlock()
	if m == nil {
		h.fail(c, http.StatusForbidden, spec.Codes.NoAuth, "merchant "+c.mchid+" is not registered with this sandbox")
		return
	}
	if auth["serial_no"] != m.serialNo {
		h.fail(c, http.StatusUnauthorized, spec.Codes.Sign,
			fmt.Sprintf("serial_no %s is not the certificate serial of merchant %s", auth["serial_no"], c.mchid))
		return
	}
	ts, err := strconv.ParseInt(auth["timestamp"], 10, 64)
	if err != nil {
		h.fail(c, http.StatusUnauthorized, spec.Codes.Sign, "timestamp "+auth["timestamp"]+" is not a unix time")
		return
	}
	now := s.now()
	if skew := now.Sub(time.Unix(ts, 0)); skew > MaxClockSkew || skew < -MaxClockSkew {
		h.fail(c, http.StatusUnauthorized, spec.Codes.Sign,
			fmt.Sprintf("timestamp %d is %s from the server clock (limit %s)", ts, skew.Round(time.Second), MaxClockSkew))
		return
	}

	if ws := r.Header.Get("Wechatpay-Serial"); ws != "" && ws != s.platformKeyID {
		h.fail(c, http.StatusBadRequest, spec.Codes.Param,
			fmt.Sprintf("Wechatpay-Serial %s is not the platform public key ID of this server (%s)", ws, s.platformKeyID))
		return
	}

	// Multipart layout.
	meta, filename, content, perr := readUpload(r, spec)
	if perr != nil {
		var tooBig *http.MaxBytesError
		if errors.Is(perr, errFileTooBig) || errors.As(perr, &tooBig) {
			h.fail(c, http.StatusBadRequest, spec.Codes.Param, h.msg.size)
		} else {
			h.fail(c, http.StatusBadRequest, spec.Codes.Param, perr.Error())
		}
		return
	}

	// Signature over the meta part's exact bytes.
	msg := uploader.SignatureMessage(r.Method, r.URL.RequestURI(), ts, auth["nonce_str"], meta)
	if err := uploader.Verify(m.pub, msg, auth["signature"]); err != nil {
		h.fail(c, http.StatusUnauthorized, spec.Codes.Sign, "signature does not verify with the registered key of merchant "+c.mchid)
		return
	}
	s.mu.Lock()
	nonceKey := c.mchid + "\x00" + auth["nonce_str"]
	_, replay := s.nonces[nonceKey]
	if !replay {
		s.rememberNonce(nonceKey, now)
	}
	allowed := s.allow(c.mchid+"\x00"+string(spec.API), now)
	s.mu.Unlock()
	if replay {
		h.fail(c, http.StatusUnauthorized, spec.Codes.Sign, "nonce_str "+auth["nonce_str"]+" was already used")
		return
	}
	if !allowed {
		h.fail(c, http.StatusTooManyRequests, spec.Codes.RateLimit, "Frequency limit: operation is too fast, please retry later")
		return
	}

	// Meta JSON and content.
	metaName, metaDigest, err := parseMeta(meta, spec.DigestField)
	if err != nil {
		h.fail(c, http.StatusBadRequest, spec.Codes.Param, err.Error())
		return
	}
	if metaName != filename {
		h.fail(c, http.StatusBadRequest, spec.Codes.Param,
			fmt.Sprintf("meta filename %q differs from the file part's filename %q", metaName, filename))
		return
	}
	sum := sha256.Sum256(content)
	c.sha = hex.EncodeToString(sum[:])
	if !strings.EqualFold(metaDigest, c.sha) {
		h.fail(c, http.StatusBadRequest, spec.Codes.Param, h.msg.digest)
		return
	}
	if err := uploader.CheckFile(spec, filename, int64(len(content)), content); err != nil {
		var re *uploader.RuleError
		errors.As(err, &re)
		msg := h.msg.format
		switch {
		case re == nil:
			msg = err.Error()
		case re.Rule == uploader.RuleSize:
			msg = h.msg.size
		case re.Rule == uploader.RuleEmpty:
			msg = h.msg.empty
		case re.Rule == uploader.RuleSuffix, re.Rule == uploader.RuleFilename, re.Rule == uploader.RuleFilenameLength:
			msg = h.msg.filename
		}
		h.fail(c, http.StatusBadRequest, spec.Codes.Param, msg)
		return
	}

	// Issue.
	id := newMediaID()
	if spec.IDField == "image_url" {
		id = "https://" + r.Host + "/_sandbox/media/" + id
	}
	spoil := faults.BadSig > 0 && s.roll() < faults.BadSig
	rec := Issued{ID: id, API: spec.API, MchID: c.mchid, SHA256: c.sha, Filename: filename, Size: int64(len(content)),
		RequestID: c.reqID, IssuedAt: now.UTC(), Spoiled: spoil}
	if err := s.issue(rec); err != nil {
		h.fail(c, http.StatusInternalServerError, spec.Codes.System, "System error: "+err.Error())
		return
	}
	c.status, c.id = http.StatusOK, id
	body, _ := json.Marshal(map[string]string{spec.IDField: id})
	s.replyJSON(w, http.StatusOK, body, spoil)
}

// rememberNonce records a used nonce and forgets old ones. Callers hold s.mu.
func (s *Sandbox) rememberNonce(key string, now time.Time) {
	s.nonces[key] = now
	if now.Sub(s.lastPrune) < time.Minute {
		return
	}
	s.lastPrune = now
	for k, t := range s.nonces {
		if now.Sub(t) > nonceWindow {
			delete(s.nonces, k)
		}
	}
}

func (h *uploadHandler) fail(c *call, status int, code, message string) {
	c.status, c.code = status, code
	// Read what the client is still sending, so that it sees the reply
	// rather than a broken pipe.
	_, _ = io.Copy(io.Discard, c.r.Body)
	h.s.replyJSON(c.w, status, errorBody(code, message), false)
}

func (h *uploadHandler) logCall(c *call) {
	h.s.mu.Lock()
	l := h.s.logger
	h.s.mu.Unlock()
	if l == nil {
		return
	}
	l.Info("upload", "api", string(h.spec.API), "mchid", c.mchid, "status", c.status, "code", c.code,
		"request_id", c.reqID, "sha256", c.sha, "id", c.id, "elapsed", time.Since(c.start))
}

var errFileTooBig = errors.New("file part exceeds the size limit")

// readUpload reads the multipart body: exactly a meta part (JSON) then a file
// part. It returns the meta part's exact bytes, the file part's filename and
// the file bytes.
func readUpload(r *http.Request, spec uploader.Spec) (meta []byte, filename string, content []byte, err error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, "", nil, fmt.Errorf("request body must be multipart/form-data with a boundary: %v", err)
	}
	p, err := mr.NextRawPart()
	if err != nil {
		return nil, "", nil, fmt.Errorf("multipart body has no meta part: %w", err)
	}
	if name := formName(p.Header.Get("Content-Disposition"), "name"); name != "meta" {
		return nil, "", nil, fmt.Errorf("the first part must be \"meta\", got %q", name)
	}
	if ct := p.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return nil, "", nil, fmt.Errorf("meta part Content-Type %q is not application/json", ct)
		}
	}
	meta, err = io.ReadAll(io.LimitReader(p, maxMetaSize+1))
	if err != nil {
		return nil, "", nil, err
	}
	if len(meta) > maxMetaSize {
		return nil, "", nil, errors.New("meta part is too large")
	}
	p, err = mr.NextRawPart()
	if err != nil {
		return nil, "", nil, fmt.Errorf("multipart body has no file part: %w", err)
	}
	if name := formName(p.Header.Get("Content-Disposition"), "name"); name != "file" {
		return nil, "", nil, fmt.Errorf("the second part must be \"file\", got %q", name)
	}
	filename = formName(p.Header.Get("Content-Disposition"), "filename")
	if filename == "" {
		return nil, "", nil, errors.New("the file part has no filename")
	}
	content, err = io.ReadAll(io.LimitReader(p, spec.MaxSize+1))
	if err != nil {
		return nil, "", nil, err
	}
	if int64(len(content)) > spec.MaxSize {
		return nil, "", nil, errFileTooBig
	}
	if _, err := mr.NextRawPart(); err != io.EOF {
		if err == nil {
			return nil, "", nil, errors.New("multipart body has parts after \"file\"")
		}
		return nil, "", nil, fmt.Errorf("multipart body is malformed after the file part: %w", err)
	}
	return meta, filename, content, nil
}

func formName(disposition, param string) string {
	d, params, err := mime.ParseMediaType(disposition)
	if err != nil || d != "form-data" {
		return ""
	}
	return params[param]
}

// parseMeta checks that meta is a JSON object with exactly "filename" and
// digestField, both non-empty strings.
func parseMeta(meta []byte, digestField string) (filename, digest string, err error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(meta, &fields); err != nil {
		return "", "", fmt.Errorf("meta is not a JSON object: %v", err)
	}
	want := fmt.Sprintf("meta must have exactly %q and %q", "filename", digestField)
	if len(fields) != 2 || fields["filename"] == nil || fields[digestField] == nil {
		return "", "", errors.New(want)
	}
	if json.Unmarshal(fields["filename"], &filename) != nil || filename == "" {
		return "", "", errors.New("meta filename must be a non-empty string")
	}
	if json.Unmarshal(fields[digestField], &digest) != nil || len(digest) != 64 {
		return "", "", fmt.Errorf("meta %s must be 64 hex characters", digestField)
	}
	if _, err := hex.DecodeString(digest); err != nil {
		return "", "", fmt.Errorf("meta %s must be 64 hex characters", digestField)
	}
	return filename, digest, nil
}

func newMediaID() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
