// Package workerpool runs data-parallel loops on one process-wide set of
// goroutines sized to GOMAXPROCS, so kernels never start a goroutine per
// element or per row.
package workerpool

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

type task struct {
	fn     func(lo, hi int)
	lo, hi int
	g      *group
}

// group tracks the chunks of one For call. The chunk that finishes last
// sends on done (buffered, so it never blocks); the caller receives once and
// returns the group to groupPool, so a steady stream of For calls does not
// allocate.
type group struct {
	pending atomic.Int64
	done    chan struct{}
}

var groupPool = sync.Pool{New: func() any { return &group{done: make(chan struct{}, 1)} }}

func (g *group) finish() {
	if g.pending.Add(-1) == 0 {
		g.done <- struct{}{}
	}
}

func (t task) run() {
	t.fn(t.lo, t.hi)
	t.g.finish()
}

var (
	once  sync.Once
	tasks chan task
	nwork int
)

func start() {
	nwork = runtime.GOMAXPROCS(0)
	tasks = make(chan task, 4*nwork)
	for i := 0; i < nwork; i++ {
		go worker()
	}
}

// spin is how long an idle worker keeps polling for work (yielding its P
// between polls) before it blocks on the channel. A blocked goroutine
// whose thread went to sleep takes tens of microseconds to wake (more in a
// VM); kernels that run for ~100 µs, such as an M=1 matrix-vector product
// during decoding, would otherwise spend a good part of their time waiting
// for the second thread. ONNX Runtime's and llama.cpp's pools spin too.
const spin = 200 * time.Microsecond

func worker() {
	for {
		select {
		case t := <-tasks:
			t.run()
			continue
		default:
		}
		start := time.Now()
		polled := false
		for i := 1; !polled; i++ {
			select {
			case t := <-tasks:
				t.run()
				polled = true
				continue
			default:
			}
			if i%16 == 0 && time.Since(start) > spin {
				break
			}
			runtime.Gosched()
		}
		if !polled {
			(<-tasks).run()
		}
	}
}

// Workers returns the number of pool goroutines (GOMAXPROCS at first use).
func Workers() int {
	once.Do(start)
	return nwork
}

// For splits [0, n) into contiguous chunks of at least grain iterations and
// runs fn on each chunk, using at most Workers() chunks at once; the calling
// goroutine runs one chunk itself. It returns when every chunk is done, or
// ctx.Err() if ctx was cancelled before all chunks started (chunks already
// running are finished first). fn must be safe to call concurrently on
// disjoint ranges.
func For(ctx context.Context, n, grain int, fn func(lo, hi int)) error {
	return ForN(ctx, n, grain, Workers(), fn)
}

// ForN is For with an explicit upper bound on the number of chunks, for
// callers that size per-chunk scratch buffers.
func ForN(ctx context.Context, n, grain, maxChunks int, fn func(lo, hi int)) error {
	if n <= 0 {
		return ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if grain < 1 {
		grain = 1
	}
	chunks := (n + grain - 1) / grain
	if w := Workers(); chunks > w {
		chunks = w
	}
	if maxChunks > 0 && chunks > maxChunks {
		chunks = maxChunks
	}
	if chunks <= 1 {
		fn(0, n)
		return nil
	}
	g := groupPool.Get().(*group)
	g.pending.Store(int64(chunks))
	per := n / chunks
	rem := n % chunks
	lo := 0
	var first task
	for c := 0; c < chunks; c++ {
		hi := lo + per
		if c < rem {
			hi++
		}
		t := task{fn: fn, lo: lo, hi: hi, g: g}
		if c == 0 {
			first = t
		} else {
			select {
			case tasks <- t:
			default:
				t.run() // queue full: run inline
			}
		}
		lo = hi
	}
	first.run()
	// Help with queued work while waiting, so nested For calls from inside a
	// chunk cannot deadlock the pool.
	for {
		select {
		case <-g.done:
			groupPool.Put(g)
			return ctx.Err()
		case t := <-tasks:
			t.run()
		}
	}
}
