// Package integration holds end-to-end tests of the quantized inference path:
// numeric quantizers → packed MatMulNBits weights → layers in a graph, checked
// against float64 references computed here, independently of the layers.
package integration

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/layers/core"
	"github.com/zerfoo/zerfoo/layers/ops"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

var (
	f32    = numeric.Float32Ops{}
	engine = compute.NewCPUEngine[float32](f32)
)

func gaussian(rng *rand.Rand, n int, std float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64() * std)
	}
	return s
}

// matmulT64 returns Y[m][n] = Σ_k A[m][k]·W[n][k] in float64.
func matmulT64(a []float32, w []float32, m, n, k int) []float64 {
	y := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				s += float64(a[i*k+p]) * float64(w[j*k+p])
			}
			y[i*n+j] = s
		}
	}
	return y
}

func quantLayer(t *testing.T, name string, w []float32, n, k int, opts numeric.BlockOptions) (*core.MatMulNBits[float32], *numeric.BlockQuantized) {
	t.Helper()
	q, err := numeric.QuantizeBlockwise(w, n, k, opts)
	if err != nil {
		t.Fatalf("QuantizeBlockwise(%s, %+v): %v", name, opts, err)
	}
	l, err := core.NewMatMulNBitsQuantized(name, engine, f32, q, 0, nil)
	if err != nil {
		t.Fatalf("NewMatMulNBitsQuantized(%s): %v", name, err)
	}
	return l, q
}

// Scenario 1: a quantized linear layer matches its float32 counterpart within
// the bound implied by the quantization step: |W - dequant(q)| ≤ |scale|/2 per
// weight (one full step where the code saturates), so each output may differ
// by at most Σ_k |a_k|·bound(n, k).
func TestQuantizedLinearMatchesFloatWithinStepBound(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 1))
	const m, n, k = 3, 48, 200 // K ragged against every block size used
	w := gaussian(rng, n*k, 0.05)
	a := gaussian(rng, m*k, 1)
	for _, opts := range []numeric.BlockOptions{
		{Bits: 4, BlockSize: 32, Symmetric: true},
		{Bits: 4, BlockSize: 64},
		{Bits: 8, BlockSize: 128, Symmetric: true},
		{Bits: 2, BlockSize: 16},
	} {
		t.Run(fmt.Sprintf("bits%d_bs%d_sym%v", opts.Bits, opts.BlockSize, opts.Symmetric), func(t *testing.T) {
			layer, q := quantLayer(t, "linear", w, n, k, opts)
			// The float32 counterpart: a Linear layer with W in [in, out] layout.
			wt := make([]float32, k*n)
			for j := 0; j < n; j++ {
				for p := 0; p < k; p++ {
					wt[p*n+j] = w[j*k+p]
				}
			}
			lin, err := core.NewLinearFromWeights("float", engine, f32, tensor.Must(tensor.New([]int{k, n}, wt)), nil)
			if err != nil {
				t.Fatal(err)
			}
			in := tensor.Must(tensor.New([]int{m, k}, a))
			yq, err := layer.Forward(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			yf, err := lin.Forward(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if got := yq.Shape(); !tensor.SameShape(got, []int{m, n}) {
				t.Fatalf("quantized output shape %v, want [%d %d]", got, m, n)
			}
			if got := layer.OutputShape(); got[len(got)-1] != n {
				t.Fatalf("OutputShape() = %v, want last dim N=%d (the output, not the weights)", got, n)
			}
			maxCode := float64(int(1)<<opts.Bits - 1)
			worstRatio := 0.0
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					bound := 1e-5 // float32 accumulation slack
					for p := 0; p < k; p++ {
						b := p / opts.BlockSize
						s := math.Abs(float64(q.Scale(j, b)))
						step := s / 2
						// A code at either end of the range may have been clamped.
						if c := float64(q.Code(j, p)); c == 0 || c == maxCode {
							step = s
						}
						bound += math.Abs(float64(a[i*k+p])) * step
					}
					diff := math.Abs(float64(yq.Data()[i*n+j] - yf.Data()[i*n+j]))
					if diff > bound {
						t.Fatalf("Y[%d][%d]: quantized %v, float %v, |diff| %.4g exceeds the step bound %.4g",
							i, j, yq.Data()[i*n+j], yf.Data()[i*n+j], diff, bound)
					}
					worstRatio = math.Max(worstRatio, diff/bound)
				}
			}
			// The bound is a worst case; typical errors are far below it. A ratio
			// near 1 everywhere would mean the bound is loose for the wrong reason.
			if worstRatio > 0.9 {
				t.Errorf("worst |diff|/bound = %.3f, expected clear headroom", worstRatio)
			}
		})
	}
}

// Scenario 2: a Gemma-3-shaped MLP (gemma-3-1b: hidden 1152, intermediate
// 6912) built from three 4-bit MatMulNBits layers, GELU-tanh and a gating
// multiply in a graph.Builder; forward and backward are compared with a
// float64 computation on the dequantized weights.
func TestGemma3QuantizedMLPForwardBackward(t *testing.T) {
	if testing.Short() {
		t.Skip("large MLP in -short mode")
	}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 3))
	const hidden, inter, m = 1152, 6912, 2
	opts := numeric.BlockOptions{Bits: 4, BlockSize: 32, Symmetric: true}
	gate, qg := quantLayer(t, "gate_proj", gaussian(rng, inter*hidden, 0.03), inter, hidden, opts)
	up, qu := quantLayer(t, "up_proj", gaussian(rng, inter*hidden, 0.03), inter, hidden, opts)
	down, qd := quantLayer(t, "down_proj", gaussian(rng, hidden*inter, 0.02), hidden, inter, opts)
	gelu, err := ops.NewGelu[float32](engine, "tanh")
	if err != nil {
		t.Fatal(err)
	}

	b := graph.NewBuilder[float32]("gemma3_mlp", f32)
	x := b.Input("x", []int{-1, hidden})
	g := b.Add("gate", gate, x)
	u := b.Add("up", up, x)
	act := b.Add("act", gelu, g)
	h := b.Add("gated", ops.NewMul[float32](engine), act, u)
	y := b.Add("down", down, h)
	b.Output(y)
	mlp, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}

	xs := gaussian(rng, m*hidden, 1)
	tape, err := mlp.Forward(ctx, tensor.Must(tensor.New([]int{m, hidden}, xs)))
	if err != nil {
		t.Fatal(err)
	}
	out, err := tape.Output(0)
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.SameShape(out.Shape(), []int{m, hidden}) {
		t.Fatalf("MLP output shape %v, want [%d %d]", out.Shape(), m, hidden)
	}

	// float64 reference on the dequantized weights.
	wg, _ := qg.Dequantize()
	wu, _ := qu.Dequantize()
	wd, _ := qd.Dequantize()
	gv := matmulT64(xs, wg, m, inter, hidden)
	uv := matmulT64(xs, wu, m, inter, hidden)
	hv := make([]float32, m*inter)
	gelu64 := func(z float64) float64 {
		return 0.5 * z * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(z+0.044715*z*z*z)))
	}
	for i := range hv {
		hv[i] = float32(gelu64(gv[i]) * uv[i])
	}
	yv := matmulT64(hv, wd, m, hidden, inter)
	assertClose(t, "forward", out.Data(), yv, 2e-4)

	// Backward with a random output gradient r: dx = Wgᵀ(dh·u·gelu'(g)) + Wuᵀ(dh·gelu(g)), dh = Wdᵀ r.
	r := gaussian(rng, m*hidden, 1)
	grads, err := mlp.Backward(ctx, tape, tensor.Must(tensor.New([]int{m, hidden}, r)))
	if err != nil {
		t.Fatal(err)
	}
	if len(grads) != 1 || grads[0] == nil {
		t.Fatalf("Backward returned %d input gradients, want 1", len(grads))
	}
	dx := make([]float64, m*hidden)
	for i := 0; i < m; i++ {
		for j := 0; j < inter; j++ {
			var dh float64
			for p := 0; p < hidden; p++ {
				dh += float64(r[i*hidden+p]) * float64(wd[p*inter+j])
			}
			z := gv[i*inter+j]
			th := math.Tanh(math.Sqrt(2/math.Pi) * (z + 0.044715*z*z*z))
			dgelu := 0.5*(1+th) + 0.5*z*(1-th*th)*math.Sqrt(2/math.Pi)*(1+3*0.044715*z*z)
			dg := dh * uv[i*inter+j] * dgelu
			du := dh * gelu64(z)
			for p := 0; p < hidden; p++ {
				dx[i*hidden+p] += dg*float64(wg[j*hidden+p]) + du*float64(wu[j*hidden+p])
			}
		}
	}
	assertClose(t, "input gradient", grads[0].Data(), dx, 2e-4)
}

// assertClose compares got with want relative to the RMS of want.
func assertClose(t *testing.T, what string, got []float32, want []float64, rel float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	var rms float64
	for _, v := range want {
		rms += v * v
	}
	rms = math.Sqrt(rms / float64(len(want)))
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); d > rel*rms {
			t.Fatalf("%s[%d] = %v, want %v (|diff| %.3g > %.1g·rms %.3g)", what, i, got[i], want[i], d, rel, rms)
		}
	}
}

// Scenario 3: quantized versus full precision on the same random weights.
func TestQuantizedVersusFullPrecision(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 5))
	const m, n, k = 4, 96, 512
	w := gaussian(rng, n*k, 0.05)
	a := gaussian(rng, m*k, 1)
	ref := matmulT64(a, w, m, n, k)
	in := tensor.Must(tensor.New([]int{m, k}, a))

	type result struct{ rel, cos float64 }
	results := map[string]result{}
	for _, bits := range []int{4, 8} {
		for _, bs := range []int{32, 128} {
			for _, sym := range []bool{true, false} {
				name := fmt.Sprintf("bits%d_bs%d_sym%v", bits, bs, sym)
				layer, _ := quantLayer(t, name, w, n, k, numeric.BlockOptions{Bits: bits, BlockSize: bs, Symmetric: sym})
				y, err := layer.Forward(ctx, in)
				if err != nil {
					t.Fatal(err)
				}
				var num, den, dot, ny, nr float64
				for i, v := range y.Data() {
					d := float64(v) - ref[i]
					num += d * d
					den += ref[i] * ref[i]
					dot += float64(v) * ref[i]
					ny += float64(v) * float64(v)
					nr += ref[i] * ref[i]
				}
				r := result{rel: math.Sqrt(num / den), cos: dot / math.Sqrt(ny*nr)}
				results[name] = r
				t.Logf("%-22s relative error %.5f  cosine %.7f", name, r.rel, r.cos)
				// Expected ranges for Gaussian weights: 4-bit RTN ≈ 0.08–0.15, 8-bit ≈ 0.004–0.01.
				maxRel, minCos := 0.2, 0.98
				if bits == 8 {
					maxRel, minCos = 0.012, 0.9999
				}
				if r.rel > maxRel || r.cos < minCos {
					t.Errorf("%s: relative error %.4g (max %.3g), cosine %.6f (min %.4f)", name, r.rel, maxRel, r.cos, minCos)
				}
				if r.rel < 1e-4 {
					t.Errorf("%s: relative error %.3g is implausibly small: is the layer quantizing at all?", name, r.rel)
				}
			}
		}
	}
	for _, bs := range []int{32, 128} {
		for _, sym := range []bool{true, false} {
			r4 := results[fmt.Sprintf("bits4_bs%d_sym%v", bs, sym)]
			r8 := results[fmt.Sprintf("bits8_bs%d_sym%v", bs, sym)]
			if r8.rel*8 > r4.rel {
				t.Errorf("bs %d sym %v: 8-bit error %.4g is not well under 4-bit error %.4g (want < 1/8)", bs, sym, r8.rel, r4.rel)
			}
		}
		// Smaller blocks track the weights more closely.
		if results["bits4_bs32_symtrue"].rel > results["bits4_bs128_symtrue"].rel {
			t.Errorf("4-bit symmetric: block 32 error exceeds block 128 error")
		}
	}
}

// Scenario 4: quantize → pack → unpack → dequantize round trip, per-tensor
// (QuantizationConfig with 4-bit packing) and block-wise, error bounded by
// half a quantization step.
func TestQuantizationRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	t.Run("per_tensor_4bit", func(t *testing.T) {
		const scale = 0.25
		cfg, err := numeric.NewQuantizationConfigBits(4, scale, 8, true)
		if err != nil {
			t.Fatal(err)
		}
		// Values inside the representable range [-8·scale, 7·scale].
		x := make([]float32, 1001) // odd length exercises the padding nibble
		for i := range x {
			x[i] = float32(rng.Float64()*15*scale - 8*scale)
		}
		codes := make([]uint8, len(x))
		if err := cfg.QuantizeSlice(codes, x); err != nil {
			t.Fatal(err)
		}
		packed := numeric.Pack4BitSlice(codes)
		if len(packed) != (len(x)+1)/2 {
			t.Fatalf("packed %d values into %d bytes, want %d", len(x), len(packed), (len(x)+1)/2)
		}
		unpacked := numeric.Unpack4BitSlice(packed)[:len(x)]
		back := make([]float32, len(x))
		if err := cfg.DequantizeSlice(back, unpacked); err != nil {
			t.Fatal(err)
		}
		for i := range x {
			if d := math.Abs(float64(back[i] - x[i])); d > scale/2+1e-7 {
				t.Fatalf("x[%d]=%v round-trips to %v: |err| %v > half step %v", i, x[i], back[i], d, scale/2)
			}
		}
	})
	for _, opts := range []numeric.BlockOptions{
		{Bits: 4, BlockSize: 32, Symmetric: false},
		{Bits: 4, BlockSize: 128, Symmetric: true},
		{Bits: 8, BlockSize: 64, Symmetric: false},
		{Bits: 2, BlockSize: 16, Symmetric: false},
	} {
		t.Run(fmt.Sprintf("blockwise_bits%d_bs%d_sym%v", opts.Bits, opts.BlockSize, opts.Symmetric), func(t *testing.T) {
			const n, k = 16, 300
			w := gaussian(rng, n*k, 1)
			q, err := numeric.QuantizeBlockwise(w, n, k, opts)
			if err != nil {
				t.Fatal(err)
			}
			// Unpack every block with the generic unpacker and repack: the bytes must survive.
			for row := 0; row < n; row++ {
				for b := 0; b < q.KBlocks(); b++ {
					blob := q.B[(row*q.KBlocks()+b)*q.BlobSize() : (row*q.KBlocks()+b+1)*q.BlobSize()]
					codes := make([]uint8, opts.BlockSize)
					if err := numeric.UnpackBits(codes, blob, opts.Bits); err != nil {
						t.Fatal(err)
					}
					repacked := make([]uint8, len(blob))
					if _, err := numeric.PackBits(repacked, codes, opts.Bits); err != nil {
						t.Fatal(err)
					}
					for i := range blob {
						if blob[i] != repacked[i] {
							t.Fatalf("row %d block %d byte %d: repacked %#x, want %#x", row, b, i, repacked[i], blob[i])
						}
					}
				}
			}
			deq, err := q.Dequantize()
			if err != nil {
				t.Fatal(err)
			}
			maxCode := uint8(1<<opts.Bits - 1)
			for row := 0; row < n; row++ {
				for p := 0; p < k; p++ {
					s := math.Abs(float64(q.Scale(row, p/opts.BlockSize)))
					bound := s/2 + 1e-6
					// Symmetric blocks map the extreme to one end; a value of the
					// opposite sign and equal magnitude saturates (one step).
					if c := q.Code(row, p); opts.Symmetric && (c == 0 || c == maxCode) {
						bound = s + 1e-6
					}
					if d := math.Abs(float64(deq[row*k+p] - w[row*k+p])); d > bound {
						t.Fatalf("W[%d][%d]=%v dequantizes to %v: |err| %.4g > bound %.4g (scale %.4g)", row, p, w[row*k+p], deq[row*k+p], d, bound, s)
					}
				}
			}
		})
	}
}
