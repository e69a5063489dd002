package sandbox

// The server side of the wire format, written from the API pages apart from
// the client in package uploader: the sandbox parses, verifies and signs
// with its own code, so that a mistake on one side cannot hide the same
// mistake on the other.

import (
	"crypto"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// apiDef is one emulated upload API, as its page describes it.
type apiDef struct {
	name      string // stats key, the same identifiers as wxmedia's state
	path      string
	v2        bool
	suffixes  []string // lowercase, without dot
	maxSize   int64
	maxName   int    // longest filename in characters; 0: none
	digestKey string // meta key of the SHA-256 (v3)
	idField   string // reply field of the identifier
	// The page's error codes.
	system, rate, param, invalid, sign, noAuth string
	msg                                        messages
}

// messages are one API page's messages for content errors.
type messages struct {
	size, digest, format, filename, empty, quota string
}

var apiDefs = []*apiDef{
	{
		name: "merchant_media_image", path: "/v3/merchant/media/upload",
		suffixes: []string{"jpg", "bmp", "png"}, maxSize: 2 * 1024 * 1024, maxName: 128, digestKey: "sha256", idField: "media_id",
		system: "SYSTEMERROR", rate: "FREQUENCY_LIMIT_EXCEED", param: "PARAM_ERROR", invalid: "PARAM_ERROR", sign: "SIGN_ERROR", noAuth: "NO_AUTH",
		msg: messages{
			size:     "FIle exceed the size limit: FIle is bigger than 2M",
			digest:   "sha256 has invalid format: it does not match the file content",
			format:   "Image format error: the image format is wrong, please check and retry",
			filename: "Image format error: filename must end in .jpg, .bmp or .png and have at most 128 characters",
			empty:    "Image format error: file is empty",
			quota:    "the day's upload quota is reached",
		},
	},
	{
		name: "merchant_media_video", path: "/v3/merchant/media/video_upload",
		suffixes: []string{"avi", "wmv", "mpeg", "mp4", "mov", "mkv", "flv", "f4v", "m4v", "rmvb"},
		maxSize:  5 * 1024 * 1024, maxName: 128, digestKey: "sha256", idField: "media_id",
		system: "SYSTEM_ERROR", rate: "FREQUENCY_LIMIT_EXCEED", param: "PARAM_ERROR", invalid: "PARAM_ERROR", sign: "SIGN_ERROR", noAuth: "NO_AUTH",
		msg: messages{
			size:     "文件大小不能超过5M,请检查后重新提交",
			digest:   "视频sha256值有误,请检查后重新提交",
			format:   "文件二进制内容不是视频,请检查后重新提交",
			filename: "视频文件名称不正确,请检查后重新提交",
			empty:    "文件为空,请检查后重新提交",
			quota:    "当天上传文件数已达上限",
		},
	},
	{
		name: "global_merchant_storage_file", path: "/v3/global/merchant-storage/file/upload",
		suffixes: []string{"pdf", "jpg", "bmp", "png"}, maxSize: 5 * 1024 * 1024, maxName: 256, digestKey: "digest", idField: "file_id",
		system: "SYSTEM_ERROR", rate: "RATELIMIT_EXCEEDED", param: "INVALID_REQUEST", invalid: "INVALID_REQUEST", sign: "SIGN_ERROR", noAuth: "NO_AUTH",
		msg: messages{
			size:     "The file size of the uploaded file cannot exceed 5 M.",
			digest:   "The value of the uploaded file content calculated by sha256 encryption algorithm is inconsistent with the value of the transmitted field (digest).",
			format:   "The file type of uploaded file is currently not supported",
			filename: "The file type of uploaded file is currently not supported",
			empty:    "The uploaded file is empty",
			quota:    "the day's upload quota is reached",
		},
	},
	{
		name: "product_coupon_image", path: "/v3/marketing/partner/product-coupon/media/upload-image",
		suffixes: []string{"jpg", "bmp", "png"}, maxSize: 2 * 1024 * 1024, maxName: 150, digestKey: "sha256", idField: "image_url",
		system: "SYSTEM_ERROR", rate: "RATELIMIT_EXCEEDED", param: "PARAM_ERROR", invalid: "INVALID_REQUEST", sign: "SIGN_ERROR", noAuth: "NO_AUTH",
		msg: messages{
			size:     "图片文件大小不能超过2M",
			digest:   "图片文件摘要sha256与文件内容不一致",
			format:   "图片格式错误,只支持JPG、BMP、PNG",
			filename: "图片文件名不正确,必须以JPG、BMP、PNG为后缀,且不超过150个字符",
			empty:    "图片文件为空",
			quota:    "当天上传图片数已达上限",
		},
	},
	{
		name: "v2_media_image", path: "/secapi/mch/uploadmedia", v2: true,
		suffixes: []string{"jpeg", "jpg", "bmp", "png"}, maxSize: 2 * 1024 * 1024, idField: "media_id",
		system: "SYSTEMERROR", rate: "FREQUENCY_LIMITED", param: "PARAM_ERROR", invalid: "INVALID_REQUEST", sign: "SIGNERROR", noAuth: "INVALID_REQUEST",
		msg: messages{
			size:     "The image size should be less than 2M.",
			digest:   "Image Hash value error, please check and retry.",
			format:   "The image format is wrong, please check and retry.",
			filename: "The image format is wrong, please check and retry.",
			empty:    "The image format is wrong, please check and retry.",
			quota:    "the day's upload quota is reached",
		},
	},
	{
		name: "marketing_favor_image", path: "/v3/marketing/favor/media/image-upload",
		suffixes: []string{"jpg", "bmp", "png"}, maxSize: 2 * 1024 * 1024, maxName: 128, digestKey: "sha256", idField: "media_url",
		system: "SYSTEM_ERROR", rate: "RATELIMIT_EXCEEDED", param: "PARAM_ERROR", invalid: "INVALID_REQUEST", sign: "SIGN_ERROR", noAuth: "NO_AUTH",
		msg: messages{
			size:     "图片文件大小不能超过2M",
			digest:   "图片文件摘要sha256与文件内容不一致",
			format:   "图片格式错误,媒体图片只支持JPG、BMP、PNG格式",
			filename: "文件名称不正确,必须以JPG、BMP、PNG为后缀,且不超过128个字符",
			empty:    "图片文件为空",
			quota:    "当天上传图片数已达上限",
		},
	},
	{
		name: "merchant_service_image", path: "/v3/merchant-service/images/upload",
		suffixes: []string{"jpg", "bmp", "png"}, maxSize: 2 * 1024 * 1024, maxName: 128, digestKey: "sha256", idField: "media_id",
		system: "SYSTEM_ERROR", rate: "RATELIMIT_EXCEEDED", param: "PARAM_ERROR", invalid: "INVALID_REQUEST", sign: "SIGN_ERROR", noAuth: "NO_AUTH",
		msg: messages{
			size:     "图片文件大小不能超过2M",
			digest:   "图片文件摘要sha256与文件内容不一致",
			format:   "图片格式错误,媒体图片只支持jpg、png、bmp格式",
			filename: "文件名称不正确,必须以jpg、png、bmp为后缀,且不超过128个字符",
			empty:    "图片文件为空",
			quota:    "当天上传图片数已达上限",
		},
	},
}

// authScheme is the APIv3 Authorization scheme.
const authScheme = "WECHATPAY2-SHA256-RSA2048"

var (
	authPair = regexp.MustCompile(`^\s*([A-Za-z_]+)\s*=\s*"([^"]*)"\s*(,|$)`)
	authKeys = []string{"mchid", "nonce_str", "timestamp", "serial_no", "signature"}
)

// parseAuth reads `WECHATPAY2-SHA256-RSA2048 k="v",k="v",…`: quoted values
// only, each of the five fields exactly once, in any order.
func parseAuth(h string) (map[string]string, error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return nil, errors.New("Authorization header is missing")
	}
	rest, ok := strings.CutPrefix(h, authScheme)
	if !ok || rest == "" || !strings.ContainsAny(rest[:1], " \t\r\n") {
		return nil, fmt.Errorf("Authorization scheme must be %s", authScheme)
	}
	out := map[string]string{}
	for strings.TrimSpace(rest) != "" {
		m := authPair.FindStringSubmatch(rest)
		if m == nil {
			return nil, errors.New("Authorization header is malformed: want key=\"value\" pairs separated by commas")
		}
		if _, dup := out[m[1]]; dup {
			return nil, fmt.Errorf("Authorization field %s is given twice", m[1])
		}
		out[m[1]] = m[2]
		rest = rest[len(m[0]):]
		if m[3] == "," && strings.TrimSpace(rest) == "" {
			return nil, errors.New("Authorization header ends with a comma")
		}
	}
	for _, k := range authKeys {
		if out[k] == "" {
			return nil, fmt.Errorf("Authorization header lacks %s", k)
		}
	}
	return out, nil
}

// verifyRequest checks an APIv3 request signature: RSA PKCS#1 v1.5 SHA-256
// over "POST\n{uri}\n{timestamp}\n{nonce}\n{meta}\n", with the timestamp as
// the header carried it.
func verifyRequest(pub *rsa.PublicKey, method, uri, timestamp, nonce string, meta []byte, sigB64 string) bool {
	msg := method + "\n" + uri + "\n" + timestamp + "\n" + nonce + "\n" + string(meta) + "\n"
	sig, err := base64.StdEncoding.DecodeString(sigB64)
	if err != nil {
		return false
	}
	digest := sha256.Sum256([]byte(msg))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil
}

// signReply signs "{timestamp}\n{nonce}\n{body}\n" with the platform key.
func signReply(key *rsa.PrivateKey, timestamp, nonce string, body []byte) (string, error) {
	digest := sha256.Sum256([]byte(timestamp + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// v2Sign computes a v2 sign: every non-empty field but sign (the file,
// media, is never a field here), in byte order of the names, as
// name=value joined by &, then &key=KEY; MD5 or HMAC-SHA256; uppercase hex.
func v2Sign(fields map[string]string, key, signType string) (string, bool) {
	var names []string
	for n, v := range fields {
		if n != "sign" && n != "media" && v != "" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names)+1)
	for _, n := range names {
		parts = append(parts, n+"="+fields[n])
	}
	parts = append(parts, "key="+key)
	s := []byte(strings.Join(parts, "&"))
	var sum []byte
	switch signType {
	case "MD5":
		d := md5.Sum(s)
		sum = d[:]
	case "HMAC-SHA256":
		h := hmac.New(sha256.New, []byte(key))
		h.Write(s)
		sum = h.Sum(nil)
	default:
		return "", false
	}
	return strings.ToUpper(hex.EncodeToString(sum)), true
}

// suffixOf returns the lowercase text after the last dot of name, or "".
func suffixOf(name string) string {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || i == len(name)-1 {
		return ""
	}
	return strings.ToLower(name[i+1:])
}

// validName reports whether a filename is acceptable to def: a suffix of
// the page's list and no more characters than the page allows.
func validName(def *apiDef, name string) bool {
	if name == "" || !utf8.ValidString(name) || strings.ContainsAny(name, "/\\\"") {
		return false
	}
	if def.maxName > 0 && utf8.RuneCountInString(name) > def.maxName {
		return false
	}
	suf := suffixOf(name)
	for _, s := range def.suffixes {
		if s == suf {
			return true
		}
	}
	return false
}

// contentMatches reports whether content starts like a file of the suffix.
func contentMatches(suffix string, b []byte) bool {
	has := func(off int, sig string) bool {
		return len(b) >= off+len(sig) && string(b[off:off+len(sig)]) == sig
	}
	switch suffix {
	case "jpg", "jpeg":
		return has(0, "\xff\xd8\xff")
	case "png":
		return has(0, "\x89PNG\r\n\x1a\n")
	case "bmp":
		return has(0, "BM")
	case "pdf":
		return has(0, "%PDF-")
	case "mp4", "mov", "m4v", "f4v":
		// An ISO base media file: a box (size, type) first; QuickTime files
		// may start with other top-level atoms than ftyp.
		for _, box := range []string{"ftyp", "moov", "mdat", "free", "skip", "wide", "pnot"} {
			if has(4, box) {
				return true
			}
		}
		return false
	case "avi":
		return has(0, "RIFF") && has(8, "AVI ")
	case "wmv":
		// The ASF header object GUID 75B22630-668E-11CF-A6D9-00AA0062CE6C.
		return has(0, "\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9\x00\xaa\x00\x62\xce\x6c")
	case "mpeg":
		// An MPEG program stream pack header or a video sequence header.
		return has(0, "\x00\x00\x01\xba") || has(0, "\x00\x00\x01\xb3")
	case "mkv":
		return has(0, "\x1a\x45\xdf\xa3")
	case "flv":
		return has(0, "FLV\x01")
	case "rmvb":
		return has(0, ".RMF")
	}
	return false
}
