package compute

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

func TestOps(t *testing.T) {
	ops := numeric.Uint8Ops{}
	e := NewCPUEngine[uint8](ops)
	if e.Ops() != numeric.Arithmetic[uint8](ops) {
		t.Fatalf("Ops() = %#v, want %#v", e.Ops(), ops)
	}
}

func TestOpErrorMessage(t *testing.T) {
	_, err := f32().Add(context.Background(), mk[float32](t, []int{2, 3}, nil), mk[float32](t, []int{4}, nil))
	var oe *OpError
	if !errors.As(err, &oe) {
		t.Fatalf("got %T (%v), want *OpError", err, err)
	}
	want := "compute: Add [2 3], [4]: shapes [2 3] and [4] do not broadcast"
	if err.Error() != want || oe.Op != "Add" {
		t.Fatalf("got %q (op %q), want %q (op Add)", err.Error(), oe.Op, want)
	}
}

// TestCancelled checks that every operation returns ctx.Err() for a
// cancelled context.
func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e := f32()
	a := mk[float32](t, []int{4, 4}, nil)
	idx := i64([]int{1}, 0)
	ops := map[string]func() error{
		"Add":        func() error { _, err := e.Add(ctx, a, a); return err },
		"MulScalar":  func() error { _, err := e.MulScalar(ctx, a, 2); return err },
		"Exp":        func() error { _, err := e.Exp(ctx, a); return err },
		"Map":        func() error { _, err := e.Map(ctx, a, func(x float32) float32 { return x }); return err },
		"Sum":        func() error { _, err := e.Sum(ctx, a, 0, false); return err },
		"ArgMax":     func() error { _, err := e.ArgMax(ctx, a, 0, false); return err },
		"Softmax":    func() error { _, err := e.Softmax(ctx, a, 1); return err },
		"MatMul":     func() error { _, err := e.MatMul(ctx, a, a); return err },
		"Transpose":  func() error { _, err := e.Transpose(ctx, a, nil); return err },
		"Gather":     func() error { _, err := e.Gather(ctx, a, idx, 0); return err },
		"ScatterAdd": func() error { return e.ScatterAdd(ctx, a, idx, mk[float32](t, []int{1, 4}, nil)) },
		"Concat":     func() error { _, err := e.Concat(ctx, []*tensor.Tensor[float32]{a, a}, 0); return err },
		"Split":      func() error { _, err := e.Split(ctx, a, 0, []int{2, 2}); return err },
		"Slice":      func() error { _, err := e.Slice(ctx, a, []int{0, 0}, []int{2, 2}); return err },
		"Fill":       func() error { return e.Fill(ctx, a, 1) },
		"Copy":       func() error { return e.Copy(ctx, a, a) },
		"Zero":       func() error { return e.Zero(ctx, a) },
	}
	for name, run := range ops {
		if err := run(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: got %v, want context.Canceled", name, err)
		}
	}
}

// TestCancelMidway cancels a long Map from inside and checks that the
// remaining work is skipped.
func TestCancelMidway(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const n = 1 << 22
	a := mk[float32](t, []int{n}, nil)
	var calls atomic.Int64
	_, err := f32().Map(ctx, a, func(x float32) float32 {
		if calls.Add(1) == 1000 {
			cancel()
		}
		return x
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if c := calls.Load(); c > n/4 {
		t.Fatalf("fn ran %d times of %d after cancellation at 1000; want the rest skipped", c, n)
	}
}

// TestConcurrentUse runs one engine from several goroutines at once (run it
// with -race) and checks each result.
func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	e := f32()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 99))
			a := randF32(t, rng, 64, 300)
			b := randF32(t, rng, 300)
			w := randF32(t, rng, 300, 16)
			for range 5 {
				s, err := e.Add(ctx, a, b)
				if err != nil {
					errs <- err
					return
				}
				sm, err := e.Softmax(ctx, s, -1)
				if err != nil {
					errs <- err
					return
				}
				tot, err := e.Sum(ctx, sm, 1, false)
				if err != nil {
					errs <- err
					return
				}
				for _, v := range tot.Data() {
					if v < 0.9999 || v > 1.0001 {
						errs <- fmt.Errorf("softmax row sums to %v, want 1", v)
						return
					}
				}
				if _, err := e.MatMul(ctx, sm, w); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestGenericMatchesFast runs float32 through the per-element ops path (the
// one every non-native type takes) and checks it against the fast path.
func TestGenericMatchesFast(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(21, 22))
	fast := f32()
	for _, kind := range []kind{kindInt, kindReduced} {
		gen := &CPUEngine[float32]{ops: numeric.Float32Ops{}, kind: kind}
		a, b := randF32(t, rng, 3, 40, 50), randF32(t, rng, 40, 1)
		w := randF32(t, rng, 50, 7)
		type op func(e *CPUEngine[float32]) (*tensor.Tensor[float32], error)
		ops := map[string]op{
			"Add":     func(e *CPUEngine[float32]) (*tensor.Tensor[float32], error) { return e.Add(ctx, a, b) },
			"Div":     func(e *CPUEngine[float32]) (*tensor.Tensor[float32], error) { return e.Div(ctx, b, a) },
			"Exp":     func(e *CPUEngine[float32]) (*tensor.Tensor[float32], error) { return e.Exp(ctx, a) },
			"Sigmoid": func(e *CPUEngine[float32]) (*tensor.Tensor[float32], error) { return e.Sigmoid(ctx, a) },
			"Silu":    func(e *CPUEngine[float32]) (*tensor.Tensor[float32], error) { return e.Silu(ctx, a) },
			"Gelu":    func(e *CPUEngine[float32]) (*tensor.Tensor[float32], error) { return e.Gelu(ctx, a) },
			"Relu":    func(e *CPUEngine[float32]) (*tensor.Tensor[float32], error) { return e.Relu(ctx, a) },
			"Sum0":    func(e *CPUEngine[float32]) (*tensor.Tensor[float32], error) { return e.Sum(ctx, a, 0, false) },
			"Sum2":    func(e *CPUEngine[float32]) (*tensor.Tensor[float32], error) { return e.Sum(ctx, a, 2, true) },
			"Mean1":   func(e *CPUEngine[float32]) (*tensor.Tensor[float32], error) { return e.Mean(ctx, a, 1, false) },
			"Max1":    func(e *CPUEngine[float32]) (*tensor.Tensor[float32], error) { return e.Max(ctx, a, 1, false) },
			"Softmax": func(e *CPUEngine[float32]) (*tensor.Tensor[float32], error) { return e.Softmax(ctx, a, -1) },
			"LogSm1":  func(e *CPUEngine[float32]) (*tensor.Tensor[float32], error) { return e.LogSoftmax(ctx, a, 1) },
			"MatMul":  func(e *CPUEngine[float32]) (*tensor.Tensor[float32], error) { return e.MatMul(ctx, a, w) },
			"Scatter": func(e *CPUEngine[float32]) (*tensor.Tensor[float32], error) {
				d := mk[float32](t, []int{4, 40, 50}, nil)
				return d, e.ScatterAdd(ctx, d, i64([]int{3}, 1, 3, 1), a)
			},
		}
		for name, run := range ops {
			want, err := run(fast)
			if err != nil {
				t.Fatal(err)
			}
			got, err := run(gen)
			if err != nil {
				t.Fatal(err)
			}
			checkClose(t, fmt.Sprintf("%s (kind %d)", name, kind), got.Data(), to64(want.Data()), 1e-5)
		}
	}
}
