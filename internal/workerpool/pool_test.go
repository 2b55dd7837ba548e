package workerpool

import (
	"context"
	"errors"
	"strings"
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
