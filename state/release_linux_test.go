package state

import (
	"bufio"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// mappedKiB is how much of the file at path this process has mapped in
// memory (the Rss of its mappings in /proc/self/smaps).
func mappedKiB(t *testing.T, path string) int {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	kib, in := 0, false
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		switch {
		case len(fields) >= 5 && strings.Contains(fields[0], "-"):
			in = len(fields) >= 6 && fields[5] == path
		case in && len(fields) >= 2 && fields[0] == "Rss:":
			n, _ := strconv.Atoi(fields[1])
			kib += n
		}
	}
	return kib
}

// TestHeadCountingReleasesPages: a Head that counts the resources of a
// state without a kept count (written by an older wxmedia) reads every
// page of the resources, and leaves none of them in this process's
// memory, so that a plan reading the head of a large state does not keep
// its file mapped meanwhile.
func TestHeadCountingReleasesPages(t *testing.T) {
	const n = 20000
	path := filepath.Join(t.TempDir(), "state.db")
	must(t, os.WriteFile(path, pointState(t, n), 0o600))
	w := open(t, path, Options{})
	must(t, w.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyResourceCount, binary.BigEndian.AppendUint64(nil, 1))
	}))
	must(t, w.Close())
	st, err := os.Stat(path)
	must(t, err)
	r := open(t, path, Options{ReadOnly: true})
	defer r.Close()
	h, err := r.Head()
	if err != nil || h.Resources != n {
		t.Fatalf("head: %+v, %v; want %d resources", h, err, n)
	}
	// The resources' pages are most of the file: counting them maps
	// them all, unless they are released.
	if got := mappedKiB(t, path); got > int(st.Size()/1024/8) {
		t.Errorf("%d KiB of the %d KiB state still mapped after Head", got, st.Size()/1024)
	}
}
