package serve

import (
	"context"
	"slices"
	"sync"
	"time"
)

// scheduler hands out the Parallel slots in arrival order and bounds the
// requests waiting for one. A released slot goes straight to the first
// waiter, so the queue count is exact at every moment: a client that sends
// its next request as soon as the previous one ends is never refused
// because of a hand-off still in progress.
type scheduler struct {
	slots    int
	maxQueue int

	mu      sync.Mutex
	free    []int      // idle slot indices
	waiters []chan int // FIFO; each buffered (1)

	// onIdle, if set, runs once idleDelay after the last busy slot is
	// released, unless a slot was taken meanwhile.
	onIdle    func()
	idleDelay time.Duration
	taken     uint64 // slots handed out so far
	idle      *time.Timer
}

func newScheduler(slots, maxQueue int) *scheduler {
	s := &scheduler{slots: slots, maxQueue: maxQueue}
	for i := range slots {
		s.free = append(s.free, i)
	}
	return s
}

// acquire returns an idle slot, waiting in line for one if the queue has
// room. It fails with errQueueFull at once when it has none, or with
// ctx.Err() if ctx ends while waiting.
func (s *scheduler) acquire(ctx context.Context) (int, error) {
	s.mu.Lock()
	if n := len(s.free); n > 0 {
		i := s.free[n-1]
		s.free = s.free[:n-1]
		s.taken++
		s.mu.Unlock()
		return i, nil
	}
	if len(s.waiters) >= s.maxQueue {
		s.mu.Unlock()
		return -1, errQueueFull()
	}
	ch := make(chan int, 1)
	s.waiters = append(s.waiters, ch)
	s.mu.Unlock()
	select {
	case i := <-ch:
		return i, nil
	case <-ctx.Done():
		s.mu.Lock()
		if k := slices.Index(s.waiters, ch); k >= 0 {
			s.waiters = slices.Delete(s.waiters, k, k+1)
			s.mu.Unlock()
			return -1, ctx.Err()
		}
		s.mu.Unlock()
		s.release(<-ch) // a slot was handed over meanwhile: pass it on
		return -1, ctx.Err()
	}
}

// release returns slot i: to the first waiter, or to the idle set.
func (s *scheduler) release(i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.waiters) > 0 {
		ch := s.waiters[0]
		s.waiters = slices.Delete(s.waiters, 0, 1)
		ch <- i
		return
	}
	s.free = append(s.free, i)
	if len(s.free) == s.slots && s.onIdle != nil {
		taken := s.taken
		if s.idle != nil {
			s.idle.Stop()
		}
		s.idle = time.AfterFunc(s.idleDelay, func() {
			s.mu.Lock()
			still := s.taken == taken && len(s.free) == s.slots
			s.mu.Unlock()
			if still {
				s.onIdle()
			}
		})
	}
}

// depth returns the requests waiting and the slots busy.
func (s *scheduler) depth() (queued, busy int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.waiters), s.slots - len(s.free)
}
