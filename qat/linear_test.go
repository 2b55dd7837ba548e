package qat

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/graph/gradcheck"
	"github.com/zerfoo/zerfoo/layers/core"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

func newQATLinear(t *testing.T, seed uint64, in, out int, cfg Config) (*Linear, compute.Engine[float32]) {
	t.Helper()
	eng := compute.NewCPUEngine[float32](numeric.Float32Ops{})
	rng := rand.New(rand.NewPCG(seed, seed))
	base, err := core.NewLinear("fc", eng, numeric.Float32Ops{}, in, out, rng)
	if err != nil {
		t.Fatal(err)
	}
	for i := range base.Bias().Value.Data() {
		base.Bias().Value.Data()[i] = float32(rng.NormFloat64() * 0.1)
	}
	l, err := NewLinear(eng, base, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l, eng
}

// TestLinearGradients gradient-checks the differentiable parts of the QAT
// Linear: the input and bias gradients are exact derivatives of
// x·FakeQuantize(W) + b. The weight gradient is the straight-through one, so
// it is checked against the finite-difference gradient of a plain Linear
// whose weight is the fake-quantized matrix: dL/dWq, which the STE hands to
// W unchanged (pass-through) or masked (clipped).
func TestLinearGradients(t *testing.T) {
	ctx := context.Background()
	for _, ste := range []STE{STEPassThrough, STEClipped} {
		cfg := Config{Bits: 4, BlockSize: 16, Symmetric: true, STE: ste}
		l, eng := newQATLinear(t, 7, 32, 5, cfg)
		rng := rand.New(rand.NewPCG(8, 9))
		x := tensor.Must(tensor.New([]int{2, 3, 32}, randMatrix(rng, 6*32, 1)))

		// Input and bias: gradient check through CheckFunc, listing only the
		// bias as a checked parameter.
		f := gradcheck.Func[float32]{Forward: l.Forward, Backward: l.Backward, Parameters: []*graph.Parameter[float32]{l.Bias()}}
		if err := gradcheck.CheckFunc(ctx, f, []*tensor.Tensor[float32]{x}, nil, gradcheck.Options{Seed: 1}); err != nil {
			t.Fatalf("%v: input/bias gradient check: %v", ste, err)
		}

		// Weight: the plain Linear with the fake-quantized weight, gradient-
		// checked, then compared with the STE gradient for the same output
		// gradient.
		wq, q, err := l.QuantizedWeight()
		if err != nil {
			t.Fatal(err)
		}
		plain, err := core.NewLinearFromWeights("plain", eng, numeric.Float32Ops{}, wq, l.Bias().Value.Copy())
		if err != nil {
			t.Fatal(err)
		}
		if err := gradcheck.Check[float32](ctx, plain, []*tensor.Tensor[float32]{x}, gradcheck.Options{Seed: 2}); err != nil {
			t.Fatalf("%v: plain Linear at Wq: %v", ste, err)
		}
		g := tensor.Must(tensor.New([]int{2, 3, 5}, randMatrix(rng, 30, 1)))
		plain.Weight().ZeroGradient()
		l.Weight().ZeroGradient()
		dxPlain, err := plain.Backward(ctx, g, x)
		if err != nil {
			t.Fatal(err)
		}
		dxQAT, err := l.Backward(ctx, g, x)
		if err != nil {
			t.Fatal(err)
		}
		sat := Saturated(q, l.Weight().Value.Data(), LayoutKN)
		for i, want := range plain.Weight().Gradient.Data() {
			if ste == STEClipped && sat[i] {
				want = 0
			}
			if got := l.Weight().Gradient.Data()[i]; got != want {
				t.Fatalf("%v: weight gradient[%d]: got %v, want %v", ste, i, got, want)
			}
		}
		for i, want := range dxPlain[0].Data() {
			if got := dxQAT[0].Data()[i]; got != want {
				t.Fatalf("%v: input gradient[%d]: got %v, want %v", ste, i, got, want)
			}
		}
	}
}

// TestLinearExport checks that the exported MatMulNBits layer holds exactly
// the fake-quantized weights and computes the same outputs.
func TestLinearExport(t *testing.T) {
	ctx := context.Background()
	for _, cfg := range []Config{
		{Bits: 4, BlockSize: 32, Symmetric: true},
		{Bits: 4, BlockSize: 16, Symmetric: false},
		{Bits: 8, BlockSize: 32, Symmetric: false},
	} {
		l, _ := newQATLinear(t, 11, 48, 7, cfg)
		m, err := l.Export(0)
		if err != nil {
			t.Fatal(err)
		}
		wq, _, err := l.QuantizedWeight()
		if err != nil {
			t.Fatal(err)
		}
		deq, err := m.DequantizedWeights(ctx) // [N, K]
		if err != nil {
			t.Fatal(err)
		}
		for kk := range 48 {
			for nn := range 7 {
				if got, want := deq.Data()[nn*48+kk], wq.Data()[kk*7+nn]; math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("%+v: exported W[%d][%d] = %v, fake-quantized %v", cfg, nn, kk, got, want)
				}
			}
		}
		rng := rand.New(rand.NewPCG(5, 5))
		x := tensor.Must(tensor.New([]int{3, 48}, randMatrix(rng, 3*48, 1)))
		yq, err := l.Forward(ctx, x)
		if err != nil {
			t.Fatal(err)
		}
		ym, err := m.Forward(ctx, x)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range yq.Data() {
			if got := ym.Data()[i]; math.Abs(float64(got-want)) > 1e-5*(1+math.Abs(float64(want))) {
				t.Errorf("%+v: output[%d]: MatMulNBits %v, QAT Linear %v", cfg, i, got, want)
			}
		}
	}
}
