package workerpool

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestForCoversRangeOnce(t *testing.T) {
	for _, tc := range []struct{ n, grain int }{{0, 1}, {1, 1}, {7, 1}, {100, 3}, {1000, 1000}, {1001, 10}, {5, 0}} {
		hits := make([]int32, tc.n)
		err := For(context.Background(), tc.n, tc.grain, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				atomic.AddInt32(&hits[i], 1)
			}
		})
		if err != nil {
			t.Fatalf("For(n=%d, grain=%d): %v", tc.n, tc.grain, err)
		}
		for i, h := range hits {
			if h != 1 {
				t.Fatalf("For(n=%d, grain=%d): index %d visited %d times, want 1", tc.n, tc.grain, i, h)
			}
		}
	}
}

func TestForNLimitsChunks(t *testing.T) {
	var chunks atomic.Int32
	if err := ForN(context.Background(), 1000, 1, 1, func(lo, hi int) { chunks.Add(1) }); err != nil {
		t.Fatal(err)
	}
	if got := chunks.Load(); got != 1 {
		t.Fatalf("ForN(maxChunks=1) ran %d chunks, want 1", got)
	}
}

// TestForChunks checks how For and ForN cut a loop: For into
// min(⌈n/grain⌉, chunksPerWorker·Workers()) chunks, ForN into at most
// min(maxChunks, Workers()); the chunks cover [0, n) and their sizes are
// within one of each other.
func TestForChunks(t *testing.T) {
	w := Workers()
	for _, tc := range []struct {
		name                string
		n, grain, maxChunks int
		forN                bool
		wantChunks          int
	}{
		{"For fine", 10000, 1, 0, false, min(10000, chunksPerWorker*w)},
		{"For grain", 1000, 400, 0, false, min(3, chunksPerWorker*w)},
		{"For small", 3, 1, 0, false, min(3, chunksPerWorker*w)},
		{"ForN parts", 1000, 1, 2, true, min(2, w)},
		{"ForN one", 1000, 1, 1, true, 1},
		{"ForN unbounded", 10000, 1, 0, true, min(10000, chunksPerWorker*w)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var sizes []int
			fn := func(lo, hi int) {
				mu.Lock()
				sizes = append(sizes, hi-lo)
				mu.Unlock()
			}
			var err error
			if tc.forN {
				err = ForN(context.Background(), tc.n, tc.grain, tc.maxChunks, fn)
			} else {
				err = For(context.Background(), tc.n, tc.grain, fn)
			}
			if err != nil {
				t.Fatal(err)
			}
			if w == 1 {
				tc.wantChunks = 1
			}
			if len(sizes) != tc.wantChunks {
				t.Fatalf("n=%d grain=%d maxChunks=%d: %d chunks, want %d", tc.n, tc.grain, tc.maxChunks, len(sizes), tc.wantChunks)
			}
			lo, hi, total := tc.n, 0, 0
			for _, s := range sizes {
				lo, hi, total = min(lo, s), max(hi, s), total+s
			}
			if total != tc.n || hi-lo > 1 {
				t.Fatalf("n=%d: chunk sizes %v, want %d in all, within one of each other", tc.n, sizes, tc.n)
			}
		})
	}
}

// TestForWithoutFreeWorkers checks that a loop finishes on its caller
// alone while every pool worker is stuck in another loop's chunk: the
// caller takes every chunk no worker claims.
func TestForWithoutFreeWorkers(t *testing.T) {
	if Workers() < 2 {
		t.Skip("needs GOMAXPROCS ≥ 2 to run chunks on workers")
	}
	ctx := context.Background()
	release := make(chan struct{})
	var arrived atomic.Int64
	var wg sync.WaitGroup
	// Workers() loops of two chunks, each chunk waiting for release: their
	// callers hold one chunk each and the pool workers the other.
	w := Workers()
	for range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = ForN(ctx, 2, 1, 2, func(lo, hi int) {
				arrived.Add(1)
				<-release
			})
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for arrived.Load() < int64(2*w) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := arrived.Load(); got != int64(2*w) {
		close(release)
		t.Fatalf("%d blocking chunks started, want %d", got, 2*w)
	}
	var sum atomic.Int64
	err := For(ctx, 1000, 1, func(lo, hi int) { sum.Add(int64(hi - lo)) })
	close(release)
	wg.Wait()
	if err != nil || sum.Load() != 1000 {
		t.Fatalf("For with every worker busy: %d of 1000 iterations, err %v", sum.Load(), err)
	}
}

// TestInline checks that loops under an Inline context run in one chunk
// on the calling goroutine, also when nested in a parallel loop.
func TestInline(t *testing.T) {
	ictx := Inline(context.Background())
	var calls atomic.Int64
	if err := For(ictx, 1000, 1, func(lo, hi int) {
		calls.Add(1)
		if lo != 0 || hi != 1000 {
			t.Errorf("Inline For chunk [%d, %d), want [0, 1000)", lo, hi)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if got := calls.Load(); got != 1 {
		t.Fatalf("Inline For ran %d chunks, want 1", got)
	}
	var inner atomic.Int64
	err := For(context.Background(), 16, 1, func(lo, hi int) {
		for range hi - lo {
			_ = ForN(ictx, 64, 1, 0, func(lo, hi int) { inner.Add(1) })
		}
	})
	if err != nil || inner.Load() != 16 {
		t.Fatalf("16 nested Inline loops ran %d chunks (err %v), want 16", inner.Load(), err)
	}
	ctx, cancel := context.WithCancel(ictx)
	cancel()
	if err := For(ctx, 10, 1, func(lo, hi int) {}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Inline For on a cancelled context returned %v, want context.Canceled", err)
	}
}

func TestNestedForDoesNotDeadlock(t *testing.T) {
	var total atomic.Int64
	err := For(context.Background(), 64, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			_ = For(context.Background(), 64, 1, func(lo, hi int) { total.Add(int64(hi - lo)) })
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := total.Load(); got != 64*64 {
		t.Fatalf("nested For summed %d, want %d", got, 64*64)
	}
}

func TestForCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := For(ctx, 100, 1, func(lo, hi int) { ran = true })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("For on cancelled ctx returned %v, want context.Canceled", err)
	}
	if ran {
		t.Fatal("For on cancelled ctx ran work")
	}
}

func BenchmarkForOverhead(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		_ = For(ctx, 1024, 1, func(lo, hi int) {})
	}
}

// BenchmarkForkJoin measures what a two-chunk loop adds to its chunks, as
// decode's small products run it: chunks of 5 µs of busy work, 3 µs of
// serial work between loops; overhead-µs is the loop's time beyond 5 µs.
func BenchmarkForkJoin(b *testing.B) {
	if Workers() < 2 {
		b.Skip("needs GOMAXPROCS ≥ 2 to split work")
	}
	ctx := context.Background()
	busy := func(d time.Duration) {
		for t := time.Now(); time.Since(t) < d; {
		}
	}
	fn := func(lo, hi int) { busy(5 * time.Microsecond) }
	var loops time.Duration
	for b.Loop() {
		t := time.Now()
		_ = ForN(ctx, 2, 1, 2, fn)
		loops += time.Since(t)
		busy(3 * time.Microsecond)
	}
	b.ReportMetric(loops.Seconds()*1e6/float64(b.N)-5, "overhead-µs")
}

func TestForDoesNotAllocate(t *testing.T) {
	if Workers() < 2 {
		t.Skip("needs GOMAXPROCS ≥ 2 to split work")
	}
	ctx := context.Background()
	var sink atomic.Int64
	fn := func(lo, hi int) { sink.Add(int64(hi - lo)) }
	_ = For(ctx, 1024, 1, fn) // warm the group pool
	if got := testing.AllocsPerRun(100, func() { _ = For(ctx, 1024, 1, fn) }); got > 0 {
		t.Fatalf("For allocated %v times per call, want 0", got)
	}
}

// BenchmarkForSmall measures the overhead of one small parallel loop (two
// chunks of ~1 µs) issued every ~20 µs, as a decoder issues its
// matrix-vector products: with idle workers polling (spin) the second chunk
// starts at once instead of after a thread wake-up.
// Example: go test -run - -bench ForSmall ./internal/workerpool
func BenchmarkForSmall(b *testing.B) {
	ctx := context.Background()
	var sink [2]float64
	work := func(lo, hi int) {
		x := 1.0
		for i := 0; i < 300; i++ {
			x = x*1.0000001 + 1e-9
		}
		sink[lo%2] += x
	}
	serial := func() {
		x := 1.0
		for i := 0; i < 6000; i++ {
			x = x*1.0000001 + 1e-9
		}
		sink[0] += x
	}
	for b.Loop() {
		serial()
		if err := ForN(ctx, 2, 1, 2, work); err != nil {
			b.Fatal(err)
		}
	}
}

func TestParseSpin(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{"", DefaultSpin, false}, {"0", 0, false}, {"50us", 50 * time.Microsecond, false}, {"1s", time.Second, false},
		{"fast", DefaultSpin, true}, {"-1ms", DefaultSpin, true}, {"2s", DefaultSpin, true}, {"100", DefaultSpin, true},
	} {
		got, err := parseSpin(tc.in)
		if got != tc.want || (err != nil) != tc.bad {
			t.Errorf("parseSpin(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.bad)
		}
		if err != nil && !strings.Contains(err.Error(), "ZERFOO_POOL_SPIN") {
			t.Errorf("parseSpin(%q) error %q does not name the variable", tc.in, err)
		}
	}
}

// panicky returns a loop body over n indices that panics with v in the
// chunk holding index bad and counts the indices it ran.
func panicky(bad int, v any, ran *atomic.Int64) func(lo, hi int) {
	return func(lo, hi int) {
		if lo <= bad && bad < hi {
			panic(v)
		}
		ran.Add(int64(hi - lo))
	}
}

func TestForPanicReturnsError(t *testing.T) {
	if Workers() < 2 {
		t.Skip("needs GOMAXPROCS ≥ 2 to run chunks on workers")
	}
	sentinel := errors.New("boom")
	for _, tc := range []struct {
		name     string
		n, grain int
		bad      int
		v        any
	}{
		{"worker chunk", 1000, 1, 999, "last chunk"},  // the last chunk is queued for a worker
		{"caller chunk", 1000, 1, 0, "first chunk"},   // the first chunk runs on the caller
		{"single chunk", 10, 100, 3, "inline"},        // one chunk: no group at all
		{"error value", 1000, 1, 500, sentinel},       // unwraps to the value
		{"multi-line value", 1000, 1, 999, "a\nb\nc"}, // Error stays one line
		{"runtime error", 1000, 1, 999, []int{}},      // replaced below by a real index panic
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ran atomic.Int64
			fn := panicky(tc.bad, tc.v, &ran)
			if tc.name == "runtime error" {
				fn = func(lo, hi int) {
					var s []int
					if lo <= tc.bad && tc.bad < hi {
						_ = s[tc.bad]
					}
				}
			}
			err := For(context.Background(), tc.n, tc.grain, fn)
			var pe *PanicError
			if !errors.As(err, &pe) {
				t.Fatalf("For(n=%d) with a panicking chunk returned %v, want a *PanicError", tc.n, err)
			}
			if !errors.Is(err, ErrPanic) {
				t.Errorf("errors.Is(%v, ErrPanic) = false, want true", err)
			}
			if !strings.HasPrefix(err.Error(), "workerpool: panic in parallel loop: ") || strings.Contains(err.Error(), "\n") {
				t.Errorf("Error() = %q, want one line starting with %q", err.Error(), "workerpool: panic in parallel loop: ")
			}
			if len(pe.Stack) == 0 || !strings.Contains(string(pe.Stack), "workerpool") {
				t.Errorf("PanicError.Stack = %q, want the panicking goroutine's stack", pe.Stack)
			}
			switch tc.name {
			case "error value":
				if !errors.Is(err, sentinel) {
					t.Errorf("errors.Is(%v, value) = false, want true", err)
				}
			case "runtime error":
				var re runtime.Error
				if !errors.As(err, &re) {
					t.Errorf("errors.As(%v, runtime.Error) = false, want true", err)
				}
			default:
				if pe.Value != tc.v {
					t.Errorf("PanicError.Value = %v, want %v", pe.Value, tc.v)
				}
				if errors.Unwrap(err) != nil {
					t.Errorf("Unwrap of a non-error value = %v, want nil", errors.Unwrap(err))
				}
			}
		})
	}
}

// TestForPanicKeepsPool panics in many loops, from several goroutines at
// once beside loops that do not panic, and checks that the pool still runs
// every later loop in full on all its workers.
func TestForPanicKeepsPool(t *testing.T) {
	if Workers() < 2 {
		t.Skip("needs GOMAXPROCS ≥ 2 to run chunks on workers")
	}
	ctx := context.Background()
	const loops = 200
	var wg sync.WaitGroup
	errs := make(chan string, 4*loops)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < loops; i++ {
				var ran atomic.Int64
				if g%2 == 0 { // panicking loops
					err := For(ctx, 256, 1, panicky(i%256, i, &ran))
					var pe *PanicError
					if !errors.As(err, &pe) {
						errs <- fmt.Sprintf("panicking loop %d returned %v, want a *PanicError", i, err)
					} else if pe.Value != i {
						errs <- fmt.Sprintf("panicking loop %d returned the panic of value %v, want %d", i, pe.Value, i)
					}
					continue
				}
				if err := For(ctx, 256, 1, panicky(-1, nil, &ran)); err != nil {
					errs <- fmt.Sprintf("clean loop %d returned %v", i, err)
				} else if got := ran.Load(); got != 256 {
					errs <- fmt.Sprintf("clean loop %d ran %d indices, want 256", i, got)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	// Every worker is still serving: Workers() chunks that each wait for
	// all the others can only finish if each runs on its own goroutine.
	w := Workers()
	var arrived atomic.Int64
	err := ForN(ctx, w, 1, w, func(lo, hi int) {
		arrived.Add(1)
		deadline := time.Now().Add(10 * time.Second)
		for arrived.Load() < int64(w) && time.Now().Before(deadline) {
			runtime.Gosched()
		}
	})
	if err != nil || arrived.Load() != int64(w) {
		t.Fatalf("after panics, %d chunks met (err %v), want all %d workers serving", arrived.Load(), err, w)
	}
}

// TestPanicSkipsRest checks that a chunk that starts after its loop
// panicked skips its work but still counts as done: the last chunk marks
// the group finished for a caller that polls, and sends on done to one
// that parked.
func TestPanicSkipsRest(t *testing.T) {
	for _, park := range []bool{false, true} {
		var ran atomic.Int64
		g := &group{fn: panicky(0, "first", &ran), n: 2, chunks: 2, done: make(chan struct{}, 1)}
		g.pending.Store(2)
		if park {
			g.state.Store(parked)
		}
		g.run(0)
		if g.panicked.Load() == nil {
			t.Fatal("the panicking chunk left no PanicError in its group")
		}
		g.run(1)
		if got := ran.Load(); got != 0 {
			t.Fatalf("a chunk after the panic ran %d indices, want 0", got)
		}
		if g.pending.Load() != 0 {
			t.Fatalf("%d chunks pending after both ran", g.pending.Load())
		}
		select {
		case <-g.done:
			if !park {
				t.Fatal("the loop sent on done to a caller that polls")
			}
		default:
			if park {
				t.Fatal("the loop was not signalled done to its parked caller")
			}
			if g.state.Load() != finished {
				t.Fatalf("state %d after both chunks, want finished", g.state.Load())
			}
		}
	}
}

func TestForPanicNested(t *testing.T) {
	var ran atomic.Int64
	var inner atomic.Int64
	err := For(context.Background(), 16, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if err := For(context.Background(), 16, 1, panicky(i, i, &ran)); errors.Is(err, ErrPanic) {
				inner.Add(1)
			}
		}
	})
	if err != nil {
		t.Fatalf("outer For returned %v, want nil (inner loops got the panics)", err)
	}
	if got := inner.Load(); got != 16 {
		t.Fatalf("%d inner loops returned ErrPanic, want 16", got)
	}
}

func TestForPanicDoesNotAllocateWithoutPanic(t *testing.T) {
	ctx := context.Background()
	fn := func(lo, hi int) {}
	if got := testing.AllocsPerRun(100, func() { _ = For(ctx, 1, 1, fn) }); got > 0 {
		t.Fatalf("one-chunk For allocated %v times per call, want 0", got)
	}
}

// TestTwoChunksOverlap checks that the two chunks of a loop run at the
// same time on two Ps while one worker polls and the other sleeps. A
// sleeping worker that received tickets straight from the queue took the
// ticket ahead of the polling one and waited with it behind the caller on
// the caller's P, so the caller ran both chunks: loops ran on one thread
// (two-thread streaming reads at one thread's speed). Each round lets both
// workers fall asleep, wakes one with a loop, then runs a loop of two
// chunks of about 1 ms of work that never yields and checks whether the
// second chunk started before the first ended. Before the fix no round
// of any attempt overlapped; after it, 4–6 of 6 on an idle machine.
//
// A machine loaded by other processes (go test runs packages side by
// side, and CI's race step keeps both cores busy) delays threads, so each
// round also runs a control: the same two busy pieces on two plain
// goroutines. An attempt passes with 2 overlapping loops of 6; the test
// fails only when no attempt passed although the control showed a free
// second thread (4 of 6 overlapping) in some attempt, and otherwise skips:
// a loaded machine cannot tell the pool's fault from its own.
func TestTwoChunksOverlap(t *testing.T) {
	if Workers() != 2 || runtime.GOMAXPROCS(0) != 2 || spin <= 0 || spin > 10*time.Millisecond {
		t.Skip("needs GOMAXPROCS=2, two pool workers and polling for at most 10ms (ZERFOO_POOL_SPIN)")
	}
	ctx := context.Background()
	busy := func(d time.Duration) {
		for t0 := time.Now(); time.Since(t0) < d; {
		}
	}
	// piece runs one chunk's work and records whether the other was running.
	piece := func(running, overlap *atomic.Int32) {
		if running.Add(1) == 2 {
			overlap.Store(1)
		}
		busy(time.Millisecond)
		running.Add(-1)
	}
	const rounds = 6
	var counts, controls []int
	for range 5 {
		overlapped, free := 0, 0
		for range rounds {
			time.Sleep(4 * spin)                        // both workers stop polling and sleep
			_ = ForN(ctx, 2, 1, 2, func(lo, hi int) {}) // one wakes and polls
			var running, overlap atomic.Int32
			_ = ForN(ctx, 2, 1, 2, func(lo, hi int) { piece(&running, &overlap) })
			overlapped += int(overlap.Load())

			var crunning, coverlap atomic.Int32
			var wg sync.WaitGroup
			for range 2 {
				wg.Go(func() { piece(&crunning, &coverlap) })
			}
			wg.Wait()
			free += int(coverlap.Load())
		}
		if overlapped >= 2 {
			return
		}
		counts = append(counts, overlapped)
		controls = append(controls, free)
	}
	if slices.Max(controls) < 4 {
		t.Skipf("machine too loaded to tell: pool loops overlapping %v, plain goroutines overlapping %v, of %d per attempt", counts, controls, rounds)
	}
	t.Fatalf("two-chunk loops whose chunks ran at the same time, of %d per attempt: %v; want at least 2 in some attempt (two plain goroutines overlapped %v)", rounds, counts, controls)
}
