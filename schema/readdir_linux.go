package schema

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// direntBufs are the buffers readDir reads directory entries into.
var direntBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// readDir calls fn with the name and kind of every entry of the directory
// full, except . and .., straight from getdents(2): listing a large tree
// then allocates nothing per entry. name is only valid during the call.
// Entries whose type the file system does not report are looked up with
// lstat, as os.ReadDir does; one that vanished meanwhile is skipped.
//
// enter is called first with the directory's key (see fileset_cycles.go);
// when it returns false, nothing is listed.
func readDir(full string, enter func(k dirKey, known bool) bool, fn func(name string, kind entryKind)) error {
	fd, err := unix.Open(full, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	for err == unix.EINTR {
		fd, err = unix.Open(full, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if !enter(dirKey{dev: uint64(st.Dev), ino: st.Ino}, true) {
		return nil
	}
	bp := direntBufs.Get().(*[]byte)
	defer direntBufs.Put(bp)
	buf := *bp
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n <= 0 {
			return nil
		}
		for b := buf[:n]; len(b) >= 19; {
			// struct linux_dirent64: ino, off (8 bytes each), reclen (2),
			// type (1), then the NUL-terminated name.
			reclen := int(*(*uint16)(unsafe.Pointer(&b[16])))
			if reclen < 19 || reclen > len(b) {
				break
			}
			typ := b[18]
			nameb := b[19:reclen]
			b = b[reclen:]
			for i, c := range nameb {
				if c == 0 {
					nameb = nameb[:i]
					break
				}
			}
			if len(nameb) == 0 || nameb[0] == '.' && (len(nameb) == 1 || len(nameb) == 2 && nameb[1] == '.') {
				continue
			}
			name := unsafe.String(&nameb[0], len(nameb))
			var kind entryKind
			switch typ {
			case unix.DT_DIR:
				kind = kindDir
			case unix.DT_LNK:
				kind = kindFollow
			case unix.DT_UNKNOWN:
				var st unix.Stat_t
				if unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
					continue
				}
				switch st.Mode & unix.S_IFMT {
				case unix.S_IFDIR:
					kind = kindDir
				case unix.S_IFLNK:
					kind = kindFollow
				default:
					kind = kindOther
				}
			default:
				kind = kindOther
			}
			fn(name, kind)
		}
	}
}
