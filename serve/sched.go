package serve

import (
	"context"
	"sync"
)

// scheduler hands out the Parallel slots in arrival order and bounds the
// requests waiting for one.
type scheduler struct {
	free     chan int // indices of idle slots
	slots    int
	maxQueue int

	mu      sync.Mutex
	waiting int
}

func newScheduler(slots, maxQueue int) *scheduler {
	s := &scheduler{free: make(chan int, slots), slots: slots, maxQueue: maxQueue}
	for i := range slots {
		s.free <- i
	}
	return s
}

// acquire returns an idle slot, waiting in line for one if the queue has
// room. It fails with errQueueFull at once when it has none, or with
// ctx.Err() if ctx ends while waiting.
func (s *scheduler) acquire(ctx context.Context) (int, error) {
	select {
	case i := <-s.free:
		return i, nil
	default:
	}
	s.mu.Lock()
	if s.waiting >= s.maxQueue {
		s.mu.Unlock()
		return -1, errQueueFull()
	}
	s.waiting++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.waiting--
		s.mu.Unlock()
	}()
	// Receivers blocked on a channel are served first come, first served.
	select {
	case i := <-s.free:
		return i, nil
	case <-ctx.Done():
		return -1, ctx.Err()
	}
}

// release returns slot i.
func (s *scheduler) release(i int) { s.free <- i }

// depth returns the requests waiting and the slots busy.
func (s *scheduler) depth() (queued, busy int) {
	s.mu.Lock()
	queued = s.waiting
	s.mu.Unlock()
	return queued, s.slots - len(s.free)
}
