package plan

import (
	"strings"

	"golang.org/x/sys/unix"
)

// statFile returns path's metadata, following symbolic links; false when
// it cannot be read or is not a regular file.
func statFile(path string) (FileStat, bool) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return FileStat{}, false
	}
	return regularStat(&st)
}

// regularStat converts st; false when it is not a regular file.
func regularStat(st *unix.Stat_t) (FileStat, bool) {
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return FileStat{}, false
	}
	return FileStat{
		Size:    st.Size,
		MtimeNs: st.Mtim.Nano(),
		CtimeNs: st.Ctim.Nano(),
		Ino:     st.Ino,
		Dev:     uint64(st.Dev),
	}, true
}

// dirStat is statFile for many files of few directories: it keeps the
// directory of the last file open and stats relative to it (fstatat), so
// the kernel resolves one name per file instead of the whole path. A
// directory that cannot be opened (no read permission) falls back to
// statFile.
// Absolute paths only; anything else goes to statFile.
type dirStat struct {
	dir string
	fd  int
	ok  bool
}

func (d *dirStat) stat(path string) (FileStat, bool) {
	i := strings.LastIndexByte(path, '/')
	if i <= 0 || i == len(path)-1 || path[0] != '/' {
		return statFile(path)
	}
	dir, base := path[:i], path[i+1:]
	if !d.ok || dir != d.dir {
		d.close()
		fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return statFile(path)
		}
		d.dir, d.fd, d.ok = dir, fd, true
	}
	var st unix.Stat_t
	if err := unix.Fstatat(d.fd, base, &st, 0); err != nil {
		return FileStat{}, false
	}
	return regularStat(&st)
}

func (d *dirStat) close() {
	if d.ok {
		unix.Close(d.fd)
		d.ok = false
	}
}
