package plan

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"sync/atomic"
	"unsafe"
)

// statIndex is a loaded stat cache file read in place: the file's bytes
// and where each entry starts. A lookup compares the path and the
// metadata where they lie and takes the SHA-256 from there, so loading
// decodes no record and a cache of 100,000 files costs the file's bytes
// and 5 more per entry, instead of a decoded copy of every record.
type statIndex struct {
	data []byte
	// offs holds the offset in data of each entry's fixed part.
	offs []uint32
	// used is set when a lookup vouched for the entry since load.
	used []atomic.Bool
}

// Layout of an entry's fixed part (see statCacheMagic).
const (
	offSize  = 2
	offMtime = 10
	offCtime = 18
	offIno   = 26
	offDev   = 34
	offSum   = 42
	offHead  = offSum + sha256.Size
)

func (x *statIndex) len() int { return len(x.offs) }

// path returns entry n's path, a substring of the file's bytes.
func (x *statIndex) path(n int) string {
	off := int(x.offs[n])
	pl := int(binary.LittleEndian.Uint16(x.data[off:]))
	p := x.data[off+fixedSize : off+fixedSize+pl]
	return unsafe.String(unsafe.SliceData(p), pl)
}

// stat decodes entry n's metadata.
func (x *statIndex) stat(n int) FileStat {
	f := x.data[x.offs[n]:]
	return FileStat{
		Size:    int64(binary.LittleEndian.Uint64(f[offSize:])),
		MtimeNs: int64(binary.LittleEndian.Uint64(f[offMtime:])),
		CtimeNs: int64(binary.LittleEndian.Uint64(f[offCtime:])),
		Ino:     binary.LittleEndian.Uint64(f[offIno:]),
		Dev:     binary.LittleEndian.Uint64(f[offDev:]),
	}
}

// sum returns entry n's SHA-256 where it lies in the file's bytes.
func (x *statIndex) sum(n int) *[sha256.Size]byte {
	off := int(x.offs[n]) + offSum
	return (*[sha256.Size]byte)(x.data[off : off+sha256.Size])
}

// head returns entry n's first bytes, a slice of the file's bytes.
func (x *statIndex) head(n int) []byte {
	f := x.data[x.offs[n]:]
	pl, hl := int(binary.LittleEndian.Uint16(f)), int(f[offHead])
	return f[fixedSize+pl : fixedSize+pl+hl : fixedSize+pl+hl]
}

// entry decodes entry n whole, for Save.
func (x *statIndex) entry(n int) statEntry {
	return statEntry{path: x.path(n), stat: x.stat(n), sum: *x.sum(n), head: x.head(n)}
}

// parseStatCache checks a whole cache file (its magic, CRC and every
// entry's bounds) and indexes its entries; sorted reports whether their
// paths strictly increase, as Save writes them. The file's bytes are
// never written again: paths and heads are read from them in place.
func parseStatCache(data []byte) (x statIndex, sorted bool, err error) {
	bad := errors.New("not a stat cache")
	body, ok := derivedBody(data, statCacheMagic, 4)
	if !ok {
		return statIndex{}, false, bad
	}
	off := len(statCacheMagic)
	n := binary.LittleEndian.Uint32(body[off:])
	off += 4
	if uint64(n) > uint64(len(body))/fixedSize || len(body) > 1<<32-1 {
		return statIndex{}, false, bad
	}
	x = statIndex{data: body, offs: make([]uint32, n), used: make([]atomic.Bool, n)}
	sorted = true
	for i := range int(n) {
		if off+fixedSize > len(body) {
			return statIndex{}, false, bad
		}
		pl := int(binary.LittleEndian.Uint16(body[off:]))
		hl := int(body[off+offHead])
		if off+fixedSize+pl+hl > len(body) {
			return statIndex{}, false, bad
		}
		x.offs[i] = uint32(off)
		off += fixedSize + pl + hl
		if i > 0 && sorted && x.path(i-1) >= x.path(i) {
			sorted = false
		}
	}
	if off != len(body) {
		return statIndex{}, false, bad
	}
	return x, sorted, nil
}
