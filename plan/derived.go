package plan

import (
	"encoding/binary"
	"hash/crc32"
	"io"
	"io/fs"
	"os"

	"github.com/wxmedia/wxmedia/internal/safefile"
)

// The stat cache and the no-op index are derived files of one layout: a
// magic line, records read in place, and a CRC-32C of everything before
// it (little endian).

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// loadDerived reads the derived file at path (readDerived), opened
// without blocking, and only when it is a regular file.
func loadDerived(path string) ([]byte, fs.FileInfo, error) {
	f, st, err := safefile.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	data, err := readDerived(f, st.Size())
	if err != nil {
		return nil, nil, err
	}
	return data, st, nil
}

// readDerived returns the size bytes of f, the stat cache or the no-op
// index, read into memory. They are read rather than mapped: a plan's
// sums and identifiers refer to these bytes for as long as it lives, and
// a mapped file that someone truncates in place meanwhile would make the
// next read of them a fatal fault (SIGBUS) instead of nothing at all.
func readDerived(f *os.File, size int64) ([]byte, error) {
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, err
	}
	return data, nil
}

// derivedBody returns what data holds before its CRC when it starts with
// magic, holds at least least bytes between the magic and the CRC, and
// its CRC matches; ok is false otherwise.
func derivedBody(data []byte, magic string, least int) (body []byte, ok bool) {
	if len(data) < len(magic)+least+4 || string(data[:len(magic)]) != magic {
		return nil, false
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, false
	}
	return body, true
}
