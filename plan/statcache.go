package plan

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wxmedia/wxmedia/internal/atomicfile"
	"github.com/wxmedia/wxmedia/internal/datadir"
	"github.com/wxmedia/wxmedia/internal/safefile"
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

// statEntry is one entry of the cache, learnt or decoded for Save.
type statEntry struct {
	path string
	stat FileStat
	sum  [sha256.Size]byte
	head []byte
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
	// loaded indexes the loaded file's entries, in its order; read
	// without locking, as only their used flags change after load. When
	// sorted (paths strictly increasing, as Save writes them), a lookup
	// finds an entry at the position of its path in the list hashed, or
	// by binary search; otherwise index holds every path's entry number
	// (the last entry of a path wins).
	loaded statIndex
	sorted bool
	index  map[string]int
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
	// clock is the clock hashing reads, time.Now when nil; tests move it.
	clock func() time.Time
	// afterRead, when tests set it, runs after each file is read and
	// before it is checked for changes.
	afterRead func(path string)
}

// The cache file: the magic, the entry count (uint32), the entries, and a
// CRC-32C of everything before it. An entry is a fixed part (path length
// uint16, size, mtime, ctime, inode, device as uint64, SHA-256, head
// length uint8; little endian), then the path and the head bytes.
const (
	statCacheMagic = "wxmedia-statcache-3\n"
	fixedSize      = 2 + 8*5 + sha256.Size + 1
)

// settle is how long before a file is hashed its last change must be for
// the result to be remembered. File times come from a clock that is coarser
// than the one the hashing reads (a few milliseconds on Linux): a file
// rewritten with the same size in the same tick as it was hashed would
// keep every time and size the cache compares. Such a file is hashed again
// next time instead.
const settle = time.Second

// NewStatCache returns an empty cache: every file is hashed and learnt.
func NewStatCache() *StatCache {
	return &StatCache{sorted: true, learnt: map[string]*statEntry{}, dirty: true}
}

// LoadStatCache reads the cache at path. A missing, unreadable or corrupt
// file gives an empty cache: the cache only ever saves work.
func LoadStatCache(path string) *StatCache {
	c := NewStatCache()
	data, st, err := loadDerived(path)
	if err != nil {
		return c
	}
	x, sorted, err := parseStatCache(data)
	if err != nil {
		return c
	}
	c.loaded, c.sorted = x, sorted
	if !sorted {
		c.index = make(map[string]int, x.len())
		for n := range x.len() {
			c.index[x.path(n)] = n
		}
	}
	c.dirty = false
	c.writtenNs = st.ModTime().UnixNano()
	return c
}

// StatCacheCount returns how many entries the cache file at path holds,
// as its header says, without loading it; 0 when it cannot be read. A
// count the file's size cannot hold is bounded by that size.
func StatCacheCount(path string) int {
	f, st, err := safefile.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	head := make([]byte, len(statCacheMagic)+4)
	if _, err := io.ReadFull(f, head); err != nil || string(head[:len(statCacheMagic)]) != statCacheMagic {
		return 0
	}
	return int(min(int64(binary.LittleEndian.Uint32(head[len(statCacheMagic):])), st.Size()/fixedSize))
}

// eachLoaded calls f with the number of every loaded entry that a lookup
// can find.
func (c *StatCache) eachLoaded(f func(n int) bool) {
	if c.sorted {
		for n := range c.loaded.len() {
			if !f(n) {
				return
			}
		}
		return
	}
	for _, n := range c.index {
		if !f(n) {
			return
		}
	}
}

// find returns the number of the loaded entry for path, -1 when there is
// none; i is the position of path in the list being hashed, where a cache
// saved for that list holds it.
func (c *StatCache) find(i int, path string) int {
	if !c.sorted {
		if n, ok := c.index[path]; ok {
			return n
		}
		return -1
	}
	x := &c.loaded
	if i >= 0 && i < x.len() && x.path(i) == path {
		return i
	}
	lo := sort.Search(x.len(), func(m int) bool { return x.path(m) >= path })
	if lo < x.len() && x.path(lo) == path {
		return lo
	}
	return -1
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
		if c.allUsed() {
			if _, err := os.Stat(path); err == nil {
				return nil
			}
		}
	}
	// The entries to keep: those used since load, and those learnt. The
	// loaded entries are in path order, unless the file was not written
	// by Save; then the plain encoding, with a map and a sort, serves.
	// Either is written as it is encoded, never held whole in memory.
	write := c.writeMerged
	if !c.sorted {
		keep := make(map[string]*statEntry, c.loaded.len()+len(c.learnt))
		loaded := 0
		c.eachLoaded(func(n int) bool {
			loaded++
			if c.loaded.used[n].Load() {
				e := c.loaded.entry(n)
				keep[e.path] = &e
			}
			return true
		})
		for p, e := range c.learnt {
			keep[p] = e
		}
		if !c.dirty && len(keep) == loaded {
			if _, err := os.Stat(path); err == nil {
				return nil
			}
		}
		write = func(w io.Writer) error { return writeStatCache(w, keep) }
	}
	if err := datadir.MkdirAll(filepath.Dir(path)); err != nil {
		return fmt.Errorf("saving the stat cache: %w", err)
	}
	// A cache: it need not survive a crash (a lost one is made again).
	if err := atomicfile.Write(path, 0o600, atomicfile.Replace, write); err != nil {
		return fmt.Errorf("saving the stat cache: %w", err)
	}
	return nil
}

// allUsed reports whether a lookup vouched for every loaded entry.
func (c *StatCache) allUsed() bool {
	all := true
	c.eachLoaded(func(n int) bool {
		all = c.loaded.used[n].Load()
		return all
	})
	return all
}

// writeStatCache writes the cache file holding keep, in path order: the
// plain encoding, which writeMerged gives too without a map or a sort.
func writeStatCache(out io.Writer, keep map[string]*statEntry) error {
	// In path order, for lookups without an index (see find).
	order := make([]string, 0, len(keep))
	count := 0
	for p, e := range keep {
		order = append(order, p)
		if storable(p, e) {
			count++
		}
	}
	slices.Sort(order)
	w := newStatCacheWriter(out, count)
	for _, p := range order {
		w.add(p, keep[p])
	}
	return w.finish()
}

// writeMerged writes the cache file from sorted loaded entries: the used
// ones merged, in path order, with the learnt ones (which replace a
// loaded entry of the same path). A plan that hashes a few changed files
// among many sorts only those few.
func (c *StatCache) writeMerged(out io.Writer) error {
	learnt := make([]string, 0, len(c.learnt))
	for p := range c.learnt {
		learnt = append(learnt, p)
	}
	slices.Sort(learnt)
	x := &c.loaded
	// The merge twice: first to count the entries, which the file's
	// header gives before them, then to write them.
	var w *statCacheWriter
	count := 0
	for pass := range 2 {
		if pass == 1 {
			w = newStatCacheWriter(out, count)
		}
		i, j := 0, 0
		for i < x.len() || j < len(learnt) {
			switch {
			case j == len(learnt) || i < x.len() && x.path(i) < learnt[j]:
				switch {
				case !x.used[i].Load():
				case w == nil:
					count++ // a loaded entry fits the file
				default:
					e := x.entry(i)
					w.add(e.path, &e)
				}
				i++
			default:
				if i < x.len() && x.path(i) == learnt[j] {
					i++
				}
				p, e := learnt[j], c.learnt[learnt[j]]
				switch {
				case w != nil:
					w.add(p, e)
				case storable(p, e):
					count++
				}
				j++
			}
		}
	}
	return w.finish()
}

// storable reports whether an entry fits the file's fields: a path of at
// most 65,535 bytes and a head of at most 255. Others are left out.
func storable(p string, e *statEntry) bool { return len(p) <= 0xffff && len(e.head) <= 0xff }

// statCacheWriter writes a cache file of a given number of entries as
// they are added, with the CRC of what it wrote.
type statCacheWriter struct {
	w     *bufio.Writer
	crc   uint32
	n     uint32
	count uint32
	entry []byte
}

func newStatCacheWriter(out io.Writer, count int) *statCacheWriter {
	w := &statCacheWriter{w: bufio.NewWriterSize(out, 64<<10), count: uint32(count)}
	head := binary.LittleEndian.AppendUint32([]byte(statCacheMagic), w.count)
	w.write(head)
	return w
}

func (w *statCacheWriter) write(b []byte) {
	w.crc = crc32.Update(w.crc, castagnoli, b)
	w.w.Write(b)
}

// add writes an entry, unless it does not fit the file (storable).
func (w *statCacheWriter) add(p string, e *statEntry) {
	if !storable(p, e) {
		return
	}
	buf := w.entry[:0]
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
	w.write(buf)
	w.entry = buf
	w.n++
}

// finish writes the CRC; an error when the entries added are not as many
// as the header says.
func (w *statCacheWriter) finish() error {
	if w.n != w.count {
		return fmt.Errorf("stat cache of %d entries written with %d", w.count, w.n)
	}
	w.w.Write(binary.LittleEndian.AppendUint32(nil, w.crc))
	return w.w.Flush()
}

// lookup returns the cached result for path when its metadata still
// matches and is not racy. It takes no lock.
func (c *StatCache) lookup(i int, path string, st FileStat, w *fileWorker) (FileResult, bool) {
	n := c.find(i, path)
	if n < 0 || c.loaded.stat(n) != st || st.MtimeNs >= c.writtenNs || st.CtimeNs >= c.writtenNs {
		c.misses.Add(1)
		return FileResult{}, false
	}
	c.hits.Add(1)
	c.loaded.used[n].Store(true)
	return FileResult{rec: &c.loaded.data[c.loaded.offs[n]]}, true
}

func (c *StatCache) learn(path string, st FileStat, r FileResult, hashedAt time.Time) {
	c.mu.Lock()
	c.dirty = true
	c.mu.Unlock()
	if limit := hashedAt.Add(-settle).UnixNano(); st.MtimeNs >= limit || st.CtimeNs >= limit {
		return // changed just before it was hashed: hash it again next time
	}
	sum := r.sum()
	if sum == nil || r.Path() != "" {
		return // too large to hash, or found under another name
	}
	e := &statEntry{stat: st, head: bytes.Clone(r.Head()), sum: *sum}
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
		out[i] = c.hashOne(i, paths[i], w)
		if c != nil && c.OnFile != nil {
			c.OnFile(out[i].Size(), !out[i].cached())
		}
	})
	if c != nil {
		c.Hits, c.Misses = int(c.hits.Load()), int(c.misses.Load())
	}
	return out
}

func (c *StatCache) hashOne(i int, path string, w *fileWorker) FileResult {
	buf := w.buf
	if c == nil {
		return hashFile(path, buf)
	}
	// The lookup stats the file relative to its directory, held open
	// across files; a miss is read and checked by path.
	if st, ok := w.dirs.stat(path); ok {
		if r, hit := c.lookup(i, path, st, w); hit {
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
		hashedAt := time.Now()
		if c.clock != nil {
			hashedAt = c.clock()
		}
		r := hashFile(path, buf)
		if c.afterRead != nil {
			c.afterRead(path)
		}
		if r.Err() != nil {
			return r
		}
		after, ok := statFile(path)
		if ok && after == st && r.Size() == st.Size {
			c.learn(path, st, r, hashedAt)
			return r
		}
		if !ok {
			return r
		}
		st = after
	}
	return fileError(errors.New("source file kept changing while it was read"))
}
