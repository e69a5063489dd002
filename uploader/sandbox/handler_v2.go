package sandbox

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"sort"
	"strings"
	"time"
)

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
	}
	spoil, f := s.finishUpload(c, def, faults, filename, media, http.StatusOK, now)
	if f != nil {
		bizFail(f.status, f.code, f.msg)
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
