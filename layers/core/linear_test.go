package core_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/graph/gradcheck"
	"github.com/zerfoo/zerfoo/layers/core"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

func newLinear64(t *testing.T, w, b []float64, in, out int) *core.Linear[float64] {
	t.Helper()
	var bias *tensor.Tensor[float64]
	if b != nil {
		bias = tensor.Must(tensor.New([]int{out}, b))
	}
	l, err := core.NewLinearFromWeights("fc", compute.NewCPUEngine[float64](numeric.Float64Ops{}), numeric.Float64Ops{},
		tensor.Must(tensor.New([]int{in, out}, w)), bias)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestLinearHand checks forward and backward against values worked out by
// hand for x = [[1 2 3] [-1 0 2]], W = [[1 -1] [0 2] [3 1]], b = [0.5 -2].
func TestLinearHand(t *testing.T) {
	ctx := context.Background()
	l := newLinear64(t, []float64{1, -1, 0, 2, 3, 1}, []float64{0.5, -2}, 3, 2)
	x := tensor.Must(tensor.New([]int{2, 3}, []float64{1, 2, 3, -1, 0, 2}))
	y, err := l.Forward(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	// Row 0: [1+0+9, -1+4+3] + b = [10.5, 4]; row 1: [-1+6, 1+2] + b = [5.5, 1].
	if want := []float64{10.5, 4, 5.5, 1}; !slices.Equal(y.Data(), want) || !slices.Equal(y.Shape(), []int{2, 2}) {
		t.Errorf("Forward: got %v, want %v of shape [2 2]", y, want)
	}
	g := tensor.Must(tensor.New([]int{2, 2}, []float64{1, 0, 2, -1}))
	dx, err := l.Backward(ctx, g, x)
	if err != nil {
		t.Fatal(err)
	}
	// dx = g·Wᵀ: row 0 = [1, 0, 3]; row 1 = [2+1, -2, 6-1].
	if want := []float64{1, 0, 3, 3, -2, 5}; !slices.Equal(dx[0].Data(), want) {
		t.Errorf("dx: got %v, want %v", dx[0].Data(), want)
	}
	// dW = xᵀ·g = [[1-2, 1], [2, 0], [3+4, -2]]; db = [3, -1].
	if want := []float64{-1, 1, 2, 0, 7, -2}; !slices.Equal(l.Weight().Gradient.Data(), want) {
		t.Errorf("dW: got %v, want %v", l.Weight().Gradient.Data(), want)
	}
	if want := []float64{3, -1}; !slices.Equal(l.Bias().Gradient.Data(), want) {
		t.Errorf("db: got %v, want %v", l.Bias().Gradient.Data(), want)
	}
}

// TestLinearRank3 compares a [2, 3, 4] input with a float64 reference loop.
func TestLinearRank3(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	eng := compute.NewCPUEngine[float32](numeric.Float32Ops{})
	l, err := core.NewLinear("fc", eng, numeric.Float32Ops{}, 4, 5, rng)
	if err != nil {
		t.Fatal(err)
	}
	for i := range l.Bias().Value.Data() {
		l.Bias().Value.Data()[i] = float32(i) - 2
	}
	xd := make([]float32, 24)
	for i := range xd {
		xd[i] = float32(rng.NormFloat64())
	}
	x := tensor.Must(tensor.New([]int{2, 3, 4}, xd))
	y, err := l.Forward(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(y.Shape(), []int{2, 3, 5}) {
		t.Fatalf("shape: got %v, want [2 3 5]", y.Shape())
	}
	w, b := l.Weight().Value.Data(), l.Bias().Value.Data()
	for r := range 6 {
		for j := range 5 {
			want := float64(b[j])
			for k := range 4 {
				want += float64(xd[r*4+k]) * float64(w[k*5+j])
			}
			if got := y.Data()[r*5+j]; math.Abs(float64(got)-want) > 1e-5 {
				t.Errorf("y[%d][%d]: got %v, want %v", r, j, got, want)
			}
		}
	}
	if s, err := l.InferShape([]int{-1, 3, 4}); err != nil || !slices.Equal(s, []int{-1, 3, 5}) {
		t.Errorf("InferShape([-1 3 4]): got %v, %v; want [-1 3 5]", s, err)
	}
}

func TestLinearGradcheck(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	x64 := make([]float64, 2*3*4)
	for i := range x64 {
		x64[i] = rng.NormFloat64()
	}
	l64, err := core.NewLinear("fc", compute.NewCPUEngine[float64](numeric.Float64Ops{}), numeric.Float64Ops{}, 4, 3, rng)
	if err != nil {
		t.Fatal(err)
	}
	for i := range l64.Bias().Value.Data() {
		l64.Bias().Value.Data()[i] = rng.NormFloat64()
	}
	if err := gradcheck.Check(ctx, graph.Node[float64](l64), []*tensor.Tensor[float64]{tensor.Must(tensor.New([]int{2, 3, 4}, x64))}, gradcheck.Options{}); err != nil {
		t.Errorf("float64: %v", err)
	}
	x32 := make([]float32, 5*4)
	for i := range x32 {
		x32[i] = float32(rng.NormFloat64())
	}
	l32, err := core.NewLinear("fc", compute.NewCPUEngine[float32](numeric.Float32Ops{}), numeric.Float32Ops{}, 4, 3, rng)
	if err != nil {
		t.Fatal(err)
	}
	if err := gradcheck.Check(ctx, graph.Node[float32](l32), []*tensor.Tensor[float32]{tensor.Must(tensor.New([]int{5, 4}, x32))}, gradcheck.Options{}); err != nil {
		t.Errorf("float32: %v", err)
	}
}

// TestLinearInit checks the Xavier bound, that the draw fills the range and
// that a seed reproduces it.
func TestLinearInit(t *testing.T) {
	eng := compute.NewCPUEngine[float32](numeric.Float32Ops{})
	mk := func() *core.Linear[float32] {
		l, err := core.NewLinear("fc", eng, numeric.Float32Ops{}, 30, 20, rand.New(rand.NewPCG(7, 7)))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	a, b := mk(), mk()
	if !slices.Equal(a.Weight().Value.Data(), b.Weight().Value.Data()) {
		t.Error("same seed gave different weights")
	}
	bound := math.Sqrt(6.0 / 50)
	lo, hi, sum := 0.0, 0.0, 0.0
	for _, w := range a.Weight().Value.Data() {
		v := float64(w)
		lo, hi, sum = min(lo, v), max(hi, v), sum+v
	}
	if lo < -bound || hi > bound || lo > -0.9*bound || hi < 0.9*bound {
		t.Errorf("weights span [%v, %v], want within and near ±%v", lo, hi, bound)
	}
	if mean := sum / 600; math.Abs(mean) > 0.05 {
		t.Errorf("weight mean %v, want near 0", mean)
	}
	if !slices.Equal(a.Bias().Value.Data(), make([]float32, 20)) {
		t.Error("bias: want zeros")
	}
	if got := len(a.Parameters()); got != 2 {
		t.Errorf("Parameters: got %d, want 2", got)
	}
}

func TestLinearErrors(t *testing.T) {
	ctx := context.Background()
	eng := compute.NewCPUEngine[float32](numeric.Float32Ops{})
	rng := rand.New(rand.NewPCG(1, 1))
	if _, err := core.NewLinear("z", eng, numeric.Float32Ops{}, 0, 3, rng); !errors.Is(err, tensor.ErrShape) {
		t.Errorf("in=0: got %v, want ErrShape", err)
	}
	if _, err := core.NewLinear[float32]("n", nil, numeric.Float32Ops{}, 2, 3, rng); !errors.Is(err, graph.ErrInput) {
		t.Errorf("nil engine: got %v, want ErrInput", err)
	}
	if _, err := core.NewLinearFromWeights("b", eng, numeric.Float32Ops{}, tensor.Must(tensor.New[float32]([]int{2, 3}, nil)), tensor.Must(tensor.New[float32]([]int{2}, nil))); !errors.Is(err, tensor.ErrShape) {
		t.Errorf("bias [2] for out 3: got %v, want ErrShape", err)
	}
	l, _ := core.NewLinear("fc", eng, numeric.Float32Ops{}, 3, 2, rng)
	_, err := l.Forward(ctx, tensor.Must(tensor.New[float32]([]int{2, 4}, nil)))
	if !errors.Is(err, tensor.ErrShape) || !strings.Contains(err.Error(), `"fc"`) {
		t.Errorf("Forward [2 4] into in=3: got %v, want ErrShape naming fc", err)
	}
	if _, err := l.InferShape([]int{-1, 4}); !errors.Is(err, tensor.ErrShape) {
		t.Errorf("InferShape([-1 4]): got %v, want ErrShape", err)
	}
	if s, err := l.InferShape(nil); err != nil || s != nil {
		t.Errorf("InferShape(nil): got %v, %v; want nil, nil", s, err)
	}
	x := tensor.Must(tensor.New[float32]([]int{2, 3}, nil))
	if _, err := l.Backward(ctx, tensor.Must(tensor.New[float32]([]int{2, 3}, nil)), x); !errors.Is(err, tensor.ErrShape) {
		t.Errorf("Backward with gradient [2 3] for output [2 2]: got %v, want ErrShape", err)
	}
}
