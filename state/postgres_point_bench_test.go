package state_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/wxmedia/wxmedia/state"
	"github.com/wxmedia/wxmedia/state/backendtest"
)

// BenchmarkPostgresPointReads compares, on a postgres state of
// WXMEDIA_BENCH_RESOURCES resources (default 20,000) pushed in one
// transaction, a reader's open, head and 100 point reads with its open
// and snapshot, in the same run ("snapshot/point" on the second). It
// needs WXMEDIA_TEST_POSTGRES.
func BenchmarkPostgresPointReads(b *testing.B) {
	conn := backendtest.PostgresDatabase(b)
	n := 20_000
	if s := os.Getenv("WXMEDIA_BENCH_RESOURCES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatalf("WXMEDIA_BENCH_RESOURCES: %v", err)
		}
	}
	w, err := state.OpenPostgres(conn, "", state.Options{Command: "apply"})
	if err != nil {
		b.Fatal(err)
	}
	doc, err := w.Export()
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		doc.Resources = append(doc.Resources, backendtest.Resource(i))
	}
	if err := w.Push(doc, false); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	var pick []string
	for i := 0; i < n && len(pick) < 100; i += max(1, n/100) {
		pick = append(pick, backendtest.Resource(i).Address)
	}
	var pointNs float64
	b.Run("open+Head+ReadResources100", func(b *testing.B) {
		for b.Loop() {
			r, err := state.OpenPostgres(conn, "", state.Options{ReadOnly: true})
			if err != nil {
				b.Fatal(err)
			}
			h, err := r.Head()
			if err != nil {
				b.Fatal(err)
			}
			rs, _, err := r.ReadResources(pick)
			if err != nil {
				b.Fatal(err)
			}
			r.Close()
			if h.Resources != n || len(rs) != len(pick) {
				b.Fatalf("head of %d resources, %d read; want %d, %d", h.Resources, len(rs), n, len(pick))
			}
		}
		pointNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("open+Snapshot", func(b *testing.B) {
		for b.Loop() {
			r, err := state.OpenPostgres(conn, "", state.Options{ReadOnly: true})
			if err != nil {
				b.Fatal(err)
			}
			s, err := r.Snapshot()
			if err != nil {
				b.Fatal(err)
			}
			r.Close()
			if len(s.Resources) != n {
				b.Fatal(fmt.Sprintf("snapshot of %d resources, want %d", len(s.Resources), n))
			}
		}
		if pointNs > 0 {
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/pointNs, "snapshot/point")
		}
	})
}
