package plan

import (
	"syscall"
)

// statFile returns path's metadata, following symbolic links; false when
// it cannot be read or is not a regular file.
func statFile(path string) (FileStat, bool) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return FileStat{}, false
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
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
