package apply

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wxmedia/wxmedia/plan"
	"github.com/wxmedia/wxmedia/state"
	"github.com/wxmedia/wxmedia/uploader"
)

// held is an Uploader whose uploads wait until it is opened, as uploads
// of a rate-limited merchant wait for their pace.
type held struct {
	open chan struct{}
	mu   sync.Mutex
	n    int
}

func (h *held) Upload(ctx context.Context, req uploader.Request) (uploader.Result, error) {
	h.mu.Lock()
	h.n++
	h.mu.Unlock()
	select {
	case <-h.open:
	case <-ctx.Done():
		return uploader.Result{}, ctx.Err()
	}
	return uploader.Result{ID: "id-" + req.Filename, Attempts: 1}, nil
}

// A merchant whose uploads wait (its server limits it) does not hold every
// slot: the other merchant's uploads, later in plan order, go on.
func TestApplySharesSlotsBetweenMerchants(t *testing.T) {
	dir := t.TempDir()
	st, err := state.OpenLocal(filepath.Join(dir, ".wxmedia", "state.db"), state.Options{Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var changes []*plan.ResourceChange
	for i := range 8 {
		c := change(t, dir, fmt.Sprintf("slow%d.png", i), fmt.Appendf(nil, "slow %d", i), plan.Upload)
		c.Merchant, c.MchID = "slow", "1900000001"
		changes = append(changes, c)
	}
	for i := range 8 {
		c := change(t, dir, fmt.Sprintf("fast%d.png", i), fmt.Appendf(nil, "fast %d", i), plan.Upload)
		c.Merchant, c.MchID = "fast", "1900000002"
		changes = append(changes, c)
	}
	slow := &held{open: make(chan struct{})}
	fast := &recorder{}
	var mu sync.Mutex
	fastDone := 0
	allFast := make(chan struct{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	timedOut := make(chan bool, 1)
	go func() {
		select {
		case <-allFast:
			timedOut <- false
		case <-time.After(5 * time.Second):
			timedOut <- true
		}
		close(slow.open)
	}()
	res, err := Apply(ctx, planOf(changes), Options{
		Store: st, Uploaders: map[string]Uploader{"slow": slow, "fast": fast}, Parallelism: 4,
		OnEvent: func(e Event) {
			if e.Change.Merchant == "fast" && e.Err == nil {
				mu.Lock()
				fastDone++
				if fastDone == 8 {
					close(allFast)
				}
				mu.Unlock()
			}
		},
	})
	if err != nil || res.Uploaded != 16 {
		t.Fatalf("Apply() = %+v, %v", res, err)
	}
	// The fast merchant finished while the slow one's uploads still waited.
	if <-timedOut {
		t.Fatal("the fast merchant's uploads waited behind the slow merchant's")
	}
}
