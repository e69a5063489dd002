package state

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// resourceDecoder decodes stored resources. Records as encodeResource
// writes them (compact JSON, known keys, strings without escapes) are read
// by a specialised parser; anything else goes to encoding/json, so the
// result is always what json.Unmarshal gives (fastjson_test.go compares
// them). Repeated values (type, name, merchant, service…) share one string.
// A decoder is not safe for concurrent use.
type resourceDecoder struct {
	last [6]string
}

func (d *resourceDecoder) decode(data []byte, r *Resource) error {
	if d.fast(data, r) {
		return nil
	}
	*r = Resource{}
	return json.Unmarshal(data, r)
}

// fast parses data into r, or returns false (r partly written) when data
// is not in the plain shape.
func (d *resourceDecoder) fast(data []byte, r *Resource) bool {
	if len(data) < 2 || data[0] != '{' || data[len(data)-1] != '}' {
		return false
	}
	*r = Resource{}
	p := data[1 : len(data)-1]
	if len(p) == 0 {
		return true
	}
	for {
		key, rest, ok := plainString(p)
		if ok && len(key) > 0 && &key[0] != &p[1] {
			return false // an escaped key: leave it to encoding/json
		}
		if !ok || len(rest) == 0 || rest[0] != ':' {
			return false
		}
		p = rest[1:]
		if string(key) == "size" {
			end := bytes.IndexAny(p, ",")
			if end < 0 {
				end = len(p)
			}
			num := p[:end]
			if len(num) == 0 || num[0] == '0' && len(num) > 1 || num[0] == '-' && (len(num) == 1 || num[1] == '0' && len(num) > 2) {
				return false
			}
			for i, c := range num {
				if !(c >= '0' && c <= '9' || i == 0 && c == '-') {
					return false
				}
			}
			n, err := strconv.ParseInt(string(num), 10, 64)
			if err != nil {
				return false
			}
			r.Size = n
			p = p[end:]
		} else {
			val, rest, ok := plainString(p)
			if !ok {
				return false
			}
			quoted := p[:len(p)-len(rest)]
			p = rest
			switch string(key) {
			case "address":
				r.Address = string(val)
			case "type":
				r.Type = d.intern(0, val)
			case "name":
				r.Name = d.intern(1, val)
			case "key":
				r.Key = string(val)
			case "merchant":
				r.Merchant = d.intern(2, val)
			case "mchid":
				r.MchID = d.intern(3, val)
			case "service":
				r.Service = d.intern(4, val)
			case "api":
				r.API = d.intern(5, val)
			case "source":
				r.Source = string(val)
			case "filename":
				r.Filename = string(val)
			case "sha256":
				r.SHA256 = string(val)
			case "id":
				r.ID = string(val)
			case "uploaded_at":
				if r.UploadedAt.UnmarshalJSON(quoted) != nil {
					return false
				}
			default:
				return false
			}
		}
		if len(p) == 0 {
			return true
		}
		if p[0] != ',' {
			return false
		}
		p = p[1:]
	}
}

func (d *resourceDecoder) intern(i int, b []byte) string {
	if d.last[i] != string(b) {
		d.last[i] = string(b)
	}
	return d.last[i]
}

// plainString reads a JSON string at the start of p whose escapes, if
// any, are the two-character ones (\" \\ \/ \b \f \n \r \t), with no
// control character and valid UTF-8. It returns the contents, unescaped,
// and what follows the closing quote.
func plainString(p []byte) (val, rest []byte, ok bool) {
	if len(p) == 0 || p[0] != '"' {
		return nil, nil, false
	}
	i := 1
	for i < len(p) && p[i] != '"' && p[i] != '\\' && p[i] >= 0x20 {
		i++
	}
	if i < len(p) && p[i] == '"' {
		val = p[1:i]
		if !utf8.Valid(val) {
			return nil, nil, false
		}
		return val, p[i+1:], true
	}
	// Escapes: unescape into a copy.
	buf := append([]byte(nil), p[1:i]...)
	for i < len(p) {
		c := p[i]
		switch {
		case c == '"':
			if !utf8.Valid(buf) {
				return nil, nil, false
			}
			return buf, p[i+1:], true
		case c < 0x20:
			return nil, nil, false
		case c == '\\':
			if i+1 >= len(p) {
				return nil, nil, false
			}
			switch p[i+1] {
			case '"', '\\', '/':
				buf = append(buf, p[i+1])
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			default:
				return nil, nil, false
			}
			i += 2
			continue
		default:
			buf = append(buf, c)
		}
		i++
	}
	return nil, nil, false
}
