package apply

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/state"
	"github.com/wxmedia/wxmedia/uploader"
)

// recorder is an Uploader that issues IDs and can refuse chosen filenames;
// the wire protocol itself is tested against the sandbox elsewhere.
type recorder struct {
	mu     sync.Mutex
	calls  []string
	refuse map[string]error
}

func (r *recorder) Upload(ctx context.Context, req uploader.Request) (uploader.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, req.Filename)
	if err := r.refuse[req.Filename]; err != nil {
		return uploader.Result{}, err
	}
	s := sha256.Sum256(req.Content)
	if hex.EncodeToString(s[:]) != req.SHA256 {
		return uploader.Result{}, errors.New("digest mismatch")
	}
	return uploader.Result{ID: "id-" + req.Filename, Attempts: 1}, nil
}

// tempState is a new local state in a temporary directory, closed when
// the test ends, and that directory.
func tempState(t *testing.T) (string, *state.Local) {
	t.Helper()
	dir := t.TempDir()
	st, err := state.OpenLocal(filepath.Join(dir, "state.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return dir, st
}

func change(t *testing.T, dir, name string, content []byte, action plan.Action) *plan.ResourceChange {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(content)
	return &plan.ResourceChange{
		Addr: fmt.Sprintf("wechatpay_image.img[%q]", name), Type: "wechatpay_image", Name: "img", Key: name,
		Merchant: "m", MchID: "1900000001", Service: "sandbox-t", API: string(uploader.APIMerchantImage),
		Action: action, Path: p,
		After: &plan.Object{Source: name, Filename: name, SHA256: hex.EncodeToString(s[:]), Size: int64(len(content))},
	}
}

func TestApplyCommitsEachUploadAndBindsReuses(t *testing.T) {
	dir := t.TempDir()
	st, err := state.OpenLocal(filepath.Join(dir, ".wxmedia", "state.db"), state.Options{Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	a := change(t, dir, "a.png", []byte("AAAA"), plan.Upload)
	b := change(t, dir, "b.png", []byte("BBBB"), plan.Upload)
	dup := change(t, dir, "dup.png", []byte("AAAA"), plan.Reuse)
	dup.ReuseOf = a.Addr
	bad := change(t, dir, "bad.png", []byte("CCCC"), plan.Upload)
	badDup := change(t, dir, "baddup.png", []byte("CCCC"), plan.Reuse)
	badDup.ReuseOf = bad.Addr
	changed := change(t, dir, "changed.png", []byte("DDDD"), plan.Upload)
	os.WriteFile(changed.Path, []byte("EEEE"), 0o644) // edited after planning

	rec := &recorder{refuse: map[string]error{"bad.png": &uploader.APIError{StatusCode: 400, Code: "PARAM_ERROR", Message: "image format error"}}}
	p := planOf([]*plan.ResourceChange{a, b, bad, badDup, changed, dup})
	res, err := Apply(context.Background(), p, Options{Store: st, Uploaders: map[string]Uploader{"m": rec}, Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Uploaded != 2 || res.Reused != 1 || len(res.Failures) != 3 {
		t.Fatalf("result %+v", res)
	}
	if len(rec.calls) != 3 { // a, b, bad; never dup, never the changed file
		t.Fatalf("uploads %v", rec.calls)
	}
	for _, f := range res.Failures {
		if f.Addr == changed.Addr && !errors.Is(f.Err, plan.ErrFileChanged) {
			t.Errorf("changed file: %v", f.Err)
		}
	}
	snap, err := st.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if got := snap.Resources[dup.Addr].ID; got != "id-a.png" {
		t.Errorf("dup bound to %q, want id-a.png", got)
	}
	if _, ok := snap.Resources[bad.Addr]; ok {
		t.Errorf("failed upload recorded")
	}
	if len(snap.Resources) != 3 {
		t.Errorf("state has %d resources, want 3", len(snap.Resources))
	}
	hits, err := st.LookupCache([]state.CacheKey{a.CacheKey(), b.CacheKey()})
	if err != nil || len(hits) != 2 {
		t.Fatalf("cache hits %v, %v", hits, err)
	}
}

func TestApplyForgets(t *testing.T) {
	dir, st := tempState(t)
	a := change(t, dir, "a.png", []byte("AAAA"), plan.Upload)
	if _, err := Apply(context.Background(), planOf([]*plan.ResourceChange{a}), Options{Store: st, Uploaders: map[string]Uploader{"m": &recorder{}}}); err != nil {
		t.Fatal(err)
	}
	f := &plan.ResourceChange{Addr: a.Addr, Action: plan.Forget, Before: a.After}
	res, err := Apply(context.Background(), planOf([]*plan.ResourceChange{f}), Options{Store: st})
	if err != nil || res.Forgotten != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	snap, _ := st.Snapshot()
	if len(snap.Resources) != 0 {
		t.Fatalf("resources left: %v", snap.Resources)
	}
	// The cache keeps the identifier: bringing the file back is a reuse.
	hits, _ := st.LookupCache([]state.CacheKey{a.CacheKey()})
	if hits[a.CacheKey()].ID != "id-a.png" {
		t.Fatalf("cache lost the identifier: %v", hits)
	}
}

// gate blocks every upload until released, and reports when one started.
type gate struct {
	recorder
	started chan string
	release chan struct{}
}

func (g *gate) Upload(ctx context.Context, req uploader.Request) (uploader.Result, error) {
	g.started <- req.Filename
	<-g.release
	return g.recorder.Upload(ctx, req)
}

func TestStopLetsInFlightUploadsFinish(t *testing.T) {
	dir, st := tempState(t)
	var changes []*plan.ResourceChange
	for i := 0; i < 6; i++ {
		changes = append(changes, change(t, dir, fmt.Sprintf("f%d.png", i), []byte(fmt.Sprintf("content %d", i)), plan.Upload))
	}
	g := &gate{started: make(chan string, 10), release: make(chan struct{})}
	stop := make(chan struct{})
	done := make(chan *Result)
	go func() {
		res, err := Apply(context.Background(), planOf(changes), Options{Store: st, Uploaders: map[string]Uploader{"m": g}, Parallelism: 2, Stop: stop})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	<-g.started
	<-g.started // two in flight
	close(stop)
	close(g.release)
	res := <-done
	if res.Uploaded != 2 || res.NotStarted != 4 || !res.Interrupted() {
		t.Fatalf("result %+v", res)
	}
	snap, _ := st.Snapshot()
	if len(snap.Resources) != 2 {
		t.Fatalf("in-flight uploads not committed: %d resources", len(snap.Resources))
	}
	for _, f := range res.Failures {
		if !errors.Is(f.Err, ErrInterrupted) {
			t.Errorf("%s: %v", f.Addr, f.Err)
		}
	}
}

// slowStore delays every commit, so verified uploads pile up waiting.
type slowStore struct {
	*state.Local
	mu       sync.Mutex
	inFlight *int
	maxSeen  *int
}

func (s *slowStore) CommitUpload(r state.Resource, e state.CacheEntry) error {
	time.Sleep(20 * time.Millisecond)
	err := s.Local.CommitUpload(r, e)
	s.mu.Lock()
	*s.inFlight--
	s.mu.Unlock()
	return err
}

// counting counts uploads started and not yet committed.
type counting struct {
	recorder
	store *slowStore
}

func (c *counting) Upload(ctx context.Context, req uploader.Request) (uploader.Result, error) {
	c.store.mu.Lock()
	*c.store.inFlight++
	if *c.store.inFlight > *c.store.maxSeen {
		*c.store.maxSeen = *c.store.inFlight
	}
	c.store.mu.Unlock()
	return c.recorder.Upload(ctx, req)
}

// However slow the commits, at most MaxUncommitted uploads are ever
// unrecorded at once: that is what a crash can lose.
func TestUncommittedUploadsAreBounded(t *testing.T) {
	dir, local := tempState(t)
	var inFlight, maxSeen int
	st := &slowStore{Local: local, inFlight: &inFlight, maxSeen: &maxSeen}
	var changes []*plan.ResourceChange
	for i := 0; i < 40; i++ {
		changes = append(changes, change(t, dir, fmt.Sprintf("f%d.png", i), []byte(fmt.Sprintf("bytes %d", i)), plan.Upload))
	}
	res, err := Apply(context.Background(), planOf(changes), Options{Store: st, Uploaders: map[string]Uploader{"m": &counting{store: st}}, Parallelism: 3})
	if err != nil || res.Uploaded != 40 {
		t.Fatalf("%+v %v", res, err)
	}
	// 3 on the network, up to 9 more awaiting commit: the contract's "never
	// more than four times -parallelism".
	if limit := 4 * 3; maxSeen > limit || maxSeen < 4 {
		t.Fatalf("at most %d uploads were unrecorded at once, want between 4 and %d", maxSeen, limit)
	}
}

// planOf is a plan of changes, kept in full.
func planOf(changes []*plan.ResourceChange) *plan.Plan {
	p := &plan.Plan{}
	p.SetChanges(changes)
	return p
}

// hintingStore counts the writes apply announces to the state and
// withdraws.
type hintingStore struct {
	*state.Local
	mu                   sync.Mutex
	announced, withdrawn int
	overdrawn            bool
}

func (s *hintingStore) ExpectWrites(n int) {
	s.mu.Lock()
	if n > 0 {
		s.announced += n
	} else {
		s.withdrawn -= n
	}
	if s.withdrawn > s.announced {
		s.overdrawn = true
	}
	s.mu.Unlock()
	s.Local.ExpectWrites(n)
}

// Every upload apply announces to the state as on its way is withdrawn
// once, whether it is committed, refused by the server, or never sent
// (its file changed since planning): an announcement left behind would
// hold every later commit for the state's group window.
func TestAnnouncedWritesAreWithdrawn(t *testing.T) {
	dir, local := tempState(t)
	st := &hintingStore{Local: local}
	rec := &recorder{refuse: map[string]error{}}
	var changes []*plan.ResourceChange
	for i := range 30 {
		name := fmt.Sprintf("f%02d.png", i)
		c := change(t, dir, name, []byte(name), plan.Upload)
		switch i % 5 {
		case 1:
			rec.refuse[name] = &uploader.APIError{StatusCode: 400, Code: "PARAM_ERROR", Message: "image format error"}
		case 2:
			os.WriteFile(c.Path, []byte("edited after planning"), 0o644)
		}
		changes = append(changes, c)
	}
	res, err := Apply(context.Background(), planOf(changes), Options{Store: st, Uploaders: map[string]Uploader{"m": rec}, Parallelism: 4})
	if err != nil || res.Uploaded != 18 || len(res.Failures) != 12 {
		t.Fatalf("%d uploaded, failures %v, %v; want 18 and 12", res.Uploaded, res.Failures, err)
	}
	if st.announced != 30 || st.withdrawn != 30 || st.overdrawn {
		t.Errorf("%d writes announced, %d withdrawn (overdrawn: %v), want 30 and 30", st.announced, st.withdrawn, st.overdrawn)
	}
}
