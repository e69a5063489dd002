package apply

import (
	"context"
	"sync"

	"github.com/wxmedia/wxmedia/plan"
)

// scheduler hands out the uploads of an apply and its parallelism slots
// fairly between merchants. The server limits each merchant on its own,
// and an upload waiting for its merchant's pace holds its slot: handed out
// in plan order, the uploads of one rate-limited merchant would fill every
// slot and the other merchants would wait behind it. So each merchant
// with uploads left or in flight holds at most its share of the slots
// (parallelism over the number of such merchants, rounded up), and
// merchants take turns. next is called from the dispatching goroutine
// only; release from any.
type scheduler struct {
	limit    int
	merchant []string                          // in order of first upload
	queue    map[string][]*plan.ResourceChange // not yet started, in plan order
	turn     int                               // index in merchant of the next turn
	freed    chan struct{}                     // a slot was released

	mu    sync.Mutex
	total int            // slots held
	held  map[string]int // slots held by merchant
}

func newScheduler(uploads []*plan.ResourceChange, parallelism int) *scheduler {
	s := &scheduler{limit: max(parallelism, 1), queue: map[string][]*plan.ResourceChange{},
		freed: make(chan struct{}, 1), held: map[string]int{}}
	for _, c := range uploads {
		if _, ok := s.queue[c.Merchant]; !ok {
			s.merchant = append(s.merchant, c.Merchant)
		}
		s.queue[c.Merchant] = append(s.queue[c.Merchant], c)
	}
	return s
}

// next waits for a free slot that a merchant with uploads left may take,
// takes it and returns that merchant's next upload; nil when none is left,
// or when stop is closed or ctx is done first.
func (s *scheduler) next(ctx context.Context, stop <-chan struct{}) *plan.ResourceChange {
	for {
		c, left := s.take()
		if c != nil || !left {
			return c
		}
		select {
		case <-s.freed:
		case <-stop:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

// take is one attempt of next: the upload it may start, and whether any
// upload is left.
func (s *scheduler) take() (*plan.ResourceChange, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	active, left := 0, false
	for _, m := range s.merchant {
		if len(s.queue[m]) > 0 || s.held[m] > 0 {
			active++
		}
		left = left || len(s.queue[m]) > 0
	}
	if !left || s.total >= s.limit {
		return nil, left
	}
	share := (s.limit + active - 1) / active
	for i := range s.merchant {
		m := s.merchant[(s.turn+i)%len(s.merchant)]
		if q := s.queue[m]; len(q) > 0 && s.held[m] < share {
			s.turn = (s.turn + i + 1) % len(s.merchant)
			s.queue[m] = q[1:]
			s.held[m]++
			s.total++
			return q[0], true
		}
	}
	return nil, true
}

// release frees the slot of an upload of merchant m.
func (s *scheduler) release(m string) {
	s.mu.Lock()
	s.total--
	s.held[m]--
	s.mu.Unlock()
	select {
	case s.freed <- struct{}{}:
	default:
	}
}

// drain removes and returns every upload not yet started.
func (s *scheduler) drain() []*plan.ResourceChange {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*plan.ResourceChange
	for _, m := range s.merchant {
		out = append(out, s.queue[m]...)
		s.queue[m] = nil
	}
	return out
}
