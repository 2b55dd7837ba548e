package qgemm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/internal/workerpool"
)

// countKernels records how often each group was multiplied.
type countKernels struct {
	ng   int
	seen []atomic.Int32
}

func (k *countKernels) cols(lo, run, c0, c1 int) {
	if c0 < 0 || c1 > run || c0 >= c1 {
		panic(fmt.Sprintf("cols(%d, %d, %d, %d)", lo, run, c0, c1))
	}
	for i := range k.ng {
		for c := c0; c < c1; c++ {
			k.seen[lo+i*run+c].Add(1)
		}
	}
}

func (k *countKernels) groups(lo, hi int) {
	for g := lo; g < hi; g++ {
		k.seen[g].Add(1)
	}
}

// slowKernels delays every call of one participant, so that the others
// steal.
type slowKernels struct {
	*countKernels
	d time.Duration
}

func (k slowKernels) cols(lo, run, c0, c1 int) {
	time.Sleep(k.d)
	k.countKernels.cols(lo, run, c0, c1)
}

// TestRowShare checks that the participants of a shared one-row product,
// concurrent, one of them slow, or all on one goroutine (participate's
// range spanning every piece, as an inline loop runs it), multiply every
// group exactly once.
func TestRowShare(t *testing.T) {
	for _, c := range []struct{ groups, full, parts, ng, groupBytes int }{
		{100, 100, 2, 4, 256},
		{101, 100, 2, 4, 256},  // a partial last group
		{8, 7, 3, 4, 64 << 10}, // pieces without runs
		{1000, 998, 3, 4, 100},
		{1000, 1000, 4, 1, 4096},
		{16384, 16384, 2, 4, 11 << 10}, // the 262144×640 Q8_0 head
		{5, 5, 2, 4, 1},
	} {
		for _, mode := range []string{"concurrent", "slow", "inline"} {
			name := fmt.Sprintf("%v/%s", c, mode)
			var r rowShare
			piece := (c.groups + c.parts - 1) / c.parts
			r.plan(c.parts, piece, c.groups, c.full, c.ng, c.groupBytes)
			k := &countKernels{ng: c.ng, seen: make([]atomic.Int32, c.groups)}
			switch mode {
			case "inline":
				r.run(0, c.parts, k)
			default:
				var wg sync.WaitGroup
				for i := range c.parts {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if mode == "slow" && i == 0 {
							r.work(i, slowKernels{k, 200 * time.Microsecond})
							return
						}
						r.work(i, k)
					}()
				}
				wg.Wait()
			}
			for g := range k.seen {
				if n := k.seen[g].Load(); n != 1 {
					t.Fatalf("%s: group %d multiplied %d times", name, g, n)
				}
			}
		}
	}
}

// TestRowShareSteals checks that a participant done with its piece takes
// columns from the back of a slower one's.
func TestRowShareSteals(t *testing.T) {
	var r rowShare
	r.plan(2, 512, 1024, 1024, 4, 1<<10) // 128 columns per piece, claims of ≥ 8
	k := &countKernels{ng: 4, seen: make([]atomic.Int32, 1024)}
	var stolen atomic.Int32
	// Participant 0 claims one slice before participant 1 starts (on a slow
	// or emulated machine participant 1 could otherwise take all of piece 0
	// first), then stalls until participant 1 has finished its own piece
	// and the rest of this one.
	c0, c1, ok := r.deques[0].take(false, r.minCols)
	if !ok || c0 != 0 {
		t.Fatalf("first claim: %d, %d, %v", c0, c1, ok)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.work(1, stealCounter{k, &stolen})
	}()
	k.cols(0, 128, c0, c1)
	<-done
	r.work(0, k)
	if stolen.Load() != int32(128-c1) {
		t.Errorf("participant 1 took %d columns of piece 0, want %d", stolen.Load(), 128-c1)
	}
	for g := range k.seen {
		if n := k.seen[g].Load(); n != 1 {
			t.Fatalf("group %d multiplied %d times", g, n)
		}
	}
}

type stealCounter struct {
	*countKernels
	stolen *atomic.Int32
}

func (k stealCounter) cols(lo, run, c0, c1 int) {
	if lo == 0 {
		k.stolen.Add(int32(c1 - c0))
	}
	k.countKernels.cols(lo, run, c0, c1)
}

// TestSharedMatMul checks that one-row products whose participants share
// columns (shareMinPiece lowered so that small matrices share) give the
// same bits as one thread: every output is one kernel's sum whichever
// participant computes it. Matrix (4- and 8-bit, with and without bias)
// and GGML types, every kernel variant (those without a one-row kernel
// share single groups), row counts that leave partial groups and groups
// outside the runs; with an inline context too.
func TestSharedMatMul(t *testing.T) {
	if workerpool.Workers() < 2 {
		t.Skip("one worker: no shared products")
	}
	save := shareMinPiece
	shareMinPiece = 0
	defer func() { shareMinPiece = save }()
	rng := rand.New(rand.NewPCG(3, 4))
	ctxs := map[string]context.Context{"pool": context.Background(), "inline": workerpool.Inline(context.Background())}
	for _, n := range []int{16*64 + 5, 16*67 + 16, 16 * 9, 40} {
		for _, bits := range []int{4, 8} {
			const k = 96
			q := randQuant(rng, n, k, bits, 32, false, true)
			m, err := PackNBits(q)
			if err != nil {
				t.Fatal(err)
			}
			a := randA(rng, k)
			for _, bias := range [][]float32{nil, randA(rng, n)} {
				for _, v := range allVariants() {
					want := make([]float32, n)
					if err := m.matmul(context.Background(), want, a, 1, bias, Options{Activations: Int8, Threads: 1}, v); err != nil {
						t.Fatal(err)
					}
					for cn, ctx := range ctxs {
						for range 10 {
							got := make([]float32, n)
							if err := m.matmul(ctx, got, a, 1, bias, Options{Activations: Int8, Threads: 2}, v); err != nil {
								t.Fatal(err)
							}
							for i := range want {
								if got[i] != want[i] {
									t.Fatalf("%s bits %d n %d bias %v %s: y[%d] = %g on two threads, %g on one", v.name, bits, n, bias != nil, cn, i, got[i], want[i])
								}
							}
						}
					}
				}
			}
		}
		for _, typ := range []quant.Type{quant.Q4_K, quant.Q6_K, quant.Q5_0, quant.Q8_0} {
			const k = 256
			m := packRows(t, typ, n, k, randGGML(rng, typ, n, k))
			a := randA(rng, k)
			for _, v := range ggmlVariants {
				want := make([]float32, n)
				if err := m.matmul(context.Background(), want, a, 1, 1, v); err != nil {
					t.Fatal(err)
				}
				for cn, ctx := range ctxs {
					for range 10 {
						got := make([]float32, n)
						if err := m.matmul(ctx, got, a, 1, 2, v); err != nil {
							t.Fatal(err)
						}
						for i := range want {
							if got[i] != want[i] {
								t.Fatalf("%s %v n %d %s: y[%d] = %g on two threads, %g on one", v.name, typ, n, cn, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	}
}
