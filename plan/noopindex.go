package plan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
	"unsafe"

	"github.com/zeebo/xxh3"

	"github.com/wxmedia/wxmedia/internal/atomicfile"
	"github.com/wxmedia/wxmedia/internal/datadir"
	"github.com/wxmedia/wxmedia/state"
)

// The no-op index is a machine-local file derived from one state, beside
// the stat cache and, like it, never part of the state: for the state it
// names (NoopState), it lists the resource instances that a plan decided
// no-op with nothing differing between their recorded and planned objects,
// each with a digest of everything that decision and the change depend on
// (noopDigest) and the recorded identifier and upload time. A later plan
// against that very state (same backend, lineage and serial) takes an
// instance whose digest is the same as a no-op without reading its record
// (see fastPlan). An index that is missing, damaged, of another format or
// of another state is ignored: it only ever saves work.
//
// The file: the magic, the state (backend, lineage: uint16 length and
// bytes; serial uint64), the entry count (uint32), the entries in strictly
// increasing address order, and a CRC-32C of everything before it. An entry
// is a fixed part (address length and identifier length uint16, the
// digest, uploaded_at as Unix seconds int64 and nanoseconds uint32; little
// endian) followed by the address and the identifier.
const (
	noopIndexMagic = "wxmedia-noopindex-4\n"
	digestSize     = 16
	noopFixedSize  = 2 + 2 + digestSize + 8 + 4
)

// Layout of an entry's fixed part.
const (
	noopOffIDLen  = 2
	noopOffDigest = 4
	noopOffSecs   = noopOffDigest + digestSize
	noopOffNanos  = noopOffSecs + 8
)

// NoopState identifies the state an index was made against. Backend names
// the backend by non-secret parts only (a local state's absolute path, a
// postgres database's host, port, name and schema): never anything taken
// from a password or another credential. WriteID is the state's write
// identifier (state.Head.WriteID): lineage and serial alone do not name
// the state's content (a state file copied from another working copy, a
// backup pushed back), the write identifier does; an index without one is
// never used.
type NoopState struct {
	Backend string
	Lineage string
	WriteID string
	Serial  uint64
}

// NoopIndex is a loaded no-op index, read in place: lookups compare the
// address and digest where they lie in the file's bytes, so loading
// decodes no entry.
type NoopIndex struct {
	state NoopState
	// data is the file without its CRC; offs the offset of each entry.
	data []byte
	offs []uint32
	// hit marks, by entry number, the entries a fast plan took as no-ops
	// (their digest is then that plan's); current is set when that plan
	// has no entry to add to this index.
	hit     []bool
	current bool
}

// noopDigest is the digest of everything a no-op change depends on besides
// the state's record: the instance's address, type, name, key and
// merchant, the merchant's mchid and service, the API, and the planned
// source, filename, SHA-256 and size. It is the XXH3-128 of the fields,
// each with its length: the index is local, derived data that only a
// user's own files and state feed, so it needs a digest that two
// different inputs give by accident with a chance of 2^-128, not one that
// resists a forger, and XXH3 is several times cheaper per instance than
// SHA-256 on the no-change plan's path. The fields an instance
// shares with the other instances of its resource and merchant come in as
// their own digest (noopShared), which a plan computes once for them all.
func noopDigest(c *ResourceChange) [digestSize]byte {
	shared := noopShared(c)
	return noopDigestWith(&shared, c)
}

// noopShared is the digest of the type, name, merchant, mchid, service
// and API of c.
func noopShared(c *ResourceChange) [digestSize]byte {
	var buf [256]byte
	b := append(buf[:0], "wxmedia-noop-shared-1\x00"...)
	for _, s := range [...]string{c.Type, c.Name, c.Merchant, c.MchID, c.Service, c.API} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return xxh3.Hash128(b).Bytes()
}

// noopDigestWith is noopDigest with c's shared fields' digest given.
func noopDigestWith(shared *[digestSize]byte, c *ResourceChange) [digestSize]byte {
	var buf [384]byte
	b := append(buf[:0], "wxmedia-noop-1\x00"...)
	b = append(b, shared[:]...)
	for _, s := range [...]string{c.Addr, c.Key, c.After.Source, c.After.Filename, c.After.SHA256} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(c.After.Size))
	return xxh3.Hash128(b).Bytes()
}

// errNotNoopIndex is a file that is not a complete index of this format.
var errNotNoopIndex = errors.New("not a no-op index of this version, or damaged")

// LoadNoopIndex reads the index at path. A missing file gives nil and no
// error; one that cannot be read, is damaged or of another format gives
// nil and the reason, which callers only log: the index only saves work.
func LoadNoopIndex(path string) (*NoopIndex, error) {
	data, _, err := loadDerived(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("no-op index %s: %w", path, err)
	}
	x, err := parseNoopIndex(data)
	if err != nil {
		return nil, fmt.Errorf("no-op index %s: %w", path, err)
	}
	return x, nil
}

// parseNoopIndex checks a whole index file (magic, CRC, every entry's
// bounds and the address order) and indexes its entries.
func parseNoopIndex(data []byte) (*NoopIndex, error) {
	body, ok := derivedBody(data, noopIndexMagic, 2+2+2+8+4)
	if !ok || len(data) > 1<<32-1 {
		return nil, errNotNoopIndex
	}
	off := len(noopIndexMagic)
	str := func() (string, bool) {
		if off+2 > len(body) {
			return "", false
		}
		n := int(binary.LittleEndian.Uint16(body[off:]))
		if off+2+n > len(body) {
			return "", false
		}
		s := string(body[off+2 : off+2+n])
		off += 2 + n
		return s, true
	}
	x := &NoopIndex{data: body}
	var ok1, ok2, ok3 bool
	x.state.Backend, ok1 = str()
	x.state.Lineage, ok2 = str()
	x.state.WriteID, ok3 = str()
	if !ok1 || !ok2 || !ok3 || off+8+4 > len(body) {
		return nil, errNotNoopIndex
	}
	x.state.Serial = binary.LittleEndian.Uint64(body[off:])
	n := binary.LittleEndian.Uint32(body[off+8:])
	off += 12
	if uint64(n) > uint64(len(body)-off)/noopFixedSize {
		return nil, errNotNoopIndex
	}
	x.offs = make([]uint32, n)
	for i := range int(n) {
		if off+noopFixedSize > len(body) {
			return nil, errNotNoopIndex
		}
		al := int(binary.LittleEndian.Uint16(body[off:]))
		il := int(binary.LittleEndian.Uint16(body[off+noopOffIDLen:]))
		if al == 0 || il == 0 || off+noopFixedSize+al+il > len(body) {
			return nil, errNotNoopIndex
		}
		x.offs[i] = uint32(off)
		off += noopFixedSize + al + il
		if i > 0 && x.addr(i-1) >= x.addr(i) {
			return nil, errNotNoopIndex
		}
	}
	if off != len(body) {
		return nil, errNotNoopIndex
	}
	return x, nil
}

// State is the state the index was made against.
func (x *NoopIndex) State() NoopState { return x.state }

// Len is the number of entries.
func (x *NoopIndex) Len() int { return len(x.offs) }

// addr returns entry n's address, a substring of the file's bytes.
func (x *NoopIndex) addr(n int) string {
	off := int(x.offs[n])
	al := int(binary.LittleEndian.Uint16(x.data[off:]))
	p := x.data[off+noopFixedSize : off+noopFixedSize+al]
	return unsafe.String(unsafe.SliceData(p), al)
}

// find returns the number of the entry for addr, -1 when there is none;
// i is where addr is in a list of addresses in the index's order, where
// an index written for that list holds it.
func (x *NoopIndex) find(i int, addr string) int {
	if i >= 0 && i < len(x.offs) && x.addr(i) == addr {
		return i
	}
	lo := sort.Search(len(x.offs), func(m int) bool { return x.addr(m) >= addr })
	if lo < len(x.offs) && x.addr(lo) == addr {
		return lo
	}
	return -1
}

// digest returns entry n's digest where it lies in the file's bytes.
func (x *NoopIndex) digest(n int) []byte {
	off := int(x.offs[n]) + noopOffDigest
	return x.data[off : off+digestSize]
}

// recorded decodes entry n's identifier and upload time. The identifier
// is where it lies in the file's bytes, which are never written again: a
// plan's no-ops refer to them, as they do to the stat cache's sums.
func (x *NoopIndex) recorded(n int) (id string, at time.Time) {
	f := x.data[x.offs[n]:]
	al := int(binary.LittleEndian.Uint16(f))
	il := int(binary.LittleEndian.Uint16(f[noopOffIDLen:]))
	b := f[noopFixedSize+al : noopFixedSize+al+il]
	id = unsafe.String(unsafe.SliceData(b), len(b))
	secs := int64(binary.LittleEndian.Uint64(f[noopOffSecs:]))
	nanos := int64(binary.LittleEndian.Uint32(f[noopOffNanos:]))
	return id, time.Unix(secs, nanos).UTC()
}

// match looks addr up with the digest d (i as for find) and returns the
// entry's number when the index holds addr with that digest, -1 otherwise.
func (x *NoopIndex) match(i int, addr string, d *[digestSize]byte) int {
	// The digest covers the address: the entry at i with the same digest
	// is the one for addr (but with a chance of 2^-128), without
	// comparing the address, which shares most of its bytes with its
	// neighbours'.
	if i >= 0 && i < len(x.offs) && [digestSize]byte(x.digest(i)) == *d {
		return i
	}
	n := x.find(i, addr)
	if n < 0 || !bytes.Equal(x.digest(n), d[:]) {
		return -1
	}
	return n
}

// noopEntry is one entry being written.
type noopEntry struct {
	addr   string
	digest [digestSize]byte
	id     string
	at     time.Time
}

// indexed reports whether a change gets an entry: only a no-op whose
// recorded object is the planned one.
func indexed(c *ResourceChange) bool {
	return c.Action == NoOp && c.Before != nil && c.After != nil && *c.Before == *c.After && !c.Replace && c.After.ID != ""
}

// encodeNoopIndex encodes the index of st holding entries, which must be in
// strictly increasing address order. Entries whose address or identifier
// does not fit are left out (a lookup then reads their record).
func encodeNoopIndex(st NoopState, entries []noopEntry) []byte {
	size := len(noopIndexMagic) + 2 + len(st.Backend) + 2 + len(st.Lineage) + 2 + len(st.WriteID) + 8 + 4 + 4
	for _, e := range entries {
		size += noopFixedSize + len(e.addr) + len(e.id)
	}
	buf := make([]byte, 0, size)
	buf = append(buf, noopIndexMagic...)
	for _, s := range []string{st.Backend, st.Lineage, st.WriteID} {
		buf = binary.LittleEndian.AppendUint16(buf, uint16(len(s)))
		buf = append(buf, s...)
	}
	buf = binary.LittleEndian.AppendUint64(buf, st.Serial)
	countAt := len(buf)
	buf = binary.LittleEndian.AppendUint32(buf, 0)
	n := uint32(0)
	for _, e := range entries {
		if len(e.addr) == 0 || len(e.addr) > 0xffff || len(e.id) == 0 || len(e.id) > 0xffff {
			continue
		}
		secs := e.at.Unix()
		buf = binary.LittleEndian.AppendUint16(buf, uint16(len(e.addr)))
		buf = binary.LittleEndian.AppendUint16(buf, uint16(len(e.id)))
		buf = append(buf, e.digest[:]...)
		buf = binary.LittleEndian.AppendUint64(buf, uint64(secs))
		buf = binary.LittleEndian.AppendUint32(buf, uint32(e.at.Nanosecond()))
		buf = append(buf, e.addr...)
		buf = append(buf, e.id...)
		n++
	}
	binary.LittleEndian.PutUint32(buf[countAt:], n)
	return binary.LittleEndian.AppendUint32(buf, crc32.Checksum(buf, castagnoli))
}

// sortedEntries sorts entries by address when they are not already, and
// reports false when two share an address (a plan never gives that).
func sortedEntries(entries []noopEntry) bool {
	cmp := func(a, b noopEntry) int { return strings.Compare(a.addr, b.addr) }
	if !slices.IsSortedFunc(entries, cmp) {
		slices.SortFunc(entries, cmp)
	}
	for i := 1; i < len(entries); i++ {
		if entries[i-1].addr == entries[i].addr {
			return false
		}
	}
	return true
}

// writeNoopIndex writes the index of st holding entries at path (temporary
// file, then rename; mode 0600), unless old, the index loaded from path,
// already holds exactly that.
func writeNoopIndex(path string, st NoopState, entries []noopEntry, old *NoopIndex) error {
	if !sortedEntries(entries) {
		return errors.New("saving the no-op index: an address twice")
	}
	buf := encodeNoopIndex(st, entries)
	if old != nil && bytes.Equal(old.data, buf[:len(buf)-4]) {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
	}
	if err := datadir.MkdirAll(filepath.Dir(path)); err != nil {
		return fmt.Errorf("saving the no-op index: %w", err)
	}
	// Derived data: it need not survive a crash (a lost one is made again).
	if err := atomicfile.WriteBytes(path, buf, 0o600, atomicfile.Replace); err != nil {
		return fmt.Errorf("saving the no-op index: %w", err)
	}
	return nil
}

// RemoveNoopIndex removes the index at path, so that no later plan takes
// it for the state it names; a missing file is no error.
func RemoveNoopIndex(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing the no-op index: %w", err)
	}
	return nil
}

// SaveNoopIndex writes, at path, the index of the state st that plan p
// gives: p was made against the whole of st (or through the fast path with
// old, the index loaded from path), without -target or -replace. When
// old is of st and p has no no-op it lacks, the file is left as it is.
func SaveNoopIndex(path string, st NoopState, p *Plan, old *NoopIndex) error {
	if len(p.Targets)+len(p.Replace) > 0 || st.WriteID == "" {
		return nil
	}
	if old != nil && old.current && old.state == st {
		return nil
	}
	entries := make([]noopEntry, 0, p.NumChanges())
	// The changes are in address order, as the entries of old are: a
	// fast plan's hits take their digest from old.
	n := 0
	p.each(true, func(c *ResourceChange) bool {
		if !indexed(c) {
			return true
		}
		e := noopEntry{addr: c.Addr, id: c.After.ID, at: c.After.UploadedAt}
		for old != nil && old.hit != nil && n < len(old.offs) && old.addr(n) < c.Addr {
			n++
		}
		if old != nil && old.hit != nil && n < len(old.offs) && old.hit[n] && old.addr(n) == c.Addr {
			e.digest = [digestSize]byte(old.digest(n))
		} else {
			e.digest = noopDigest(c)
		}
		entries = append(entries, e)
		return true
	})
	return writeNoopIndex(path, st, entries, old)
}

// AppliedRecords are the addresses whose records SaveNoopIndexApplied
// needs after p was applied: those of every change kept in full but the
// forgotten ones (a compact no-op's record is left as it was).
func AppliedRecords(p *Plan) []string {
	var addrs []string
	for _, c := range p.Detailed() {
		if c.Action != Forget {
			addrs = append(addrs, c.Addr)
		}
	}
	return addrs
}

// SaveNoopIndexApplied writes, at path, the index of the state that apply
// left after applying p, which was made against that state while apply
// held its lock, without -target or -replace: h is the state's head read
// after apply's last write, and recs the records at AppliedRecords(p), all
// under that lock, so that apply was the state's only writer since p. An
// instance gets an entry when its record is what a plan of the same files
// decides a no-op with nothing differing: a compact no-op of p, or a
// change whose record now holds its planned object (an upload or reuse
// that was recorded). When the records do not add up to the state's count
// (a change that failed to record its forget, say), nothing is written.
func SaveNoopIndexApplied(path, backend string, p *Plan, h *state.Head, recs map[string]state.Resource) error {
	if len(p.Targets)+len(p.Replace) > 0 || h.Lineage == "" || h.WriteID == "" || h.Lineage != p.Lineage || h.Serial < p.Serial {
		return nil
	}
	found := 0
	entries := make([]noopEntry, 0, p.NumChanges())
	var buf struct {
		c ResourceChange
		o Object
	}
	p.refs(func(ref changeRef) bool {
		if ref.noOp != nil {
			// Compact: its record was left as it was.
			c := &buf.c
			p.materialise(ref.noOp, c, &buf.o)
			found++
			entries = append(entries, noopEntry{addr: c.Addr, digest: noopDigest(c), id: c.After.ID, at: c.After.UploadedAt})
			return true
		}
		c := ref.full
		r, ok := recs[c.Addr]
		if c.Action == Forget || !ok {
			return true
		}
		found++
		a := c.After
		if r.ID != "" && r.SHA256 == a.SHA256 && r.Size == a.Size && r.Source == a.Source && r.Filename == a.Filename &&
			r.MchID == c.MchID && r.Service == c.Service && r.API == c.API {
			entries = append(entries, noopEntry{addr: c.Addr, digest: noopDigest(c), id: r.ID, at: r.UploadedAt})
		}
		return true
	})
	if found != h.Resources {
		return nil
	}
	return writeNoopIndex(path, NoopState{Backend: backend, Lineage: h.Lineage, WriteID: h.WriteID, Serial: h.Serial}, entries, nil)
}
