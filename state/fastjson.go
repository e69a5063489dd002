package state

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A specialised parser for JSON resource records, the speed-up of
// decodeJSONRecord (stored.go), which is the reference: every record it
// accepts decodes to what decodeJSONRecord gives (TestResourceDecoderMatchesJSON
// and FuzzJSONRecord compare them), and every other goes to the reference.
// It is written by hand because encoding/json decodes through reflection
// and allocates each string on its own: this parser takes the plain shape
// wxmedia writes (compact JSON, known keys, at most two-character escapes),
// keeps a record's strings in one allocation (the key shared with the
// address, the file name with the source) and shares repeated values.
//
// It matters only for states that schema version 1 wrote, read before a
// writer upgrades them (and for the rare record the binary form cannot
// hold): BenchmarkSnapshot100kSchema1 reads 100,000 JSON records 2.7 to
// 5 times faster with it than with decodeJSONRecord alone (best of 5 and
// of 12 runs, in two sessions), with 9 times fewer allocations.

// The fields of a record that are kept in its one allocation.
const (
	fAddress = iota
	fKey
	fSource
	fFilename
	fSHA256
	fID
	nOwned
)

// fastJSON parses the JSON record data into r, or returns false (r partly
// written) when data is not in the plain shape.
func (d *resourceDecoder) fastJSON(data []byte, r *Resource) bool {
	if len(data) < 2 || data[0] != '{' || data[len(data)-1] != '}' {
		return false
	}
	*r = Resource{}
	p := data[1 : len(data)-1]
	if len(p) == 0 {
		return true
	}
	var owned [nOwned][]byte
	d.scratch = d.scratch[:0]
	for {
		var key, rest []byte
		var ok bool
		key, rest, d.scratch, ok = plainString(p, d.scratch)
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
			var val []byte
			val, rest, d.scratch, ok = plainString(p, d.scratch)
			if !ok {
				return false
			}
			quoted := p[:len(p)-len(rest)]
			p = rest
			switch string(key) {
			case "address":
				owned[fAddress] = val
			case "type":
				r.Type = d.intern(0, val)
			case "name":
				r.Name = d.intern(1, val)
			case "key":
				owned[fKey] = val
			case "merchant":
				r.Merchant = d.intern(2, val)
			case "mchid":
				r.MchID = d.intern(3, val)
			case "service":
				r.Service = d.intern(4, val)
			case "api":
				r.API = d.intern(5, val)
			case "source":
				owned[fSource] = val
			case "filename":
				owned[fFilename] = val
			case "sha256":
				owned[fSHA256] = val
			case "id":
				owned[fID] = val
			case "uploaded_at":
				if r.UploadedAt.UnmarshalJSON(quoted) != nil {
					return false
				}
			default:
				return false
			}
		}
		if len(p) == 0 {
			break
		}
		if p[0] != ',' {
			return false
		}
		p = p[1:]
	}
	d.assemble(&owned, r)
	return true
}

// assemble sets r's owned string fields from their bytes, with one
// allocation for all of them.
func (d *resourceDecoder) assemble(owned *[nOwned][]byte, r *Resource) {
	// The key of address type.name["key"] is part of the address, and the
	// file name is often the end of the source.
	addr, key := owned[fAddress], owned[fKey]
	keyIn := -1
	if n := len(addr) - len(key) - 2; len(key) > 0 && n >= 0 && string(addr[n:]) == string(key)+`"]` {
		keyIn = n
	}
	src, fn := owned[fSource], owned[fFilename]
	fnIn := -1
	if n := len(src) - len(fn); len(fn) > 0 && n >= 0 && string(src[n:]) == string(fn) {
		fnIn = n
	}
	total := 0
	for i, b := range owned {
		if i == fKey && keyIn >= 0 || i == fFilename && fnIn >= 0 {
			continue
		}
		total += len(b)
	}
	if total == 0 {
		return
	}
	var sb strings.Builder
	sb.Grow(total)
	var at [nOwned]int
	for i, b := range owned {
		if i == fKey && keyIn >= 0 || i == fFilename && fnIn >= 0 {
			continue
		}
		at[i] = sb.Len()
		sb.Write(b)
	}
	all := sb.String()
	part := func(i int) string { return all[at[i] : at[i]+len(owned[i])] }
	r.Address = part(fAddress)
	r.Source = part(fSource)
	r.SHA256 = part(fSHA256)
	r.ID = part(fID)
	if keyIn >= 0 {
		r.Key = r.Address[keyIn : keyIn+len(key)]
	} else {
		r.Key = part(fKey)
	}
	if fnIn >= 0 {
		r.Filename = r.Source[fnIn:]
	} else {
		r.Filename = part(fFilename)
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
// control character and valid UTF-8. It returns the contents, unescaped
// (into scratch, which it returns extended, when there are escapes), and
// what follows the closing quote.
func plainString(p, scratch []byte) (val, rest, scratch2 []byte, ok bool) {
	if len(p) == 0 || p[0] != '"' {
		return nil, nil, scratch, false
	}
	// Fast path: up to the first quote, plain ASCII with no escape and no
	// control character, checked eight bytes at a time.
	if j := bytes.IndexByte(p[1:], '"'); j >= 0 && plainASCII(p[1:1+j]) {
		return p[1 : 1+j], p[2+j:], scratch, true
	}
	i := 1
	for i < len(p) && p[i] != '"' && p[i] != '\\' && p[i] >= 0x20 {
		i++
	}
	if i < len(p) && p[i] == '"' {
		val = p[1:i]
		if !utf8.Valid(val) {
			return nil, nil, scratch, false
		}
		return val, p[i+1:], scratch, true
	}
	// Escapes: unescape at the end of scratch. What earlier calls put
	// there is never written again, even when scratch grows.
	from := len(scratch)
	buf := append(scratch, p[1:i]...)
	for i < len(p) {
		c := p[i]
		switch {
		case c == '"':
			val = buf[from:len(buf):len(buf)]
			if !utf8.Valid(val) {
				return nil, nil, buf, false
			}
			return val, p[i+1:], buf, true
		case c < 0x20:
			return nil, nil, buf, false
		case c == '\\':
			if i+1 >= len(p) {
				return nil, nil, buf, false
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
				return nil, nil, buf, false
			}
			i += 2
			continue
		default:
			buf = append(buf, c)
		}
		i++
	}
	return nil, nil, buf, false
}

// plainASCII reports whether b holds only bytes from 0x20 to 0x7f other
// than a backslash: text that needs no unescaping and is valid UTF-8.
func plainASCII(b []byte) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	for len(b) >= 8 {
		w := binary.LittleEndian.Uint64(b)
		// A byte with its high bit set, below 0x20, or equal to '\\'.
		bs := w ^ (lo * '\\')
		if (w|((w-lo*0x20)&^w)|((bs-lo)&^bs))&hi != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c < 0x20 || c >= 0x80 || c == '\\' {
			return false
		}
	}
	return true
}
