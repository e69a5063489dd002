// Package apply executes a plan: it uploads what the plan says to upload,
// binds reused identifiers, forgets what left the configuration, and
// commits every identifier to the state as soon as its reply verified, so
// that a crash loses at most the uploads in flight. It decides nothing: the
// plan is the whole of what it does.
package apply

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/wxmedia/wxmedia/internal/safefile"
	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/state"
	"github.com/wxmedia/wxmedia/uploader"
)

// ErrInterrupted is returned (per resource) for uploads that were not
// started because the apply was asked to stop.
var ErrInterrupted = errors.New("not started: the apply was interrupted")

// Uploader sends one file to one merchant's API.
type Uploader interface {
	Upload(ctx context.Context, r uploader.Request) (uploader.Result, error)
}

// Options configure an apply.
type Options struct {
	// Store receives every commit; the content cache is read from it to
	// check identifiers.
	Store state.ReadWriter
	// Uploaders by merchant block name; every merchant with an upload in
	// the plan must have one.
	Uploaders map[string]Uploader
	// Parallelism bounds concurrent uploads; <= 0 means 4.
	Parallelism int
	// Now is the clock for uploaded_at; nil means time.Now.
	Now func() time.Time
	// OnEvent, if set, is called (from several goroutines) as work finishes.
	OnEvent func(Event)
	// Stop, when closed, stops new uploads from starting; uploads in flight
	// finish and are committed. Cancelling the context instead aborts them.
	Stop <-chan struct{}
}

// Event reports one finished resource change.
type Event struct {
	Change *plan.ResourceChange
	Err    error
}

// Failure is a resource change that did not complete.
type Failure struct {
	Addr string
	Err  error
}

// Result summarises an apply.
type Result struct {
	// Uploaded and UploadedBytes count new uploads, Reuploaded and
	// ReuploadedBytes uploads of changed content.
	Uploaded, Reuploaded, Reused, Forgotten, Updated int
	UploadedBytes, ReuploadedBytes                   int64
	// NotStarted counts uploads skipped because of Stop or cancellation;
	// they are also listed in Failures with ErrInterrupted.
	NotStarted int
	Failures   []Failure
}

// Interrupted reports whether some planned work was not started.
func (r *Result) Interrupted() bool { return r.NotStarted > 0 }

// Failed counts the changes that were attempted and failed: the failures
// less the uploads not started.
func (r *Result) Failed() int { return len(r.Failures) - r.NotStarted }

// Apply executes p. A per-resource failure does not stop the rest; it is
// listed in the result. The error is for failures that stop everything
// (the state cannot be written).
func Apply(ctx context.Context, p *plan.Plan, o Options) (*Result, error) {
	if o.Parallelism <= 0 {
		o.Parallelism = 4
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	res := &Result{}
	var mu sync.Mutex
	fail := func(c *plan.ResourceChange, err error) {
		mu.Lock()
		res.Failures = append(res.Failures, Failure{Addr: c.Addr, Err: err})
		mu.Unlock()
		if o.OnEvent != nil {
			o.OnEvent(Event{Change: c, Err: err})
		}
	}
	done := func(c *plan.ResourceChange) {
		if o.OnEvent != nil {
			o.OnEvent(Event{Change: c})
		}
	}

	// Forget first: it only touches the state.
	var forget []string
	for _, c := range p.Detailed() {
		if c.Action == plan.Forget {
			forget = append(forget, c.Addr)
		}
	}
	if len(forget) > 0 {
		if err := o.Store.RemoveResources(forget...); err != nil {
			return res, fmt.Errorf("removing forgotten resources from state: %w", err)
		}
		res.Forgotten = len(forget)
		for _, c := range p.Detailed() {
			if c.Action == plan.Forget {
				done(c)
			}
		}
	}

	// Uploads, in parallel, each committed as soon as it verifies.
	var uploads []*plan.ResourceChange
	for _, c := range p.Detailed() {
		if c.Action == plan.Upload || c.Action == plan.Reupload {
			uploads = append(uploads, c)
		}
	}
	issued := map[string]state.CacheEntry{} // by uploading address
	ids := newIdentifiers(o.Store)
	var fatal error
	// A state that cannot be written stops new uploads at once.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	sched := newScheduler(uploads, o.Parallelism)
	// Uploads whose identifier is not yet durable (on the network, or
	// verified and waiting for their commit group) are bounded too, so a
	// crash loses at most MaxUncommitted(parallelism) of them.
	uncommitted := make(chan struct{}, MaxUncommitted(o.Parallelism))
	// A state that commits concurrent writes together is told of the
	// uploads on their way, so that it syncs once for about as many as
	// are on the network rather than once for every few.
	hints, _ := o.Store.(state.WriteHinter)
	var wg sync.WaitGroup
	notStarted := func() {
		for _, c := range sched.drain() {
			res.NotStarted++
			fail(c, ErrInterrupted)
		}
	}
	for {
		if ctx.Err() != nil || stopped(o.Stop) {
			notStarted()
			break
		}
		select {
		case uncommitted <- struct{}{}:
		case <-o.Stop:
			notStarted()
			continue
		case <-ctx.Done():
			notStarted()
			continue
		}
		c := sched.next(ctx, o.Stop)
		if c == nil {
			<-uncommitted
			if ctx.Err() != nil || stopped(o.Stop) {
				notStarted()
			}
			break
		}
		if stopped(o.Stop) {
			sched.release(c.Merchant)
			<-uncommitted
			res.NotStarted++
			fail(c, ErrInterrupted)
			notStarted()
			break
		}
		wg.Add(1)
		if hints != nil {
			hints.ExpectWrites(1)
		}
		go func(c *plan.ResourceChange) {
			defer wg.Done()
			defer func() { <-uncommitted }()
			// The announced write is withdrawn as it is made, or when
			// the upload fails.
			var arrivedOnce sync.Once
			arrived := func() {
				if hints != nil {
					arrivedOnce.Do(func() { hints.ExpectWrites(-1) })
				}
			}
			defer arrived()
			// The slot is freed once the reply is in, so that the next
			// upload starts while this one's commit waits for its group:
			// the network stays busy while the state syncs.
			var once sync.Once
			release := func() { once.Do(func() { sched.release(c.Merchant) }) }
			defer release()
			entry, err := upload(ctx, c, o, ids, release, arrived)
			if err != nil {
				var se *storeError
				if errors.As(err, &se) {
					mu.Lock()
					if fatal == nil {
						fatal = se.err
					}
					mu.Unlock()
					stop()
				}
				fail(c, err)
				return
			}
			mu.Lock()
			issued[c.Addr] = entry
			if c.Action == plan.Reupload {
				res.Reuploaded++
				res.ReuploadedBytes += c.After.Size
			} else {
				res.Uploaded++
				res.UploadedBytes += c.After.Size
			}
			mu.Unlock()
			done(c)
		}(c)
	}
	wg.Wait()
	if fatal != nil {
		return res, fatal
	}

	// Reuses and metadata updates, once the uploads they may wait for are
	// in. They are recorded concurrently, so that the state backend can
	// commit many in one transaction, and reported in plan order, each once
	// its record is durable.
	type write struct {
		c       *plan.ResourceChange
		r       state.Resource
		updated bool
		done    chan error
	}
	var writes []*write
	for _, c := range p.Detailed() {
		switch c.Action {
		case plan.Reuse:
			id, at := c.After.ID, c.After.UploadedAt
			if c.ReuseOf != "" {
				e, ok := issued[c.ReuseOf]
				if !ok {
					writes = append(writes, &write{c: c, done: nil})
					continue
				}
				id, at = e.ID, e.UploadedAt
			}
			writes = append(writes, &write{c: c, r: record(c, id, at), done: make(chan error, 1)})
		case plan.NoOp:
			if c.Before != nil && (c.Before.Source != c.After.Source || c.Before.Filename != c.After.Filename) {
				writes = append(writes, &write{c: c, r: record(c, c.After.ID, c.After.UploadedAt), updated: true, done: make(chan error, 1)})
			}
		}
	}
	queue := make(chan *write, len(writes))
	for _, w := range writes {
		if w.done != nil {
			queue <- w
		}
	}
	close(queue)
	var failed sync.Once
	halt := make(chan struct{})
	for range min(recordWorkers, len(writes)) {
		wg.Go(func() {
			for w := range queue {
				select {
				case <-halt:
					w.done <- errNotRecorded
					continue
				default:
				}
				err := o.Store.PutResource(w.r)
				if err != nil {
					failed.Do(func() { close(halt) })
				}
				w.done <- err
			}
		})
	}
	defer wg.Wait()
	for _, w := range writes {
		c := w.c
		if w.done == nil {
			fail(c, fmt.Errorf("not bound: the upload of the same bytes by %s failed", c.ReuseOf))
			continue
		}
		if err := <-w.done; err != nil {
			if errors.Is(err, errNotRecorded) {
				continue
			}
			return res, fmt.Errorf("recording %s in state: %w", c.Addr, err)
		}
		if w.updated {
			res.Updated++
			continue
		}
		res.Reused++
		done(c)
	}
	sort.Slice(res.Failures, func(i, j int) bool { return res.Failures[i].Addr < res.Failures[j].Addr })
	return res, nil
}

// recordWorkers bounds the concurrent state writes of reuses and metadata
// updates.
const recordWorkers = 64

// errNotRecorded marks writes skipped after another write failed.
var errNotRecorded = errors.New("not recorded: an earlier state write failed")

// MaxUncommitted is how many uploads of an apply with the given
// parallelism can be unrecorded at any moment: on the network, or verified
// and waiting for their commit. A crash loses at most that many; the next
// apply uploads them again. It leaves room for three commit groups' worth
// of verified uploads behind those on the network: with only one, the
// uploads stop whenever a group fills the room and wait for its commit
// (BenchmarkApply ran 7% slower with twice the parallelism).
func MaxUncommitted(parallelism int) int { return 4 * max(parallelism, 1) }

func stopped(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// storeError marks a failure to write the state, which stops the apply.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// upload sends c's file, calls release once the reply is in, and commits
// the verified identifier durably before returning, calling arrived just
// before it asks the state to.
func upload(ctx context.Context, c *plan.ResourceChange, o Options, ids *identifiers, release, arrived func()) (state.CacheEntry, error) {
	up := o.Uploaders[c.Merchant]
	if up == nil {
		return state.CacheEntry{}, fmt.Errorf("no uploader for merchant %q", c.Merchant)
	}
	// What is uploaded is exactly the bytes that were planned.
	// The file is opened without blocking, must still be a regular file,
	// and is read up to the planned size plus one byte: a source swapped
	// for a pipe or a device since planning is refused, not read forever.
	content, err := safefile.ReadFile(c.Path, c.After.Size)
	if errors.Is(err, safefile.ErrTooLarge) {
		return state.CacheEntry{}, fmt.Errorf("%s: %w (planned %d bytes, now larger); plan again", plan.Visible(c.After.Source), plan.ErrFileChanged, c.After.Size)
	}
	if err != nil {
		return state.CacheEntry{}, fmt.Errorf("reading %s: %w", plan.Visible(c.After.Source), err)
	}
	sum := sha256.Sum256(content)
	if got := hex.EncodeToString(sum[:]); got != c.After.SHA256 || int64(len(content)) != c.After.Size {
		return state.CacheEntry{}, fmt.Errorf("%s: %w (planned sha256 %s, now %s); plan again", plan.Visible(c.After.Source), plan.ErrFileChanged, c.After.SHA256[:12], got[:12])
	}
	r, err := up.Upload(ctx, uploader.Request{API: uploader.API(c.API), Filename: c.After.Filename, Content: content, SHA256: c.After.SHA256, Address: c.Addr})
	release()
	if err != nil {
		return state.CacheEntry{}, err
	}
	field := "identifier"
	if spec, ok := uploader.SpecForAPI(uploader.API(c.API)); ok {
		field = spec.IDField
	}
	if err := ids.claim(c, field, r.ID); err != nil {
		return state.CacheEntry{}, err
	}
	now := o.Now().UTC()
	rec := record(c, r.ID, now)
	entry := rec.CacheEntry()
	arrived()
	if err := o.Store.CommitUpload(rec, entry); err != nil {
		return state.CacheEntry{}, &storeError{fmt.Errorf("recording %s (identifier %s) in state: %w", c.Addr, r.ID, err)}
	}
	return entry, nil
}

func record(c *plan.ResourceChange, id string, at time.Time) state.Resource {
	return state.Resource{
		Address: c.Addr, Type: c.Type, Name: c.Name, Key: c.Key, Merchant: c.Merchant, MchID: c.MchID,
		Service: c.Service, API: c.API, Source: c.After.Source, Filename: c.After.Filename,
		SHA256: c.After.SHA256, Size: c.After.Size, ID: id, UploadedAt: at.UTC(),
	}
}
