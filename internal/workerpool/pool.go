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

// group is one parallel loop. Its chunks are numbered 0..chunks-1; the
// calling goroutine and every pool worker that takes one of the loop's
// tickets from the queue claim chunks in order from next until none is
// left, so a worker that starts late (a thread wake-up, a vCPU the host
// runs late) takes fewer chunks instead of holding the loop up by a fixed
// share. The chunk that finishes last tells the caller through state: a
// caller still polling pending needs nothing more, one parked on done gets
// a message there (buffered, so the send never blocks). panicked holds the
// loop's first panic; chunks claimed after it is set skip their work. refs
// counts the goroutines that may still touch the group (the caller and
// each queued ticket, whose holder lets go only after its chunks' end,
// state change included): the last to let go returns it to groupPool, so a
// steady stream of loops does not allocate and a ticket taken after its
// loop ended finds no chunk rather than another loop's.
type group struct {
	fn       func(lo, hi int)
	n        int
	chunks   int64
	next     atomic.Int64
	pending  atomic.Int64
	refs     atomic.Int64
	panicked atomic.Pointer[PanicError]
	// state tells the last chunk how to report the end of the loop:
	// running (the caller polls pending and needs no message) or parked
	// (the caller gave up polling and waits on done); finished once the
	// last chunk has ended.
	state atomic.Int32
	done  chan struct{}
}

// The states of a group.
const (
	running int32 = iota
	parked
	finished
)

var groupPool = sync.Pool{New: func() any { return &group{done: make(chan struct{}, 1)} }}

// work runs chunks of the loop until every chunk has been claimed.
func (g *group) work() {
	for {
		c := g.next.Add(1) - 1
		if c >= g.chunks {
			return
		}
		g.run(c)
	}
}

// bounds returns the iterations [lo, hi) of chunk c: the chunks' sizes
// differ by at most one.
func (g *group) bounds(c int64) (lo, hi int) {
	n := int64(g.n)
	return int(c * n / g.chunks), int((c + 1) * n / g.chunks)
}

// run runs chunk c unless the loop already panicked. A panic in fn is
// recovered (by end) and kept in the group, so that the goroutine running
// the chunk, a pool worker or the loop's caller, carries on.
func (g *group) run(c int64) {
	defer g.end()
	if g.panicked.Load() == nil {
		g.fn(g.bounds(c))
	}
}

// end records a panic of the chunk (the first of the loop is kept) and
// counts the chunk done. It must be deferred by run: recover only stops a
// panic when called by a deferred function.
func (g *group) end() {
	if r := recover(); r != nil {
		g.panicked.CompareAndSwap(nil, newPanicError(r))
	}
	if g.pending.Add(-1) == 0 && !g.state.CompareAndSwap(running, finished) {
		g.done <- struct{}{} // the caller is parked on done
	}
}

// release lets go of the group; the last holder returns it to groupPool.
func (g *group) release() {
	if g.refs.Add(-1) == 0 {
		g.fn = nil
		groupPool.Put(g)
	}
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
	tasks chan *group   // tickets: each asks one worker to help with a loop
	wake  chan struct{} // a token per ticket sent, for workers that sleep
	nwork int
)

func start() {
	var err error
	if spin, err = parseSpin(os.Getenv("ZERFOO_POOL_SPIN")); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	nwork = runtime.GOMAXPROCS(0)
	tasks = make(chan *group, 4*nwork)
	// Workers that stopped polling sleep on wake, not on tasks: a channel
	// hands a value to a blocked receiver first, so a sleeping worker
	// would take the next ticket ahead of one that polls for it, and wait
	// with it in the run queue of the caller's P while the polling worker
	// keeps the other P: the loop would run on one thread. (With the
	// workers receiving on tasks, two-thread streaming reads of 112 MiB
	// ran at 35–40 GB/s, one thread's speed, on the 2-vCPU EPYC of
	// docs/PERFORMANCE.md; 64–72 without.)
	wake = make(chan struct{}, nwork)
	for i := 0; i < nwork; i++ {
		go worker()
	}
}

// spin is how long an idle worker keeps polling for work (yielding its P
// between polls) before it sleeps until the next ticket. A blocked goroutine
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
		g, ok := poll()
		if !ok {
			<-wake // then poll again: another worker may have the ticket
			continue
		}
		g.work()
		g.release()
	}
}

// poll returns a ticket if one arrives within spin, yielding the P between
// polls so that other goroutines run; ok is false after spin without one.
func poll() (g *group, ok bool) {
	since := time.Now()
	for i := 0; ; i++ {
		// len reads the queue's count without taking its lock, which a
		// poll that finds it empty then leaves to the callers.
		if len(tasks) > 0 {
			select {
			case g := <-tasks:
				return g, true
			default:
			}
		}
		if spin <= 0 || (i%16 == 15 && time.Since(since) > spin) {
			return nil, false
		}
		runtime.Gosched()
	}
}

// Workers returns the number of pool goroutines (GOMAXPROCS at first use).
func Workers() int {
	once.Do(start)
	return nwork
}

// For splits [0, n) into at most ⌈n/grain⌉ contiguous chunks (their sizes
// within one of each other) and runs fn on each chunk, on at most
// Workers() goroutines at once: the calling goroutine and the pool
// workers take chunks in order until none is left. There are up to
// chunksPerWorker times as many chunks as workers, so that a worker that
// starts late or a chunk that runs slow delays the loop by about one small
// chunk. It returns when every chunk is done, or ctx.Err() if ctx was
// cancelled before all chunks started (chunks already running are
// finished first). fn must be safe to call concurrently on disjoint
// ranges.
//
// A panic in fn does not reach the goroutine that ran the chunk: For
// recovers it, lets the chunks already running finish, skips the others
// and returns a *PanicError (matching ErrPanic) holding the first panic's
// value and stack. The pool keeps all its workers.
func For(ctx context.Context, n, grain int, fn func(lo, hi int)) error {
	return forChunks(ctx, n, grain, chunksPerWorker*Workers(), fn)
}

// chunksPerWorker is how many chunks For makes per worker (when grain
// allows): enough that the two threads of a 2-core machine still finish
// together when one of them starts a chunk's worth late, few enough that
// the per-chunk cost (an atomic claim, the body's set-up) stays small.
const chunksPerWorker = 4

// ForN is For with an explicit upper bound on the number of chunks (and so
// on the calls of fn), for callers that size per-chunk scratch buffers or
// split the work into parts themselves; maxChunks ≤ 0 means For's bound.
// As in For, the chunks are taken in order by the caller and the workers.
func ForN(ctx context.Context, n, grain, maxChunks int, fn func(lo, hi int)) error {
	limit := chunksPerWorker * Workers()
	if maxChunks > 0 {
		limit = min(maxChunks, Workers())
	}
	return forChunks(ctx, n, grain, limit, fn)
}

// inlineKey marks a context made by Inline.
type inlineKey struct{}

// Inline returns a context under which For and ForN run the whole loop on
// the calling goroutine. A parallel loop whose chunks call kernels that
// are parallel themselves (one matrix product per attention head, say)
// passes it to them: the outer loop already keeps every worker busy, and
// nested loops would only add the cost of splitting and waiting.
func Inline(ctx context.Context) context.Context {
	return context.WithValue(ctx, inlineKey{}, true)
}

// reclaim takes tickets from the queue while the finished loop g still has
// some there, so that the group returns to groupPool now instead of when
// a late worker gets to its ticket (the next loop would otherwise allocate
// a group). Tickets of other loops taken on the way are worked on, as a
// waiting caller does.
func reclaim(g *group) {
	for g.refs.Load() > 1 {
		select {
		case h := <-tasks:
			h.work()
			h.release()
		default:
			return
		}
	}
}

// waitSpin polls until the loop's other chunks are done, for up to
// doneSpin, before the caller blocks on g.done. A caller that blocks
// while a worker finishes the last chunk parks its goroutine, and waking
// it takes microseconds: as long as a whole small product. Decode runs
// ~100 such products per token on two threads (a 640×256 Q4_0 product
// took 5.0 µs on two threads against 1.0 on one before this wait, on the
// 2-vCPU EPYC of docs/PERFORMANCE.md). The chunks of one loop are about
// equal, so the wait is usually short; a loop whose other chunks run
// longer (a late worker) falls back to blocking. Polling cannot deadlock:
// every claimed chunk is being run by a goroutine that does not wait for
// this one (a nested loop's caller runs its chunks itself if no worker
// helps). It reports whether every chunk is done.
//
// A caller that sees the last chunk end here takes no message from it
// (see group.state): the message on done, sent by the finishing goroutine
// and received by the caller's select, and workers polling the queue
// under its lock, made a two-chunk loop of 5 µs chunks take 0.85–0.94 µs
// longer than its chunks on that EPYC, against 0.59–0.63 without
// (BenchmarkForkJoin; an empty two-chunk loop 1.3–1.4 → 0.6 µs).
func waitSpin(g *group) bool {
	if spin <= 0 {
		return false
	}
	var since time.Time
	for i := 0; g.pending.Load() > 0; i++ {
		if i%64 == 63 {
			if since.IsZero() {
				since = time.Now()
			} else if time.Since(since) > doneSpin {
				return false
			}
		}
	}
	return true
}

// doneSpin bounds waitSpin's polling.
const doneSpin = 50 * time.Microsecond

// forChunks runs fn over [0, n) in at most limit chunks of at least grain
// iterations.
func forChunks(ctx context.Context, n, grain, limit int, fn func(lo, hi int)) error {
	if n <= 0 {
		return ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if grain < 1 {
		grain = 1
	}
	chunks := min((n+grain-1)/grain, limit)
	w := Workers()
	if chunks <= 1 || w <= 1 || ctx.Value(inlineKey{}) != nil {
		return runInline(n, fn)
	}
	g := groupPool.Get().(*group)
	g.fn, g.n, g.chunks = fn, n, int64(chunks)
	g.next.Store(0)
	g.pending.Store(int64(chunks))
	g.state.Store(running)
	// One ticket per worker that can help: chunks-1 at most, the caller
	// takes the rest. A ticket the full queue refuses is dropped; the
	// caller and the workers already helping do its share.
	helpers := min(chunks-1, w-1)
	g.refs.Store(int64(1 + helpers))
	for range helpers {
		select {
		case tasks <- g:
			select {
			case wake <- struct{}{}:
			default: // as many tokens wait as workers can sleep
			}
		default:
			g.refs.Add(-1)
		}
	}
	g.work()
	// Park unless the chunks ended while polling or before the park (then
	// the last one's state change fails and it sends nothing).
	if !waitSpin(g) && g.state.CompareAndSwap(running, parked) {
		// Help with queued loops while waiting, so nested For calls from
		// inside a chunk cannot deadlock the pool.
		for waiting := true; waiting; {
			select {
			case <-g.done:
				waiting = false
			case h := <-tasks:
				h.work()
				h.release()
			}
		}
	}
	p := g.panicked.Load()
	if p != nil {
		g.panicked.Store(nil)
	}
	reclaim(g)
	g.release()
	if p != nil {
		return p
	}
	return ctx.Err()
}
