package sandbox

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	// MaxClockSkew is how far a request timestamp may be from the sandbox clock.
	MaxClockSkew = 5 * time.Minute
	maxMetaSize  = 64 << 10
	maxFieldSize = 4 << 10
	// bodyOverhead is what a request body may hold beyond the file: meta, part headers, boundaries.
	bodyOverhead = 1 << 20
	nonceWindow  = 2 * MaxClockSkew
)

func (s *Sandbox) newHandler() http.Handler {
	mux := http.NewServeMux()
	for _, def := range apiDefs {
		if def.v2 {
			mux.Handle(def.path, &v2Handler{s: s, def: def})
		} else {
			mux.Handle(def.path, &v3Handler{s: s, def: def})
		}
	}
	mux.HandleFunc(certificatesPath, s.serveCertificates)
	mux.HandleFunc(rotatePath, s.serveRotate)
	mux.HandleFunc("/_sandbox/stats", s.serveStats)
	mux.HandleFunc("/_sandbox/media/", s.serveMedia)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.replyJSON(w, r, http.StatusNotFound, errorBody("NOT_FOUND", "no such API: "+r.Method+" "+r.URL.Path), false)
	})
	return mux
}

// Handler returns the sandbox's HTTP handler: the seven upload APIs,
// GET /_sandbox/stats and GET /_sandbox/media/{id}. It is the same handler
// every call. The v2 API needs the client certificate of a TLS connection,
// so it only succeeds through a Server.
func (s *Sandbox) Handler() http.Handler { return s.handler }

func (s *Sandbox) serveStats(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.replyJSON(w, r, http.StatusMethodNotAllowed, errorBody("METHOD_NOT_ALLOWED", "use GET"), false)
		return
	}
	st, err := s.ReadStats()
	if err != nil {
		s.replyJSON(w, r, http.StatusInternalServerError, errorBody("SYSTEM_ERROR", err.Error()), false)
		return
	}
	body, _ := json.Marshal(st)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(append(body, '\n'))
}

// serveMedia answers the record of an issued identifier: GET
// /_sandbox/media/{id}, or the URL itself for the coupon (image_url) and
// marketing (media_url) image APIs.
func (s *Sandbox) serveMedia(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimPrefix(r.URL.Path, "/_sandbox/media/")
	rec, ok := s.Lookup(token)
	if !ok {
		rec, ok = s.Lookup("https://" + r.Host + r.URL.Path)
	}
	if !ok || r.Method != http.MethodGet {
		s.replyJSON(w, r, http.StatusNotFound, errorBody("NOT_FOUND", "no media "+token), false)
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

// replyJSON writes a JSON reply signed with the platform key or
// certificate (see replySigner), as WeChat Pay signs its replies; spoil
// makes the signature wrong.
func (s *Sandbox) replyJSON(w http.ResponseWriter, r *http.Request, status int, body []byte, spoil bool) {
	ts := strconv.FormatInt(s.now().Unix(), 10)
	nonce := randomHex(16)
	key, serial := s.replySigner(r)
	sig, err := signReply(key, ts, nonce, body)
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
	h.Set("Wechatpay-Serial", serial)
	h.Set("Wechatpay-Signature", sig)
	h.Set("Wechatpay-Signature-Type", authScheme)
	w.WriteHeader(status)
	_, _ = w.Write(body)
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

// prologue does what every upload API does first: method, closed sandbox,
// injected faults. It returns false when it answered.
func (s *Sandbox) prologue(c *call, def *apiDef, fail func(status int, code, msg string)) (Faults, bool) {
	if c.r.Method != http.MethodPost {
		c.w.Header().Set("Allow", http.MethodPost)
		if def.v2 {
			fail(http.StatusOK, "INVALID_REQUEST", "HTTP GET method not supported")
		} else {
			fail(http.StatusMethodNotAllowed, def.invalid, "use POST")
		}
		return Faults{}, false
	}
	s.mu.Lock()
	closed, faults := s.closed, s.faults
	s.mu.Unlock()
	if closed {
		fail(http.StatusInternalServerError, def.system, "sandbox is closed")
		return faults, false
	}
	if faults.Delay > 0 {
		t := time.NewTimer(faults.Delay)
		select {
		case <-t.C:
		case <-c.r.Context().Done():
			t.Stop()
			c.status = 499
			return faults, false
		}
	}
	if faults.Reset > 0 && s.roll() < faults.Reset {
		c.status, c.code = 0, "reset"
		_, _ = io.Copy(io.Discard, c.r.Body)
		if hj, ok := c.w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return faults, false
			}
		}
		panic(http.ErrAbortHandler)
	}
	if faults.Stall > 0 && s.roll() < faults.Stall {
		c.status, c.code = 0, "stall"
		_, _ = io.Copy(io.Discard, c.r.Body)
		<-c.r.Context().Done()
		return faults, false
	}
	if faults.Trickle > 0 && s.roll() < faults.Trickle {
		c.status, c.code = http.StatusInternalServerError, "trickle"
		_, _ = io.Copy(io.Discard, c.r.Body)
		body := errorBody(def.system, "System error (injected fault: a body of one byte a second)")
		c.w.Header().Set("Content-Type", "application/json; charset=utf-8")
		c.w.WriteHeader(http.StatusInternalServerError)
		rc := http.NewResponseController(c.w)
		_ = rc.Flush()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		// It ends when the body is out or a write fails (the client is
		// gone), not on the request's context: a reply cut short must not
		// look complete.
		for i := range body {
			<-tick.C
			if _, err := c.w.Write(body[i : i+1]); err != nil || rc.Flush() != nil {
				return faults, false
			}
		}
		return faults, false
	}
	if faults.P500 > 0 && s.roll() < faults.P500 {
		fail(http.StatusInternalServerError, def.system, "System error (injected fault)")
		return faults, false
	}
	if faults.P429 > 0 && s.roll() < faults.P429 {
		fail(http.StatusTooManyRequests, def.rate, "Frequency limit: operation is too fast, please retry later (injected fault)")
		return faults, false
	}
	return faults, true
}

// issueID records an identifier for an accepted upload. It returns errQuota
// when the merchant's daily quota for the API is used up.
func (s *Sandbox) issueID(c *call, def *apiDef, filename string, size int64, spoil bool, now time.Time) error {
	db, err := s.openDB()
	if err != nil {
		return err
	}
	s.mu.Lock()
	quota, idFault := s.faults.Quota, s.faults.ID
	s.mu.Unlock()
	id := newMediaID()
	if def.idField == "image_url" || def.idField == "media_url" {
		id = "https://" + c.r.Host + "/_sandbox/media/" + id
	}
	rec := Issued{ID: id, API: def.name, MchID: c.mchid, SHA256: c.sha, Filename: filename, Size: size,
		RequestID: c.reqID, IssuedAt: now.UTC(), Spoiled: spoil}
	if err := issue(db, rec, quota); err != nil {
		return err
	}
	// An identifier fault spoils the reply; the record keeps the real one.
	switch idFault {
	case "long":
		id += strings.Repeat("x", 1_000_000-len(id))
	case "control":
		id = id[:len(id)-4] + "\x1b[31m" + id[len(id)-4:]
	case "same":
		id = strings.TrimSuffix(id, path.Base(id)) + "SAME_IDENTIFIER_FOR_EVERY_UPLOAD"
	}
	c.id = id
	return nil
}

// useNonce records a request nonce and reports whether it was fresh, and
// takes a rate-limit token.
func (s *Sandbox) useNonce(mchid, nonce, api string, now time.Time) (fresh, allowed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := mchid + "\x00" + nonce
	if _, replay := s.nonces[key]; replay {
		return false, true
	}
	s.rememberNonce(key, now)
	return true, s.allow(mchid+"\x00"+api, now)
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

func (s *Sandbox) logCall(api string, c *call) {
	s.mu.Lock()
	l := s.logger
	s.mu.Unlock()
	if l == nil {
		return
	}
	l.Info("upload", "api", api, "mchid", c.mchid, "status", c.status, "code", c.code,
		"request_id", c.reqID, "sha256", c.sha, "id", c.id, "elapsed", time.Since(c.start))
}

// InstanceHeader names the sandbox instance in every reply of an upload
// API, so that a client can tell a sandbox's refusals from WeChat Pay's
// (uploader.SandboxHeader is the same name).
const InstanceHeader = "Wxmedia-Sandbox"

// authMerchant reads the request's Authorization header and the merchant
// it names, and checks the certificate serial it gives. On failure it
// replies through fail with signCode (a bad header or serial) or
// noAuthCode (an unknown merchant) and returns false. It sets c.mchid.
func (s *Sandbox) authMerchant(c *call, signCode, noAuthCode string, fail func(status int, code, msg string)) (map[string]string, *merchant, bool) {
	auth, err := parseAuth(c.r.Header.Get("Authorization"))
	if err != nil {
		fail(http.StatusUnauthorized, signCode, err.Error())
		return nil, nil, false
	}
	c.mchid = auth["mchid"]
	s.mu.Lock()
	m := s.merchants[c.mchid]
	s.mu.Unlock()
	if m == nil {
		fail(http.StatusForbidden, noAuthCode, "merchant "+c.mchid+" is not registered with this sandbox: no permission to call this API")
		return nil, nil, false
	}
	// Certificate serials are hex: any case names the same certificate
	// (wechatpay-node-v3 sends the lowercase form its x509 parser gives).
	if !strings.EqualFold(auth["serial_no"], m.serialNo) {
		fail(http.StatusUnauthorized, signCode, fmt.Sprintf("serial_no %s is not the certificate serial of merchant %s", auth["serial_no"], c.mchid))
		return nil, nil, false
	}
	return auth, m, true
}

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
	case !validName(def, filename):
		fail(http.StatusBadRequest, def.param, def.msg.filename)
		return
	case !contentMatches(suffixOf(filename), content):
		fail(http.StatusBadRequest, def.param, def.msg.format)
		return
	}

	spoil := faults.BadSig > 0 && s.roll() < faults.BadSig
	if err := s.issueID(c, def, filename, int64(len(content)), spoil, now); err != nil {
		if errors.Is(err, errQuota) {
			fail(http.StatusTooManyRequests, def.rate, def.msg.quota)
		} else {
			fail(http.StatusInternalServerError, def.system, "System error: "+err.Error())
		}
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

// v2Handler serves the v2 image upload: a form with mch_id, media_hash,
// sign_type and sign and the file part media, over TLS with the merchant's
// client certificate; XML replies signed with the merchant's API v2 key.
type v2Handler struct {
	s   *Sandbox
	def *apiDef
}

// v2Reply is a reply in the making.
type v2Reply struct {
	status   int
	fields   map[string]string
	key      string // API v2 key to sign with; "" leaves the reply unsigned
	signType string
	spoil    bool
}

func (h *v2Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s, def := h.s, h.def
	c := &call{w: w, r: r, reqID: randomHex(16), start: time.Now()}
	w.Header().Set("Request-ID", c.reqID)
	w.Header().Set(InstanceHeader, s.id)
	defer s.logCall(def.name, c)
	r.Body = http.MaxBytesReader(w, r.Body, def.maxSize+bodyOverhead)
	send := func(rep v2Reply) {
		_, _ = io.Copy(io.Discard, r.Body)
		c.status, c.code = rep.status, rep.fields["err_code"]
		s.replyXML(w, rep)
	}
	// commFail answers a communication-level failure: return_code FAIL, unsigned.
	commFail := func(status int, code, msg string) {
		send(v2Reply{status: status, fields: map[string]string{"return_code": "FAIL", "return_msg": msg, "err_code": code, "err_code_des": msg}})
	}
	faults, ok := s.prologue(c, def, commFail)
	if !ok {
		return
	}
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		commFail(http.StatusOK, def.invalid, "Certificate is required: no client certificate was presented")
		return
	}
	if err := s.verifyClientCert(r.TLS.PeerCertificates); err != nil {
		commFail(http.StatusOK, def.invalid, "Certificate verification is failed: "+err.Error())
		return
	}
	form, media, filename, err := readV2Body(r, def)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.Is(err, errFileTooBig) || errors.As(err, &tooBig) {
			commFail(http.StatusOK, def.param, def.msg.size)
		} else {
			commFail(http.StatusOK, def.param, err.Error())
		}
		return
	}
	c.mchid = form["mch_id"]
	s.mu.Lock()
	m := s.merchants[c.mchid]
	s.mu.Unlock()
	if m == nil {
		commFail(http.StatusOK, def.param, "Merchant ID error: the merchant ID is wrong, please check")
		return
	}
	if serialHex(r.TLS.PeerCertificates[0]) != m.serialNo {
		commFail(http.StatusOK, def.invalid, "Certificate verification is failed: the client certificate is not merchant "+c.mchid+"'s")
		return
	}
	signType := form["sign_type"]
	if signType == "" {
		signType = "MD5"
	}
	want, ok := v2Sign(form, m.apiV2Key, signType)
	if !ok {
		commFail(http.StatusOK, def.param, "sign_type has invalid format: MD5 or HMAC-SHA256")
		return
	}
	if subtle.ConstantTimeCompare([]byte(form["sign"]), []byte(want)) != 1 {
		commFail(http.StatusOK, def.sign, "Signature validation failed: sign does not verify with the API v2 key of merchant "+c.mchid)
		return
	}
	// From here on, replies are business results, signed.
	bizFail := func(status int, code, msg string) {
		send(v2Reply{status: status, key: m.apiV2Key, signType: signType, fields: map[string]string{
			"return_code": "SUCCESS", "return_msg": "OK", "result_code": "FAIL", "err_code": code, "err_code_des": msg,
			"nonce_str": randomHex(16)}})
	}
	now := s.now()
	s.mu.Lock()
	allowed := s.allow(c.mchid+"\x00"+def.name, now)
	s.mu.Unlock()
	if !allowed {
		bizFail(http.StatusTooManyRequests, def.rate, "Frequency limit: operation is too fast, please retry later")
		return
	}
	hash := form["media_hash"]
	if _, err := hex.DecodeString(hash); err != nil || len(hash) != 32 {
		bizFail(http.StatusOK, def.param, "media_hash has invalid format: 32 hex characters of MD5")
		return
	}
	md := md5.Sum(media)
	sum := sha256.Sum256(media)
	c.sha = hex.EncodeToString(sum[:])
	switch {
	case len(media) == 0:
		bizFail(http.StatusOK, def.param, def.msg.empty)
		return
	case !strings.EqualFold(hash, hex.EncodeToString(md[:])):
		bizFail(http.StatusOK, def.param, def.msg.digest)
		return
	case !validName(def, filename):
		bizFail(http.StatusOK, def.param, def.msg.filename)
		return
	case !contentMatches(suffixOf(filename), media):
		bizFail(http.StatusOK, def.param, def.msg.format)
		return
	}
	spoil := faults.BadSig > 0 && s.roll() < faults.BadSig
	if err := s.issueID(c, def, filename, int64(len(media)), spoil, now); err != nil {
		if errors.Is(err, errQuota) {
			bizFail(http.StatusTooManyRequests, def.rate, def.msg.quota)
		} else {
			bizFail(http.StatusInternalServerError, def.system, "System error: "+err.Error())
		}
		return
	}
	send(v2Reply{status: http.StatusOK, key: m.apiV2Key, signType: signType, spoil: spoil, fields: map[string]string{
		"return_code": "SUCCESS", "return_msg": "OK", "result_code": "SUCCESS", "media_id": c.id, "nonce_str": randomHex(16)}})
}

// verifyClientCert checks that the client certificate was issued by the
// sandbox CA for client authentication.
func (s *Sandbox) verifyClientCert(chain []*x509.Certificate) error {
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: s.CertPool(), Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, CurrentTime: s.now()})
	return err
}

// readV2Body reads the v2 form: text fields, each at most once, and the
// file part media. Other text fields are kept: they take part in the sign.
func readV2Body(r *http.Request, def *apiDef) (form map[string]string, media []byte, filename string, err error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, nil, "", errors.New("Parameter format checking error: the request must be multipart/form-data")
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	form = map[string]string{}
	sawMedia := false
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, "", fmt.Errorf("Parameter format checking error: %v", err)
		}
		name, fn := disposition(p.Header.Get("Content-Disposition"))
		if name == "" {
			return nil, nil, "", errors.New("Parameter format checking error: a part has no form-data name")
		}
		if name == "media" {
			if sawMedia {
				return nil, nil, "", errors.New("media has invalid format: given twice")
			}
			sawMedia = true
			if fn == "" {
				return nil, nil, "", errors.New("media has invalid format: no filename")
			}
			filename = fn
			if media, err = io.ReadAll(io.LimitReader(p, def.maxSize+1)); err != nil {
				return nil, nil, "", err
			}
			if int64(len(media)) > def.maxSize {
				return nil, nil, "", errFileTooBig
			}
			continue
		}
		if _, dup := form[name]; dup {
			return nil, nil, "", fmt.Errorf("%s has invalid format: given twice", name)
		}
		v, err := io.ReadAll(io.LimitReader(p, maxFieldSize+1))
		if err != nil {
			return nil, nil, "", err
		}
		if len(v) > maxFieldSize {
			return nil, nil, "", fmt.Errorf("%s has invalid format: too long", name)
		}
		form[name] = string(v)
	}
	for _, k := range []string{"mch_id", "media_hash", "sign"} {
		if form[k] == "" {
			return nil, nil, "", fmt.Errorf("%s has invalid format: it is required", k)
		}
	}
	if !sawMedia {
		return nil, nil, "", errors.New("media has invalid format: it is required")
	}
	return form, media, filename, nil
}

// replyXML writes a v2 XML reply, signing it when rep.key is set.
func (s *Sandbox) replyXML(w http.ResponseWriter, rep v2Reply) {
	fields := rep.fields
	if rep.key != "" {
		sign, _ := v2Sign(fields, rep.key, rep.signType)
		if rep.spoil {
			flip := byte('0')
			if sign[0] == '0' {
				flip = '1'
			}
			sign = string(flip) + sign[1:]
		}
		fields["sign"] = sign
	}
	order := []string{"return_code", "return_msg", "result_code", "err_code", "err_code_des", "media_id", "nonce_str"}
	var extra []string
	for k := range fields {
		found := k == "sign"
		for _, o := range order {
			found = found || o == k
		}
		if !found {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	order = append(append(order, extra...), "sign")
	var b bytes.Buffer
	b.WriteString("<xml>\n")
	for _, k := range order {
		if v, ok := fields[k]; ok && v != "" {
			b.WriteString("<" + k + "><![CDATA[" + strings.ReplaceAll(v, "]]>", "]]]]><![CDATA[>") + "]]></" + k + ">\n")
		}
	}
	b.WriteString("</xml>\n")
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(rep.status)
	_, _ = w.Write(b.Bytes())
}

func newMediaID() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
