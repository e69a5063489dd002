package state

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// BenchmarkPointReads compares, on one state, what a reader pays to open
// it and read its head and 100 resources by address (pointcheck.go) with
// opening it and reading it whole, in the same run: the "snapshot/point"
// figure of the second is how many times cheaper the point reads are.
//
// The state is WXMEDIA_BENCH_STATE (a state file, copied first; e.g. the
// .wxmedia/state.db of bench/run.sh's 100,000-file corpus), opened once by
// a writer unless WXMEDIA_BENCH_AS_IS is set, or else one of
// WXMEDIA_BENCH_RESOURCES resources (default 100,000) with their cache
// entries, written here.
func BenchmarkPointReads(b *testing.B) {
	path := filepath.Join(b.TempDir(), "state.db")
	if src := os.Getenv("WXMEDIA_BENCH_STATE"); src != "" {
		copyFile(b, src, path)
		// As the next apply leaves it: a state an older wxmedia wrote
		// gets its resource count sealed (upgrade).
		if os.Getenv("WXMEDIA_BENCH_AS_IS") == "" {
			must(b, open(b, path, Options{Command: "apply"}).Close())
		}
	} else {
		n := 100_000
		if s := os.Getenv("WXMEDIA_BENCH_RESOURCES"); s != "" {
			var err error
			if n, err = strconv.Atoi(s); err != nil {
				b.Fatalf("WXMEDIA_BENCH_RESOURCES: %v", err)
			}
		}
		writeBenchState(b, path, n)
	}
	// The addresses read: 100 spread over the state, and what they hold.
	l := open(b, path, Options{ReadOnly: true})
	all := snapshot(b, l)
	must(b, l.Close())
	addrs := make([]string, 0, len(all.Resources))
	for a := range all.Resources {
		addrs = append(addrs, a)
	}
	slices.Sort(addrs)
	var pick []string
	for i := 0; i < len(addrs) && len(pick) < 100; i += max(1, len(addrs)/100) {
		pick = append(pick, addrs[i])
	}
	if fi, err := os.Stat(path); err == nil {
		b.Logf("state of %d resources: %d bytes; reading %d of them", len(all.Resources), fi.Size(), len(pick))
	}

	var pointNs float64
	b.Run("open+Head+ReadResources100", func(b *testing.B) {
		for b.Loop() {
			l, err := OpenLocal(path, Options{ReadOnly: true})
			must(b, err)
			h, err := l.Head()
			must(b, err)
			rs, serial, err := l.ReadResources(pick)
			must(b, err)
			must(b, l.Close())
			if h.Resources != len(all.Resources) || serial != all.Serial || len(rs) != len(pick) || !reflect.DeepEqual(rs[pick[0]], all.Resources[pick[0]]) {
				b.Fatalf("point reads: %d resources at serial %d, %d read", h.Resources, serial, len(rs))
			}
		}
		pointNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("open+Snapshot", func(b *testing.B) {
		for b.Loop() {
			l, err := OpenLocal(path, Options{ReadOnly: true})
			must(b, err)
			s, err := l.Snapshot()
			must(b, err)
			must(b, l.Close())
			if len(s.Resources) != len(all.Resources) {
				b.Fatalf("snapshot of %d resources, want %d", len(s.Resources), len(all.Resources))
			}
		}
		snapNs := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		if pointNs > 0 {
			b.ReportMetric(snapNs/pointNs, "snapshot/point")
		}
	})
}

// writeBenchState writes a state of n resources and their cache entries
// at path, each bucket in key order.
func writeBenchState(b *testing.B, path string, n int) {
	l := open(b, path, Options{})
	must(b, l.db.Update(func(tx *bolt.Tx) error {
		rb := tx.Bucket(bucketResources)
		rb.FillPercent = 1
		if err := putTestRecords(rb, nil, n); err != nil {
			return err
		}
		return setResourceCount(tx.Bucket(bucketMeta), uint64(n))
	}))
	must(b, l.db.Update(func(tx *bolt.Tx) error {
		return putTestRecords(nil, tx.Bucket(bucketCache), n)
	}))
	must(b, l.SetOutputs(outputs))
	must(b, l.Close())
}

func copyFile(b *testing.B, src, dst string) {
	in, err := os.Open(src)
	must(b, err)
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	must(b, err)
	if _, err := io.Copy(out, in); err != nil {
		b.Fatal(err)
	}
	must(b, out.Close())
}
