package uploader

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
)

// Sign types of the v2 API's sign field.
const (
	SignTypeMD5        = "MD5"
	SignTypeHMACSHA256 = "HMAC-SHA256"
)

// V2StringToSign returns the v2 string-to-sign: the fields with a non-empty
// value other than "sign" and "media", sorted by name, joined as k=v&k=v,
// then "&key=" and the API v2 key.
func V2StringToSign(fields map[string]string, apiKey string) string {
	names := make([]string, 0, len(fields))
	for k, v := range fields {
		if v == "" || k == "sign" || k == "media" {
			continue
		}
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(fields[k])
		b.WriteByte('&')
	}
	b.WriteString("key=")
	b.WriteString(apiKey)
	return b.String()
}

// V2Sign returns the v2 sign of fields: MD5 of V2StringToSign, or its
// HMAC-SHA256 keyed with the API v2 key, as uppercase hex. signType "" means MD5.
func V2Sign(fields map[string]string, apiKey, signType string) (string, error) {
	msg := []byte(V2StringToSign(fields, apiKey))
	var sum []byte
	switch signType {
	case "", SignTypeMD5:
		s := md5.Sum(msg)
		sum = s[:]
	case SignTypeHMACSHA256:
		m := hmac.New(sha256.New, []byte(apiKey))
		m.Write(msg)
		sum = m.Sum(nil)
	default:
		return "", fmt.Errorf("sign type %q is not MD5 or HMAC-SHA256", signType)
	}
	return strings.ToUpper(hex.EncodeToString(sum)), nil
}

// V2Field is one text field of a v2 form, in the order it is written.
type V2Field struct{ Name, Value string }

// ParseV2XML parses a v2 reply, <xml><name>value</name>…</xml> with
// CDATA or plain text values, into a map. Nested elements, duplicate
// names or a root other than <xml> are errors.
func ParseV2XML(body []byte) (map[string]string, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	out := map[string]string{}
	depth := 0
	var name string
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reply is not XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch depth {
			case 1:
				if t.Name.Local != "xml" {
					return nil, fmt.Errorf("reply root element is <%s>, not <xml>", t.Name.Local)
				}
			case 2:
				name = t.Name.Local
				text.Reset()
			default:
				return nil, fmt.Errorf("reply element <%s> is nested too deep", t.Name.Local)
			}
		case xml.CharData:
			if depth == 2 {
				text.Write(t)
			}
		case xml.EndElement:
			if depth == 2 {
				if _, dup := out[name]; dup {
					return nil, fmt.Errorf("reply element <%s> appears twice", name)
				}
				out[name] = strings.TrimSpace(text.String())
			}
			depth--
		}
	}
	if depth != 0 || len(out) == 0 {
		return nil, errors.New("reply is not a complete <xml> document")
	}
	return out, nil
}

// V2Error is a v2 reply that did not succeed: return_code or result_code
// FAIL, or an HTTP error status with a v2 XML body.
type V2Error struct {
	StatusCode int    // HTTP status
	ReturnCode string // SUCCESS or FAIL
	ReturnMsg  string
	ResultCode string // SUCCESS or FAIL; empty when return_code is FAIL
	ErrCode    string // e.g. "SIGNERROR", "FREQUENCY_LIMITED"
	ErrCodeDes string
	// Sandbox is the instance ID a wxmedia sandbox names in its replies'
	// SandboxHeader; "" for any other server.
	Sandbox string
}

func (e *V2Error) Error() string {
	var b strings.Builder
	if e.ErrCode != "" {
		b.WriteString(e.ErrCode)
	} else {
		b.WriteString("return_code " + e.ReturnCode)
	}
	if e.StatusCode != http.StatusOK {
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	b.WriteString(": ")
	switch {
	case e.ErrCodeDes != "":
		b.WriteString(e.ErrCodeDes)
		if e.ReturnMsg != "" && e.ReturnMsg != "OK" && e.ReturnMsg != e.ErrCodeDes {
			b.WriteString(" (" + e.ReturnMsg + ")")
		}
	case e.ReturnMsg != "":
		b.WriteString(e.ReturnMsg)
	case CodeDescription(e.ErrCode) != "":
		b.WriteString(CodeDescription(e.ErrCode))
	default:
		b.WriteString("the request failed")
	}
	return b.String()
}

// Retryable reports whether the same request may succeed later:
// SYSTEMERROR, FREQUENCY_LIMITED (unless the day's quota is reached), and
// HTTP 5xx or 429.
func (e *V2Error) Retryable() bool {
	if e.DailyQuotaReached() {
		return false
	}
	switch e.ErrCode {
	case "SYSTEMERROR", "FREQUENCY_LIMITED":
		return true
	}
	return e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests
}

// DailyQuotaReached reports a rate-limit reply whose message says the day's
// upload quota is reached.
func (e *V2Error) DailyQuotaReached() bool {
	if e.ErrCode != "FREQUENCY_LIMITED" && e.StatusCode != http.StatusTooManyRequests {
		return false
	}
	return quotaMessage(e.ErrCodeDes) || quotaMessage(e.ReturnMsg)
}

// CertificateRefused reports an INVALID_REQUEST reply that the page's
// error table describes as a certificate problem ("Certificate is
// required", "Certificate verification is failed"): the client
// certificate was missing, not the merchant's, or not trusted.
func (e *V2Error) CertificateRefused() bool {
	return e.ErrCode == "INVALID_REQUEST" && (hasPrefixFold(e.ErrCodeDes, "certificate") || hasPrefixFold(e.ReturnMsg, "certificate"))
}

// MerchantUnknown reports a PARAM_ERROR reply that the page's error table
// describes as "Merchant ID error": the mch_id is not a merchant the
// server knows.
func (e *V2Error) MerchantUnknown() bool {
	return e.ErrCode == "PARAM_ERROR" && (hasPrefixFold(e.ErrCodeDes, "merchant id") || hasPrefixFold(e.ReturnMsg, "merchant id"))
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func quotaMessage(m string) bool {
	m = strings.ToLower(m)
	return strings.Contains(m, "当天") || strings.Contains(m, "已达上限") ||
		strings.Contains(m, "daily") || strings.Contains(m, "quota")
}

// sendV2 makes one v2 request and interprets its reply.
func (c *Client) sendV2(ctx context.Context, u *upload, res *Result) (string, error) {
	endpoint := c.v2endpoint
	if err := c.breakers.check(endpoint); err != nil {
		return "", err
	}
	if err := c.throttle(ctx, u); err != nil {
		return "", err
	}
	res.Attempts++
	res.Endpoint = endpoint
	res.RequestID = ""
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+u.spec.Path, bytes.NewReader(u.body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", u.contentType)
	req.Header.Set("Accept", "application/xml, text/xml")
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	resp, body, err := c.roundTrip(c.v2http, req, endpoint, u, res)
	if err != nil {
		return "", err
	}

	fields, perr := ParseV2XML(body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		if perr != nil {
			return "", parseAPIError(resp, body)
		}
		return "", v2Error(resp, fields)
	}
	if perr != nil {
		return "", fmt.Errorf("HTTP %d reply from %s cannot be trusted, the upload may have been accepted: %w",
			resp.StatusCode, endpoint, verifyErr(ProtocolV2, "%v", perr))
	}
	if fields["return_code"] != "SUCCESS" || fields["result_code"] != "SUCCESS" {
		return "", v2Error(resp, fields)
	}
	if err := c.verifyV2Reply(fields); err != nil {
		return "", fmt.Errorf("HTTP %d reply from %s cannot be trusted, the upload may have been accepted: %w",
			resp.StatusCode, endpoint, err)
	}
	id := fields[u.spec.IDField]
	if id == "" {
		return "", fmt.Errorf("%w: reply has no %q", ErrBadReply, u.spec.IDField)
	}
	if err := CheckIdentifier(u.spec, id); err != nil {
		return "", err
	}
	return id, nil
}

func v2Error(resp *http.Response, f map[string]string) *V2Error {
	return &V2Error{StatusCode: resp.StatusCode, Sandbox: resp.Header.Get(SandboxHeader), ReturnCode: f["return_code"], ReturnMsg: f["return_msg"],
		ResultCode: f["result_code"], ErrCode: f["err_code"], ErrCodeDes: f["err_code_des"]}
}

// verifyV2Reply checks a successful v2 reply's own sign, computed like the
// request's with the API v2 key and the request's sign type. Errors wrap ErrVerify.
func (c *Client) verifyV2Reply(fields map[string]string) error {
	got := fields["sign"]
	if got == "" {
		return verifyErr(ProtocolV2, "v2 reply has no sign")
	}
	want, err := V2Sign(fields, c.cfg.APIv2Key, c.cfg.V2SignType)
	if err != nil {
		return verifyErr(ProtocolV2, "%v", err)
	}
	if subtle.ConstantTimeCompare([]byte(strings.ToUpper(got)), []byte(want)) != 1 {
		return verifyErr(ProtocolV2, "v2 reply sign does not verify with api_v2_key (%s)", c.v2SignType())
	}
	return nil
}

func (c *Client) v2SignType() string {
	if c.cfg.V2SignType == "" {
		return SignTypeMD5
	}
	return c.cfg.V2SignType
}

// v2Upload builds the body of a v2 upload.
func (c *Client) v2Upload(spec Spec, r Request, content []byte) (*upload, error) {
	sum := md5.Sum(content)
	fields := map[string]string{
		"mch_id":     c.cfg.MchID,
		"media_hash": hex.EncodeToString(sum[:]),
		"sign_type":  c.v2SignType(),
	}
	sign, err := V2Sign(fields, c.cfg.APIv2Key, c.v2SignType())
	if err != nil {
		return nil, err
	}
	form := []V2Field{{"mch_id", fields["mch_id"]}, {"media_hash", fields["media_hash"]}, {"sign_type", fields["sign_type"]}, {"sign", sign}}
	boundary := c.cfg.Boundary()
	var body bytes.Buffer
	if err := WriteV2Multipart(&body, boundary, form, r.Filename, ContentType(r.Filename), content); err != nil {
		return nil, err
	}
	return &upload{spec: spec, body: body.Bytes(), contentType: "multipart/form-data; boundary=" + boundary}, nil
}
