package state

import (
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// releasePages drops the state file's pages from this process's memory
// map (madvise MADV_DONTNEED): the file is mapped read-only and shared, so
// the pages stay in the page cache and a later read maps them again. Only
// residency changes, never what a read sees. It is called once what was
// read from the pages has been copied.
func releasePages(tx *bolt.Tx) {
	info := tx.DB().Info()
	if info == nil || info.Data == 0 || tx.Size() <= 0 {
		return
	}
	syscall.Syscall(syscall.SYS_MADVISE, info.Data, uintptr(tx.Size()), syscall.MADV_DONTNEED)
}

// releaseMapped drops data[lo:hi] of a read-only shared map of a file
// (mapFile) from this process's memory, as releasePages does for bbolt's
// map. lo is rounded down to the system's page size, which may be larger
// than the state's.
func releaseMapped(data []byte, lo, hi uint64) {
	lo &^= uint64(syscall.Getpagesize() - 1)
	if lo < hi && hi <= uint64(len(data)) {
		syscall.Madvise(data[lo:hi], syscall.MADV_DONTNEED)
	}
}
