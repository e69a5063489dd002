package sandbox

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
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

// uploadFailure is an upload refused at its last steps, which each API
// version sends in its own reply format.
type uploadFailure struct {
	status    int
	code, msg string
}

// finishUpload does the last steps of an upload, alike in both API versions,
// once the digest and emptiness checks have passed: the file name and
// content-format checks, which fail with paramStatus (v2 answers them with
// 200, v3 with 400), then issuing the identifier. It reports whether the
// reply is to be spoiled by an injected bad-signature fault.
func (s *Sandbox) finishUpload(c *call, def *apiDef, faults Faults, filename string, content []byte, paramStatus int, now time.Time) (spoil bool, f *uploadFailure) {
	switch {
	case !validName(def, filename):
		return false, &uploadFailure{paramStatus, def.param, def.msg.filename}
	case !contentMatches(suffixOf(filename), content):
		return false, &uploadFailure{paramStatus, def.param, def.msg.format}
	}
	spoil = faults.BadSig > 0 && s.roll() < faults.BadSig
	if err := s.issueID(c, def, filename, int64(len(content)), spoil, now); err != nil {
		if errors.Is(err, errQuota) {
			return false, &uploadFailure{http.StatusTooManyRequests, def.rate, def.msg.quota}
		}
		return false, &uploadFailure{http.StatusInternalServerError, def.system, "System error: " + err.Error()}
	}
	return spoil, nil
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

func newMediaID() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
