package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// FileStat is the metadata that decides whether a file is unchanged:
// size, modification and change times in nanoseconds, inode and device.
type FileStat struct {
	Size    int64
	MtimeNs int64
	CtimeNs int64
	Ino     uint64
	Dev     uint64
}

type statEntry struct {
	stat FileStat
	sum  [sha256.Size]byte
	head []byte
	// used is set when a lookup vouched for the entry since load.
	used atomic.Bool
}

// StatCache remembers the SHA-256 of source files by path and metadata, in
// the spirit of git's index: a file whose size, mtime, ctime, inode and
// device are unchanged is not read again. It is local to the machine, kept
// in its own file beside the state and never part of the state.
//
// Racy timestamps are handled as git does: an entry whose mtime or ctime is
// not strictly older than the cache file itself may have been modified in
// the same timestamp granule after it was hashed, so it is hashed again.
type StatCache struct {
	mu sync.Mutex
	// entries are the loaded entries; read without locking, as only their
	// used flags change after load.
	entries map[string]*statEntry
	// writtenNs is the cache file's own mtime when loaded; 0 for a new cache.
	writtenNs int64
	// learnt holds the results of files hashed since load (under mu).
	learnt map[string]*statEntry
	// dirty is set when something was learnt or missed since load.
	dirty bool
	// Hits and Misses count lookups since load, for reports and tests.
	Hits, Misses int
	hits, misses atomic.Int64
	// OnFile, if set before Hash, is called from the hashing goroutines
	// after each file with its size and whether it was read (not cached).
	OnFile func(size int64, read bool)
}

// The cache file: the magic, the entry count (uint32), the entries, and a
// CRC-32C of everything before it. An entry is a fixed part (path length
// uint16, size, mtime, ctime, inode, device as uint64, SHA-256, head
// length uint8; little endian), then the path and the head bytes.
const (
	statCacheMagic = "wxmedia-statcache-2\n"
	fixedSize      = 2 + 8*5 + sha256.Size + 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// settle is how long before a file is hashed its last change must be for
// the result to be remembered. File times come from a clock that is coarser
// than the one the hashing reads (a few milliseconds on Linux): a file
// rewritten with the same size in the same tick as it was hashed would
// keep every time and size the cache compares. Such a file is hashed again
// next time instead.
const settle = time.Second

// statClock is the clock hashing reads; tests move it.
var statClock = time.Now

// NewStatCache returns an empty cache: every file is hashed and learnt.
func NewStatCache() *StatCache {
	return &StatCache{entries: map[string]*statEntry{}, learnt: map[string]*statEntry{}, dirty: true}
}

// LoadStatCache reads the cache at path. A missing, unreadable or corrupt
// file gives an empty cache: the cache only ever saves work.
func LoadStatCache(path string) *StatCache {
	c := NewStatCache()
	f, err := os.Open(path)
	if err != nil {
		return c
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return c
	}
	data := make([]byte, st.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return c
	}
	entries, err := parseStatCache(data)
	if err != nil {
		return c
	}
	c.entries = entries
	c.dirty = false
	c.writtenNs = st.ModTime().UnixNano()
	return c
}

// parseStatCache decodes a whole cache file. Paths are substrings of one
// string and heads share data, so that loading allocates little.
func parseStatCache(data []byte) (map[string]*statEntry, error) {
	bad := errors.New("not a stat cache")
	if len(data) < len(statCacheMagic)+4+4 || string(data[:len(statCacheMagic)]) != statCacheMagic {
		return nil, bad
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, bad
	}
	// Paths are substrings of data itself, which is never written again.
	strs := unsafe.String(&body[0], len(body))
	off := len(statCacheMagic)
	n := binary.LittleEndian.Uint32(body[off:])
	off += 4
	if uint64(n) > uint64(len(body))/fixedSize {
		return nil, bad
	}
	out := make(map[string]*statEntry, n)
	backing := make([]statEntry, n)
	for i := uint32(0); i < n; i++ {
		if off+fixedSize > len(body) {
			return nil, bad
		}
		fixed := body[off : off+fixedSize]
		pl := int(binary.LittleEndian.Uint16(fixed[0:]))
		e := &backing[i]
		e.stat.Size = int64(binary.LittleEndian.Uint64(fixed[2:]))
		e.stat.MtimeNs = int64(binary.LittleEndian.Uint64(fixed[10:]))
		e.stat.CtimeNs = int64(binary.LittleEndian.Uint64(fixed[18:]))
		e.stat.Ino = binary.LittleEndian.Uint64(fixed[26:])
		e.stat.Dev = binary.LittleEndian.Uint64(fixed[34:])
		copy(e.sum[:], fixed[42:42+sha256.Size])
		hl := int(fixed[42+sha256.Size])
		off += fixedSize
		if off+pl+hl > len(body) {
			return nil, bad
		}
		p := strs[off : off+pl]
		e.head = body[off+pl : off+pl+hl : off+pl+hl]
		off += pl + hl
		out[p] = e
	}
	if off != len(body) {
		return nil, bad
	}
	return out, nil
}

// Save writes the entries used or learnt since load to path (temporary
// file, then rename; mode 0600): entries of files no longer hashed are
// dropped. When every file hashed since load was a hit and none was
// dropped, the file is left as it is.
func (c *StatCache) Save(path string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.dirty {
		// Nothing learnt or missed: unless an entry went unused, the
		// file would be written as it is.
		unused := false
		for _, e := range c.entries {
			if !e.used.Load() {
				unused = true
				break
			}
		}
		if !unused {
			if _, err := os.Stat(path); err == nil {
				return nil
			}
		}
	}
	// The entries to keep: those used since load, and those learnt.
	keep := make(map[string]*statEntry, len(c.entries)+len(c.learnt))
	for p, e := range c.entries {
		if e.used.Load() {
			keep[p] = e
		}
	}
	for p, e := range c.learnt {
		keep[p] = e
	}
	if !c.dirty && len(keep) == len(c.entries) {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("saving the stat cache: %w", err)
	}
	size := len(statCacheMagic) + 4 + 4
	for p, e := range keep {
		size += fixedSize + len(p) + len(e.head)
	}
	buf := make([]byte, 0, size)
	buf = append(buf, statCacheMagic...)
	countAt := len(buf)
	buf = binary.LittleEndian.AppendUint32(buf, 0)
	var n uint32
	for p, e := range keep {
		if len(p) > 0xffff || len(e.head) > 0xff {
			continue
		}
		buf = binary.LittleEndian.AppendUint16(buf, uint16(len(p)))
		buf = binary.LittleEndian.AppendUint64(buf, uint64(e.stat.Size))
		buf = binary.LittleEndian.AppendUint64(buf, uint64(e.stat.MtimeNs))
		buf = binary.LittleEndian.AppendUint64(buf, uint64(e.stat.CtimeNs))
		buf = binary.LittleEndian.AppendUint64(buf, e.stat.Ino)
		buf = binary.LittleEndian.AppendUint64(buf, e.stat.Dev)
		buf = append(buf, e.sum[:]...)
		buf = append(buf, byte(len(e.head)))
		buf = append(buf, p...)
		buf = append(buf, e.head...)
		n++
	}
	binary.LittleEndian.PutUint32(buf[countAt:], n)
	buf = binary.LittleEndian.AppendUint32(buf, crc32.Checksum(buf, castagnoli))

	tmp, err := os.CreateTemp(filepath.Dir(path), ".statcache-*")
	if err != nil {
		return fmt.Errorf("saving the stat cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf); err != nil {
		tmp.Close()
		return fmt.Errorf("saving the stat cache: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("saving the stat cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving the stat cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("saving the stat cache: %w", err)
	}
	return nil
}

// lookup returns the cached result for path when its metadata still
// matches and is not racy. It takes no lock.
func (c *StatCache) lookup(path string, st FileStat) (FileResult, bool) {
	e, ok := c.entries[path]
	if !ok || e.stat != st || st.MtimeNs >= c.writtenNs || st.CtimeNs >= c.writtenNs {
		c.misses.Add(1)
		return FileResult{}, false
	}
	c.hits.Add(1)
	e.used.Store(true)
	return FileResult{SHA256: hex.EncodeToString(e.sum[:]), Size: e.stat.Size, Head: e.head, cached: true}, true
}

func (c *StatCache) learn(path string, st FileStat, r FileResult, hashedAt time.Time) {
	c.mu.Lock()
	c.dirty = true
	c.mu.Unlock()
	if limit := hashedAt.Add(-settle).UnixNano(); st.MtimeNs >= limit || st.CtimeNs >= limit {
		return // changed just before it was hashed: hash it again next time
	}
	e := &statEntry{stat: st, head: bytes.Clone(r.Head)}
	if _, err := hex.Decode(e.sum[:], []byte(r.SHA256)); err != nil {
		return
	}
	c.mu.Lock()
	c.learnt[path] = e
	c.mu.Unlock()
}

// Hash hashes the files at paths like HashFiles, but skips reading those
// whose metadata the cache vouches for, and learns the rest. A nil cache
// hashes everything.
func (c *StatCache) Hash(paths []string) []FileResult {
	out := make([]FileResult, len(paths))
	forEachFile(len(paths), func(i int, w *fileWorker) {
		out[i] = c.hashOne(paths[i], w)
		if c != nil && c.OnFile != nil {
			c.OnFile(out[i].Size, !out[i].cached)
		}
	})
	if c != nil {
		c.Hits, c.Misses = int(c.hits.Load()), int(c.misses.Load())
	}
	return out
}

// afterRead, when set by tests, runs after each file is read and before it
// is checked for changes.
var afterRead func(path string)

func (c *StatCache) hashOne(path string, w *fileWorker) FileResult {
	buf := w.buf
	if c == nil {
		return hashFile(path, buf)
	}
	// The lookup stats the file relative to its directory, held open
	// across files; a miss is read and checked by path.
	if st, ok := w.dirs.stat(path); ok {
		if r, hit := c.lookup(path, st); hit {
			return r
		}
	}
	st, ok := statFile(path)
	if !ok {
		return hashFile(path, buf) // reports the error
	}
	// Hash, and trust the result only if the file did not change while it
	// was read; otherwise read it once more.
	for attempt := 0; attempt < 2; attempt++ {
		hashedAt := statClock()
		r := hashFile(path, buf)
		if afterRead != nil {
			afterRead(path)
		}
		if r.Err != nil {
			return r
		}
		after, ok := statFile(path)
		if ok && after == st && r.Size == st.Size {
			c.learn(path, st, r, hashedAt)
			return r
		}
		if !ok {
			return r
		}
		st = after
	}
	return FileResult{Err: errors.New("source file kept changing while it was read")}
}
