package plan

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
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
	mu      sync.Mutex
	entries map[string]statEntry
	// writtenNs is the cache file's own mtime when loaded; 0 for a new cache.
	writtenNs int64
	fresh     map[string]statEntry
	// Hits and Misses count lookups since load, for reports and tests.
	Hits, Misses int
	// OnFile, if set before Hash, is called from the hashing goroutines
	// after each file with its size and whether it was read (not cached).
	OnFile func(size int64, read bool)
}

const statCacheMagic = "wxmedia-statcache-1\n"

// NewStatCache returns an empty cache: every file is hashed and learnt.
func NewStatCache() *StatCache {
	return &StatCache{entries: map[string]statEntry{}, fresh: map[string]statEntry{}}
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
	entries, err := readStatCache(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return c
	}
	c.entries = entries
	c.writtenNs = st.ModTime().UnixNano()
	return c
}

func readStatCache(r *bufio.Reader) (map[string]statEntry, error) {
	magic := make([]byte, len(statCacheMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != statCacheMagic {
		return nil, errors.New("not a stat cache")
	}
	var n uint32
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
		return nil, err
	}
	out := make(map[string]statEntry, n)
	var fixed [2 + 8*5 + sha256.Size + 1]byte
	for i := uint32(0); i < n; i++ {
		if _, err := io.ReadFull(r, fixed[:]); err != nil {
			return nil, err
		}
		pl := binary.LittleEndian.Uint16(fixed[0:])
		var e statEntry
		e.stat.Size = int64(binary.LittleEndian.Uint64(fixed[2:]))
		e.stat.MtimeNs = int64(binary.LittleEndian.Uint64(fixed[10:]))
		e.stat.CtimeNs = int64(binary.LittleEndian.Uint64(fixed[18:]))
		e.stat.Ino = binary.LittleEndian.Uint64(fixed[26:])
		e.stat.Dev = binary.LittleEndian.Uint64(fixed[34:])
		copy(e.sum[:], fixed[42:42+sha256.Size])
		hl := fixed[42+sha256.Size]
		buf := make([]byte, int(pl)+int(hl))
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		e.head = buf[pl:]
		out[string(buf[:pl])] = e
	}
	return out, nil
}

// Save writes the entries used or learnt since load to path (temporary
// file, then rename; mode 0600): entries of files no longer hashed are
// dropped.
func (c *StatCache) Save(path string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("saving the stat cache: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".statcache-*")
	if err != nil {
		return fmt.Errorf("saving the stat cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<20)
	w.WriteString(statCacheMagic)
	binary.Write(w, binary.LittleEndian, uint32(len(c.fresh)))
	var fixed [2 + 8*5 + sha256.Size + 1]byte
	for p, e := range c.fresh {
		if len(p) > 0xffff || len(e.head) > 0xff {
			continue
		}
		binary.LittleEndian.PutUint16(fixed[0:], uint16(len(p)))
		binary.LittleEndian.PutUint64(fixed[2:], uint64(e.stat.Size))
		binary.LittleEndian.PutUint64(fixed[10:], uint64(e.stat.MtimeNs))
		binary.LittleEndian.PutUint64(fixed[18:], uint64(e.stat.CtimeNs))
		binary.LittleEndian.PutUint64(fixed[26:], e.stat.Ino)
		binary.LittleEndian.PutUint64(fixed[34:], e.stat.Dev)
		copy(fixed[42:], e.sum[:])
		fixed[42+sha256.Size] = byte(len(e.head))
		w.Write(fixed[:])
		w.WriteString(p)
		w.Write(e.head)
	}
	if err := w.Flush(); err != nil {
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
	// A dropped entry count mismatch is fine: the header is rewritten whole.
	return nil
}

// lookup returns the cached result for path when its metadata still
// matches and is not racy.
func (c *StatCache) lookup(path string, st FileStat) (FileResult, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[path]
	if !ok || e.stat != st || st.MtimeNs >= c.writtenNs || st.CtimeNs >= c.writtenNs {
		c.Misses++
		return FileResult{}, false
	}
	c.Hits++
	c.fresh[path] = e
	return FileResult{SHA256: hex.EncodeToString(e.sum[:]), Size: e.stat.Size, Head: e.head, cached: true}, true
}

func (c *StatCache) learn(path string, st FileStat, r FileResult) {
	var e statEntry
	if _, err := hex.Decode(e.sum[:], []byte(r.SHA256)); err != nil {
		return
	}
	e.stat = st
	e.head = bytes.Clone(r.Head)
	c.mu.Lock()
	c.fresh[path] = e
	c.mu.Unlock()
}

// Hash hashes the files at paths like HashFiles, but skips reading those
// whose metadata the cache vouches for, and learns the rest. A nil cache
// hashes everything.
func (c *StatCache) Hash(paths []string) []FileResult {
	out := make([]FileResult, len(paths))
	workers := min(runtime.GOMAXPROCS(0), len(paths))
	var wg sync.WaitGroup
	next := make(chan int, 256)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 256<<10)
			for i := range next {
				out[i] = c.hashOne(paths[i], buf)
				if c != nil && c.OnFile != nil {
					c.OnFile(out[i].Size, !out[i].cached)
				}
			}
		}()
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

func (c *StatCache) hashOne(path string, buf []byte) FileResult {
	if c == nil {
		return hashFile(path, buf)
	}
	st, ok := statFile(path)
	if !ok {
		return hashFile(path, buf) // reports the error
	}
	if r, hit := c.lookup(path, st); hit {
		return r
	}
	// Hash, and trust the result only if the file did not change while it
	// was read; otherwise read it once more.
	for attempt := 0; attempt < 2; attempt++ {
		r := hashFile(path, buf)
		if r.Err != nil {
			return r
		}
		after, ok := statFile(path)
		if ok && after == st && r.Size == st.Size {
			c.learn(path, st, r)
			return r
		}
		if !ok {
			return r
		}
		st = after
	}
	return FileResult{Err: errors.New("source file kept changing while it was read")}
}
