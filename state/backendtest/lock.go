package backendtest

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/wxmedia/wxmedia/state"
)

func testLocked(t *testing.T, h Harness) {
	holder := open(t, h, state.Options{Command: "apply"})
	r := Resource(1)
	must(t, holder.CommitUpload(r, Entry(r)))

	start := time.Now()
	_, err := h.Open(state.Options{LockTimeout: 200 * time.Millisecond, Command: "plan"})
	elapsed := time.Since(start)
	if !errors.Is(err, state.ErrLocked) {
		t.Fatalf("second writer: %v, want ErrLocked", err)
	}
	if elapsed < 150*time.Millisecond || elapsed > 3*time.Second {
		t.Errorf("second writer gave up after %v, want about 200ms", elapsed)
	}
	var le *state.LockedError
	if !errors.As(err, &le) || le.Holder == nil || le.Holder.PID != os.Getpid() || le.Holder.Command != "apply" {
		t.Fatalf("lock error does not name the holder: %v", err)
	}
	host, _ := os.Hostname()
	want := fmt.Sprintf("state is locked by another wxmedia: pid %d on host %q, running \"apply\" since %s",
		os.Getpid(), host, le.Holder.Started.Format(time.RFC3339))
	if le.Session != 0 {
		// A postgres lock names the session force-unlock ends.
		want += fmt.Sprintf(", lock session %d", le.Session)
	}
	if err.Error() != want {
		t.Errorf("message\n got %s\nwant %s", err, want)
	}
	if d := time.Since(le.Holder.Started); d < -time.Second || d > time.Minute {
		t.Errorf("holder started %v ago", d)
	}
	start = time.Now()
	if _, err := h.Open(state.Options{}); !errors.Is(err, state.ErrLocked) || time.Since(start) > time.Second {
		t.Errorf("LockTimeout 0: %v after %v", err, time.Since(start))
	}

	// A reader does not wait for the writer.
	start = time.Now()
	reader, err := h.Open(state.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("reader while a writer holds the lock: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("reader waited %v for the writer", d)
	}
	_, seen := snap(t, reader).Resources[r.Address]
	if h.ReadersSeeWriterStart && seen {
		t.Errorf("reader sees a commit made after the writer took the lock; want the state as it was then")
	}
	if !h.ReadersSeeWriterStart && !seen {
		t.Errorf("reader does not see the writer's commit")
	}
	reader.Close()

	// A writer waiting without limit gets the lock once it is released.
	got := make(chan error, 1)
	go func() {
		b, err := h.Open(state.Options{LockTimeout: -1, Command: "apply"})
		if err == nil {
			err = b.Close()
		}
		got <- err
	}()
	time.Sleep(100 * time.Millisecond)
	must(t, holder.Close())
	select {
	case err := <-got:
		must(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("waiting writer did not get the lock")
	}
	b := open(t, h, state.Options{LockTimeout: 100 * time.Millisecond})
	must(t, b.Close())
}

func testReadOnly(t *testing.T, h Harness) {
	// A missing state reads as empty and is not created.
	for range 2 {
		ro := open(t, h, state.Options{ReadOnly: true})
		s := snap(t, ro)
		if s.Lineage != "" || s.Serial != 0 || len(s.Resources)+len(s.Outputs) != 0 || s.Resources == nil || s.Outputs == nil {
			t.Errorf("missing state read as %+v", s)
		}
		if hits, err := ro.LookupCache([]state.CacheKey{Entry(Resource(1)).CacheKey}); err != nil || len(hits) != 0 {
			t.Errorf("lookup in a missing state: %v, %v", hits, err)
		}
		doc, err := ro.Export()
		must(t, err)
		if doc.Lineage != "" || doc.Serial != 0 || len(doc.Resources) != 0 || doc.Resources == nil || doc.Outputs == nil || doc.Cache == nil {
			t.Errorf("missing state exported as %+v", doc)
		}
		must(t, ro.Close())
	}
	w := open(t, h, state.Options{})
	r := Resource(1)
	must(t, w.CommitUpload(r, Entry(r)))
	must(t, w.Close())

	ro := open(t, h, state.Options{ReadOnly: true})
	for name, err := range map[string]error{
		"CommitUpload":    ro.CommitUpload(r, Entry(r)),
		"PutResource":     ro.PutResource(r),
		"RemoveResources": ro.RemoveResources(r.Address),
		"SetOutputs":      ro.SetOutputs(testOutputsMap),
		"MoveResource":    ro.MoveResource(r.Address, r),
		"MoveResources":   ro.MoveResources([]state.Move{{From: r.Address, To: r}}),
		"PutCache":        ro.PutCache(Entry(r)),
		"Push":            ro.Push(&state.Export{FormatVersion: state.ExportFormatVersion}, true),
	} {
		if !errors.Is(err, state.ErrReadOnly) {
			t.Errorf("%s through a reader: %v, want ErrReadOnly", name, err)
		}
	}
	if _, err := ro.RemoveCache(state.CacheFilter{}); !errors.Is(err, state.ErrReadOnly) {
		t.Errorf("RemoveCache through a reader: %v, want ErrReadOnly", err)
	}
	if s := snap(t, ro); s.Serial != 1 || len(s.Resources) != 1 {
		t.Errorf("reader changed the state: %+v", s)
	}
}

func testConcurrentCommits(t *testing.T, h Harness) {
	b := open(t, h, state.Options{})
	const workers, each = 8, 4
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				r := Resource(w*each + i)
				errs <- b.CommitUpload(r, Entry(r))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	s := snap(t, b)
	if len(s.Resources) != workers*each || s.Serial != workers*each {
		t.Errorf("%d resources, serial %d; want %d", len(s.Resources), s.Serial, workers*each)
	}
	if c, _ := b.ListCache(); len(c) != workers*each {
		t.Errorf("%d cache entries", len(c))
	}
}
