package state

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// Resources are stored under their address, in a compact binary record
// (schema version 2):
//
//	tag      1 byte, recordTag
//	flags    1 byte: flagKeyInAddress, flagFilenameInSource
//	type, name                    strings
//	key                           string, or its length with flagKeyInAddress
//	merchant, mchid, service, api strings
//	source                        string
//	filename                      string, or its length with flagFilenameInSource
//	sha256                        32 bytes
//	size                          varint
//	id                            string
//	uploaded_at                   varint Unix seconds, uvarint nanoseconds (UTC)
//
// A string is a uvarint length and its bytes; a length alone names the
// end of the address (just before its closing `"]`) or of the source. A
// record is about half its JSON, and reads without scanning for quotes
// and escapes. Records that this form cannot hold exactly as JSON would
// (text that is not UTF-8, a SHA-256 that is not 64 lowercase hex digits,
// a time outside years 0 to 9999) are stored as JSON, which schema
// version 1 used for every record and which is still read.
const (
	recordTag            = 0x01
	flagKeyInAddress     = 1 << 0
	flagFilenameInSource = 1 << 1
	knownFlags           = flagKeyInAddress | flagFilenameInSource
)

// errRecord is returned when a binary record is malformed.
var errRecord = errors.New("malformed resource record")

// encodeResource encodes r for the resources bucket, where it is stored
// under r.Address.
func encodeResource(r Resource) ([]byte, error) {
	r.UploadedAt = r.UploadedAt.UTC()
	var sum [32]byte
	if !binaryFits(r) || len(r.SHA256) != 64 || !lowerHex(r.SHA256) {
		return encodeJSONRecord(r)
	}
	hex.Decode(sum[:], []byte(r.SHA256))
	var flags byte
	keyInAddr := len(r.Key) > 0 && strings.HasSuffix(r.Address, r.Key+`"]`)
	if keyInAddr {
		flags |= flagKeyInAddress
	}
	fnInSrc := len(r.Filename) > 0 && strings.HasSuffix(r.Source, r.Filename)
	if fnInSrc {
		flags |= flagFilenameInSource
	}
	b := make([]byte, 0, 64+len(r.Type)+len(r.Name)+len(r.Key)+len(r.Merchant)+len(r.MchID)+len(r.Service)+len(r.API)+len(r.Source)+len(r.Filename)+len(r.ID))
	b = append(b, recordTag, flags)
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	str(r.Type)
	str(r.Name)
	if keyInAddr {
		b = binary.AppendUvarint(b, uint64(len(r.Key)))
	} else {
		str(r.Key)
	}
	str(r.Merchant)
	str(r.MchID)
	str(r.Service)
	str(r.API)
	str(r.Source)
	if fnInSrc {
		b = binary.AppendUvarint(b, uint64(len(r.Filename)))
	} else {
		str(r.Filename)
	}
	b = append(b, sum[:]...)
	b = binary.AppendVarint(b, r.Size)
	str(r.ID)
	b = binary.AppendVarint(b, r.UploadedAt.Unix())
	b = binary.AppendUvarint(b, uint64(r.UploadedAt.Nanosecond()))
	return b, nil
}

// binaryFits reports whether the binary record holds r exactly as its
// JSON would: all text valid UTF-8 (JSON replaces invalid bytes) and a
// time JSON can encode.
func binaryFits(r Resource) bool {
	for _, s := range [...]string{r.Address, r.Type, r.Name, r.Key, r.Merchant, r.MchID, r.Service, r.API, r.Source, r.Filename, r.ID} {
		if !utf8.ValidString(s) {
			return false
		}
	}
	y := r.UploadedAt.Year()
	return y >= 0 && y <= 9999
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// binary decodes a binary record stored under key into r.
func (d *resourceDecoder) binary(key, data []byte, r *Resource) error {
	*r = Resource{}
	if len(data) < 2 || data[0] != recordTag || data[1]&^knownFlags != 0 {
		return errRecord
	}
	flags := data[1]
	p := data[2:]
	bad := false
	uvarint := func() uint64 {
		v, n := binary.Uvarint(p)
		if n <= 0 {
			bad = true
			return 0
		}
		p = p[n:]
		return v
	}
	varint := func() int64 {
		v, n := binary.Varint(p)
		if n <= 0 {
			bad = true
			return 0
		}
		p = p[n:]
		return v
	}
	bytesOf := func() []byte {
		n := uvarint()
		if bad || n > uint64(len(p)) {
			bad = true
			return nil
		}
		s := p[:n]
		p = p[n:]
		return s
	}
	typ, name := bytesOf(), bytesOf()
	var key0 []byte
	keyLen := -1
	if flags&flagKeyInAddress != 0 {
		n := uvarint()
		if n > uint64(len(key)) || len(key)-int(n) < 2 || string(key[len(key)-2:]) != `"]` {
			return errRecord
		}
		keyLen = int(n)
	} else {
		key0 = bytesOf()
	}
	merchant, mchid, service, api := bytesOf(), bytesOf(), bytesOf(), bytesOf()
	source := bytesOf()
	var filename []byte
	fnLen := -1
	if flags&flagFilenameInSource != 0 {
		n := uvarint()
		if n > uint64(len(source)) {
			return errRecord
		}
		fnLen = int(n)
	} else {
		filename = bytesOf()
	}
	if bad || len(p) < 32 {
		return errRecord
	}
	sum := p[:32]
	p = p[32:]
	size := varint()
	id := bytesOf()
	secs := varint()
	nanos := uvarint()
	if bad || len(p) != 0 || nanos >= 1e9 {
		return errRecord
	}
	// One allocation for the strings of this record: the address, the
	// source, the SHA-256 in hex, the identifier, and the key and file
	// name unless they are parts of the address and the source.
	total := len(key) + len(source) + 64 + len(id) + len(key0) + len(filename)
	buf := make([]byte, 0, total)
	buf = append(buf, key...)
	buf = append(buf, source...)
	buf = hex.AppendEncode(buf, sum)
	buf = append(buf, id...)
	buf = append(buf, key0...)
	buf = append(buf, filename...)
	all := unsafeString(buf)
	at := 0
	part := func(n int) string {
		s := all[at : at+n]
		at += n
		return s
	}
	r.Address = part(len(key))
	r.Source = part(len(source))
	r.SHA256 = part(64)
	r.ID = part(len(id))
	if keyLen >= 0 {
		r.Key = r.Address[len(r.Address)-2-keyLen : len(r.Address)-2]
	} else {
		r.Key = part(len(key0))
	}
	if fnLen >= 0 {
		r.Filename = r.Source[len(r.Source)-fnLen:]
	} else {
		r.Filename = part(len(filename))
	}
	r.Type = d.intern(0, typ)
	r.Name = d.intern(1, name)
	r.Merchant = d.intern(2, merchant)
	r.MchID = d.intern(3, mchid)
	r.Service = d.intern(4, service)
	r.API = d.intern(5, api)
	r.Size = size
	r.UploadedAt = time.Unix(secs, int64(nanos)).UTC()
	return nil
}

// unsafeString returns b as a string without copying; b is never written
// again.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
