package apis

import (
	"bytes"
	"testing"
)

// TestMagicsDecideWithinHead checks that every format is told by its first
// MagicHeadSize bytes: a head cut there decides as the whole file does.
func TestMagicsDecideWithinHead(t *testing.T) {
	for suffix, m := range magics {
		heads := acceptingHeads(suffix)
		if len(heads) == 0 {
			t.Errorf("%s: no accepting head to test", suffix)
		}
		for _, h := range heads {
			if len(h) > MagicHeadSize {
				t.Errorf("%s: %d bytes decide, over MagicHeadSize", suffix, len(h))
			}
			long := append(bytes.Clone(h), bytes.Repeat([]byte{0xAB}, 100)...)
			if !m.match(long) || !m.match(long[:MagicHeadSize]) {
				t.Errorf("%s: %q refused, whole or cut to %d bytes", suffix, h, MagicHeadSize)
			}
			if m.match(long[:len(h)-1]) {
				t.Errorf("%s: %q accepted without its last byte", suffix, h)
			}
		}
	}
}

// acceptingHeads are, per suffix, the shortest beginnings its check
// accepts.
func acceptingHeads(suffix string) [][]byte {
	switch suffix {
	case "jpg", "jpeg":
		return [][]byte{[]byte("\xFF\xD8\xFF")}
	case "png":
		return [][]byte{[]byte("\x89PNG\r\n\x1a\n")}
	case "bmp":
		return [][]byte{[]byte("BM")}
	case "pdf":
		return [][]byte{[]byte("%PDF-")}
	case "avi":
		return [][]byte{[]byte("RIFF\x00\x00\x00\x00AVI ")}
	case "wmv":
		return [][]byte{[]byte("\x30\x26\xB2\x75\x8E\x66\xCF\x11\xA6\xD9\x00\xAA\x00\x62\xCE\x6C")}
	case "mpeg":
		return [][]byte{[]byte("\x00\x00\x01\xBA"), []byte("\x00\x00\x01\xB3")}
	case "mp4", "mov", "m4v", "f4v":
		return [][]byte{[]byte("\x00\x00\x00\x18ftyp"), []byte("\x00\x00\x00\x08moov")}
	case "mkv":
		return [][]byte{[]byte("\x1A\x45\xDF\xA3")}
	case "flv":
		return [][]byte{[]byte("FLV\x01")}
	case "rmvb":
		return [][]byte{[]byte(".RMF")}
	}
	return nil
}
