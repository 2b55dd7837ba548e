// Package workerpool runs data-parallel loops on one process-wide set of
// goroutines sized to GOMAXPROCS, so kernels never start a goroutine per
// element or per row.
package workerpool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrPanic matches (with errors.Is) the *PanicError that For and ForN
// return when a chunk panicked.
var ErrPanic = errors.New("workerpool: panic in parallel loop")

// PanicError is the error For and ForN return when a chunk of the loop
// panicked: the pool recovers the panic wherever the chunk ran (a pool
// worker, or the calling goroutine), keeps the worker, skips the loop's
// chunks that had not started, waits for those running and returns the
// first panic of the loop. It matches ErrPanic and unwraps to Value when
// Value is an error (a runtime.Error for an index out of range, say).
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the panicking goroutine's stack (debug.Stack at recovery)
}

// Error returns one line: "workerpool: panic in parallel loop: " and the
// value (newlines replaced by spaces).
func (e *PanicError) Error() string {
	v := strings.ReplaceAll(fmt.Sprint(e.Value), "\n", " ")
	return ErrPanic.Error() + ": " + v
}

// Is reports whether target is ErrPanic.
func (e *PanicError) Is(target error) bool { return target == ErrPanic }

// Unwrap returns Value if it is an error, else nil.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

type task struct {
	fn     func(lo, hi int)
	lo, hi int
	g      *group
}

// group tracks the chunks of one For call. The chunk that finishes last
// sends on done (buffered, so it never blocks); the caller receives once and
// returns the group to groupPool, so a steady stream of For calls does not
// allocate. panicked holds the loop's first panic; chunks that start after
// it is set skip their work.
type group struct {
	pending  atomic.Int64
	panicked atomic.Pointer[PanicError]
	done     chan struct{}
}

var groupPool = sync.Pool{New: func() any { return &group{done: make(chan struct{}, 1)} }}

func (g *group) finish() {
	if g.pending.Add(-1) == 0 {
		g.done <- struct{}{}
	}
}

// run runs the chunk unless the loop already panicked. A panic in fn is
// recovered (by end) and kept in the group, so that the goroutine running
// the chunk, a pool worker or the loop's caller, carries on.
func (t task) run() {
	defer t.end()
	if t.g.panicked.Load() == nil {
		t.fn(t.lo, t.hi)
	}
}

// end records a panic of the chunk (the first of the loop is kept) and
// counts the chunk done. It must be deferred by run: recover only stops a
// panic when called by a deferred function.
func (t task) end() {
	if r := recover(); r != nil {
		t.g.panicked.CompareAndSwap(nil, newPanicError(r))
	}
	t.g.finish()
}

// newPanicError wraps a recovered value with the stack of the goroutine
// that is panicking.
func newPanicError(r any) *PanicError {
	return &PanicError{Value: r, Stack: debug.Stack()}
}

// runInline runs a loop of one chunk on the calling goroutine, recovering
// a panic the way run does.
func runInline(n int, fn func(lo, hi int)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = newPanicError(r)
		}
	}()
	fn(0, n)
	return nil
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
//
// A panic in fn does not reach the goroutine that ran the chunk: For
// recovers it, lets the chunks already running finish, skips the others
// and returns a *PanicError (matching ErrPanic) holding the first panic's
// value and stack. The pool keeps all its workers.
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
		return runInline(n, fn)
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
			if p := g.panicked.Load(); p != nil {
				g.panicked.Store(nil)
				groupPool.Put(g)
				return p
			}
			groupPool.Put(g)
			return ctx.Err()
		case t := <-tasks:
			t.run()
		}
	}
}
