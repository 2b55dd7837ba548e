// Package workerpool runs data-parallel loops on one process-wide set of
// goroutines sized to GOMAXPROCS, so kernels never start a goroutine per
// element or per row.
package workerpool

import (
	"context"
	"fmt"
	"os"
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
	var err error
	if spin, err = parseSpin(os.Getenv("ZERFOO_POOL_SPIN")); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
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
// 2 ms covers the serial work between two parallel steps of a decoder (norms,
// attention, sampling over a 262144-token vocabulary): Gemma 3 270m-shaped
// Q4_0 on 2 threads decoded 165–177 tokens/s without polling, 183–194 with
// 200 µs and 203–204 with 2 ms (and prompt 2057–2078 → 2274–2445 tokens/s
// from 200 µs to 2 ms).
//
// The environment variable ZERFOO_POOL_SPIN overrides it with a Go duration
// ("0" turns polling off, for machines shared with other work); it is read
// once, when the pool starts.
var spin = DefaultSpin

// DefaultSpin is the polling time of idle workers without ZERFOO_POOL_SPIN.
const DefaultSpin = 2 * time.Millisecond

// parseSpin returns the polling time for the value of ZERFOO_POOL_SPIN.
func parseSpin(v string) (time.Duration, error) {
	if v == "" {
		return DefaultSpin, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > time.Second {
		return DefaultSpin, fmt.Errorf("workerpool: ZERFOO_POOL_SPIN=%q: want a duration from 0 to 1s such as 200us or 0; using %v", v, DefaultSpin)
	}
	return d, nil
}

func worker() {
	for {
		if t, ok := poll(); ok {
			t.run()
			continue
		}
		(<-tasks).run()
	}
}

// poll returns a task if one arrives within spin, yielding the P between
// polls so that other goroutines run; ok is false after spin without one.
func poll() (t task, ok bool) {
	since := time.Now()
	for i := 0; ; i++ {
		select {
		case t := <-tasks:
			return t, true
		default:
		}
		if spin <= 0 || (i%16 == 15 && time.Since(since) > spin) {
			return task{}, false
		}
		runtime.Gosched()
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
