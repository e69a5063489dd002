//go:build !linux

package plan

import "os"

// statFile returns path's metadata, following symbolic links; false when
// it cannot be read or is not a regular file. Without inode and change
// time here, only size and mtime decide.
func statFile(path string) (FileStat, bool) {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return FileStat{}, false
	}
	return FileStat{Size: fi.Size(), MtimeNs: fi.ModTime().UnixNano()}, true
}

// dirStat is statFile on systems without fstatat here.
type dirStat struct{}

func (*dirStat) stat(path string) (FileStat, bool) { return statFile(path) }

func (*dirStat) close() {}
