package core

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/graph/gradcheck"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// randomCases covers bits × block sizes × zero-point forms × accuracy
// levels with ragged K, several ranks of A, bias and g_idx.
func randomCases() []*refCase {
	rng := rand.New(rand.NewPCG(7, 11))
	shapes := [][]int{nil, {1}, {3}, {2, 3}, {1, 2, 2}}
	var cs []*refCase
	i := 0
	for _, bits := range []int{2, 4, 8} {
		for _, bs := range []int{16, 32, 64, 128, 256} {
			for _, zk := range []zpKind{zpNone, zpPacked, zpFloatKind} {
				if zk == zpFloatKind && bits == 8 {
					continue
				}
				for _, level := range []int{0, 4} {
					i++
					k := []int{bs*2 + 5, bs - 3, bs * 3, 2*bs + 1}[i%4]
					at := MatMulNBitsAttrs{K: k, N: 1 + i%7, Bits: bits, BlockSize: bs, AccuracyLevel: level}
					cs = append(cs, genCase(rng, at, shapes[i%len(shapes)], zk, false, i%3 == 0))
				}
			}
		}
	}
	for _, zk := range []zpKind{zpNone, zpPacked, zpFloatKind} {
		for _, bits := range []int{2, 4} {
			at := MatMulNBitsAttrs{K: 77, N: 5, Bits: bits, BlockSize: 16, AccuracyLevel: 4}
			cs = append(cs, genCase(rng, at, []int{3}, zk, true, true))
		}
	}
	return cs
}

func TestMatMulNBitsRandomVsReference(t *testing.T) {
	for _, c := range randomCases() {
		t.Run(c.name(), func(t *testing.T) {
			l := c.layer(t)
			y := runForward(t, l, c.aShape, c.a)
			wantShape := append(append([]int(nil), c.aShape[:len(c.aShape)-1]...), c.attrs.N)
			if !tensor.SameShape(y.Shape(), wantShape) {
				t.Fatalf("shape %v, want %v", y.Shape(), wantShape)
			}
			exact, mag := c.want()
			if c.usesInt8() {
				em, emag := c.wantInt8()
				// Default level-4 layers store 24-bit scales (≤ 2⁻¹⁶
				// relative); with exact scales the emulation matches to
				// float32 rounding.
				checkClose(t, "int8 emulation", y.Data(), em, emag, 1e-6+1.0/(1<<16), 1e-7)
				ye := runForward(t, c.layer(t, WithExactScales()), c.aShape, c.a)
				checkClose(t, "int8 emulation, exact scales", ye.Data(), em, emag, 1e-6, 1e-7)
				// The int8 path stays close to exact math.
				checkClose(t, "exact", y.Data(), exact, mag, 3e-2, 1e-6)
			} else {
				checkClose(t, "exact", y.Data(), exact, mag, 1e-5, 1e-7)
			}
			// The dequantization cache gives the same float32 results.
			lc := c.layer(t, WithDequantCache())
			yc := runForward(t, lc, c.aShape, c.a)
			if c.usesInt8() {
				if lc.cache != nil {
					t.Error("int8 path built the dequantization cache")
				}
			} else {
				checkClose(t, "cached", yc.Data(), exact, mag, 1e-5, 1e-7)
			}
			// DequantizedWeights matches the reference decoder.
			dw, err := l.DequantizedWeights(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			wtol := 1e-6
			if c.usesInt8() {
				wtol += 1.0 / (1 << 16) // the scales the layer computes with
			}
			for n := 0; n < c.attrs.N; n++ {
				for k := 0; k < c.attrs.K; k++ {
					want := c.weight(n, k)
					if got := float64(dw.Data()[n*c.attrs.K+k]); math.Abs(got-want) > wtol*math.Abs(want)+1e-7 {
						t.Fatalf("W[%d][%d] = %v, want %v", n, k, got, want)
					}
				}
			}
		})
	}
}

// Backward: dA = dY·W against the float64 reference, bias gradient = Σ dY,
// and the finite-difference check of gradcheck.
func TestMatMulNBitsBackward(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []*refCase{
		genCase(rng, MatMulNBitsAttrs{K: 70, N: 6, Bits: 4, BlockSize: 32}, []int{2, 3}, zpPacked, false, true),
		genCase(rng, MatMulNBitsAttrs{K: 40, N: 3, Bits: 2, BlockSize: 16, AccuracyLevel: 4}, []int{4}, zpFloatKind, true, true),
		genCase(rng, MatMulNBitsAttrs{K: 300, N: 9, Bits: 8, BlockSize: 256, AccuracyLevel: 4}, nil, zpNone, false, false),
	} {
		for _, cached := range []bool{false, true} {
			name := c.name()
			if cached {
				name += "_cached"
			}
			t.Run(name, func(t *testing.T) {
				var opts []MatMulNBitsOption
				if cached {
					opts = append(opts, WithDequantCache())
				}
				l := c.layer(t, opts...)
				a := tensor.Must(tensor.New(c.aShape, c.a))
				y, err := l.Forward(ctx, a)
				if err != nil {
					t.Fatal(err)
				}
				dy := make([]float32, y.Size())
				for i := range dy {
					dy[i] = float32(rng.NormFloat64())
				}
				grads, err := l.Backward(ctx, tensor.Must(tensor.New(y.Shape(), dy)), a)
				if err != nil {
					t.Fatal(err)
				}
				if len(grads) != 1 || !tensor.SameShape(grads[0].Shape(), a.Shape()) {
					t.Fatalf("Backward returned %d gradients, first shape %v; want 1 of %v", len(grads), grads[0].Shape(), a.Shape())
				}
				K, N := c.attrs.K, c.attrs.N
				m := len(c.a) / K
				want := make([]float64, m*K)
				mag := make([]float64, m*K)
				for r := 0; r < m; r++ {
					for k := 0; k < K; k++ {
						for n := 0; n < N; n++ {
							v := float64(dy[r*N+n]) * c.weight(n, k)
							want[r*K+k] += v
							mag[r*K+k] += math.Abs(v)
						}
					}
				}
				checkClose(t, "dA", grads[0].Data(), want, mag, 1e-5, 1e-7)
				if c.bias != nil {
					ps := l.Parameters()
					if len(ps) != 1 || ps[0].Gradient == nil {
						t.Fatalf("bias parameter %v without gradient", ps)
					}
					for n := 0; n < N; n++ {
						var s float64
						for r := 0; r < m; r++ {
							s += float64(dy[r*N+n])
						}
						if got := float64(ps[0].Gradient.Data()[n]); math.Abs(got-s) > 1e-5*(1+math.Abs(s)) {
							t.Errorf("bias gradient[%d] = %v, want %v", n, got, s)
						}
					}
				}
				// Finite differences (the straight-through gradient at level 4
				// is only approximate, so check the float32 path).
				if c.attrs.AccuracyLevel == 0 {
					if err := gradcheck.Check[float32](ctx, l, []*tensor.Tensor[float32]{a}, gradcheck.Options{Seed: 5}); err != nil {
						t.Errorf("gradcheck: %v", err)
					}
				}
			})
		}
	}
}

// Concurrent Forward and Backward calls (run with -race) give the results of
// sequential calls, with and without the dequantization cache.
func TestMatMulNBitsConcurrent(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 6))
	c := genCase(rng, MatMulNBitsAttrs{K: 96, N: 40, Bits: 4, BlockSize: 32}, []int{3}, zpPacked, false, true)
	for _, level := range []int{0, 4} {
		c.attrs.AccuracyLevel = level
		for _, cached := range []bool{false, true} {
			var opts []MatMulNBitsOption
			if cached {
				opts = append(opts, WithDequantCache())
			}
			ref := c.layer(t, opts...)
			a := tensor.Must(tensor.New(c.aShape, c.a))
			want, err := ref.Forward(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			dy := tensor.Must(tensor.New(want.Shape(), c.a[:want.Size()]))
			wantGrad, err := ref.Backward(ctx, dy, a)
			if err != nil {
				t.Fatal(err)
			}
			l := c.layer(t, opts...)
			var wg sync.WaitGroup
			errs := make(chan error, 16)
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for it := 0; it < 5; it++ {
						y, err := l.Forward(ctx, a)
						if err != nil {
							errs <- err
							return
						}
						for i, v := range y.Data() {
							if v != want.Data()[i] {
								errs <- errors.New("concurrent Forward differs from sequential")
								return
							}
						}
						gr, err := l.Backward(ctx, dy, a)
						if err != nil {
							errs <- err
							return
						}
						for i, v := range gr[0].Data() {
							if math.Abs(float64(v-wantGrad[0].Data()[i])) > 1e-5 {
								errs <- errors.New("concurrent Backward differs from sequential")
								return
							}
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			failed := false
			for err := range errs {
				t.Errorf("level %d cached %v: %v", level, cached, err)
				failed = true
			}
			if failed {
				continue
			}
			// 8 goroutines × 5 Backward calls accumulated into the bias gradient.
			bg := l.Parameters()[0].Gradient.Data()
			for n := range bg {
				var s float32
				for r := 0; r < 3; r++ {
					s += dy.Data()[r*c.attrs.N+n]
				}
				if math.Abs(float64(bg[n]-40*s)) > 1e-3*(1+math.Abs(float64(40*s))) {
					t.Errorf("level %d cached %v: bias gradient[%d] = %v, want 40·%v", level, cached, n, bg[n], s)
				}
			}
		}
	}
}

// A float16 layer converts to float32, computes and converts back.
func TestMatMulNBitsFloat16(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(9, 9))
	ops := numeric.Float16Ops{}
	for _, level := range []int{0, 4} {
		c := genCase(rng, MatMulNBitsAttrs{K: 50, N: 4, Bits: 4, BlockSize: 16, AccuracyLevel: level}, []int{2}, zpFloatKind, false, true)
		if level == 4 {
			c.zpFloat = nil
		}
		// Round the float inputs to float16 so both layers see the same values.
		for _, s := range [][]float32{c.a, c.scales, c.zpFloat, c.bias} {
			for i, v := range s {
				s[i] = numeric.Float16FromFloat32(v).Float32()
			}
		}
		ref := runForward(t, c.layer(t), c.aShape, c.a).Data()
		h := func(s []float32) []numeric.Float16 {
			out := make([]numeric.Float16, len(s))
			for i, v := range s {
				out[i] = numeric.Float16FromFloat32(v)
			}
			return out
		}
		at := c.attrs
		var zp tensor.Any
		if c.zpFloat != nil {
			zp = tensor.Must(tensor.New([]int{at.N, c.kBlocks()}, h(c.zpFloat)))
		}
		l, err := NewMatMulNBitsONNX("f16", compute.NewCPUEngine[numeric.Float16](ops), ops, at,
			tensor.Must(tensor.New([]int{at.N, c.kBlocks(), at.BlockSize / 2}, c.b)),
			tensor.Must(tensor.New([]int{at.N, c.kBlocks()}, h(c.scales))), zp, nil,
			tensor.Must(tensor.New([]int{at.N}, h(c.bias))))
		if err != nil {
			t.Fatal(err)
		}
		y, err := l.Forward(ctx, tensor.Must(tensor.New(c.aShape, h(c.a))))
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range y.Data() {
			if want := numeric.Float16FromFloat32(ref[i]); v != want {
				t.Errorf("level %d: y[%d] = %v, want %v (float32 result %v rounded)", level, i, v, want, ref[i])
			}
		}
		grads, err := l.Backward(ctx, tensor.Must(tensor.New(y.Shape(), h([]float32{1, 0, 0, 0, 0, 0, 0, 0}))), tensor.Must(tensor.New(c.aShape, h(c.a))))
		if err != nil || grads[0].DType() != numeric.Float16Type {
			t.Fatalf("float16 Backward: %v", err)
		}
	}
}

// A uint8 Constant holding B feeds MatMulNBits through the graph Builder.
func TestMatMulNBitsInGraph(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 1))
	c := genCase(rng, MatMulNBitsAttrs{K: 48, N: 5, Bits: 4, BlockSize: 16, AccuracyLevel: 0}, []int{2}, zpPacked, false, true)
	l := c.layer(t)
	kb := c.kBlocks()
	bConst, err := NewConstantFromData[uint8]("B", nil, nil, []int{c.attrs.N, kb, 8}, c.b)
	if err != nil {
		t.Fatal(err)
	}
	sConst, _ := NewConstantFromData("scales", f32eng, f32ops, []int{c.attrs.N, kb}, c.scales)
	zConst, _ := NewConstantFromData[uint8]("zp", nil, nil, []int{c.attrs.N, 2}, c.zpPacked)
	bias := tensor.Must(tensor.New([]int{c.attrs.N}, c.bias))

	bld := graph.NewBuilder[float32]("qgraph", f32ops)
	x := bld.Input("x", []int{-1, c.attrs.K})
	bRef := graph.AddNode[float32, uint8](bld, "B", bConst)
	sRef := bld.Add("scales", sConst)
	zRef := graph.AddNode[float32, uint8](bld, "zp", zConst)
	biasRef := bld.Add("bias", mustConst(t, "biasC", bias))
	// Stored weights, A only, as a plain Node; and the ONNX inputs as a MixedNode.
	y1 := bld.Add("mm_stored", l, x)
	y2 := bld.AddMixed("mm_inputs", l, x, bRef, sRef, zRef, graph.InputOf[float32, int32](bld, "gidx_none", []int{0}), biasRef)
	bld.Output(y1, y2)
	g, err := bld.Build()
	if err != nil {
		t.Fatal(err)
	}
	a := tensor.Must(tensor.New(c.aShape, c.a))
	tape, err := g.Forward(ctx, a, tensor.Must(tensor.New[int32]([]int{0}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	exact, mag := c.want()
	for i := 0; i < 2; i++ {
		y, err := tape.Output(i)
		if err != nil {
			t.Fatal(err)
		}
		checkClose(t, "graph output", y.Data(), exact, mag, 1e-5, 1e-7)
	}
	// Backward through both nodes: dx = 2·(dY·W) for dY = 1.
	ones := func() *tensor.Tensor[float32] {
		o := make([]float32, 2*c.attrs.N)
		for i := range o {
			o[i] = 1
		}
		return tensor.Must(tensor.New([]int{2, c.attrs.N}, o))
	}
	grads, err := g.Backward(ctx, tape, ones(), ones())
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < c.attrs.K; k++ {
		var want, m float64
		for n := 0; n < c.attrs.N; n++ {
			want += 2 * c.weight(n, k)
			m += 2 * math.Abs(c.weight(n, k))
		}
		if got := float64(grads[0].Data()[k]); math.Abs(got-want) > 1e-5*m+1e-7 {
			t.Errorf("dx[0][%d] = %v, want %v", k, got, want)
		}
	}
}

func mustConst(t *testing.T, name string, v *tensor.Tensor[float32]) *Constant[float32] {
	t.Helper()
	c, err := NewConstant(name, f32eng, f32ops, v)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMatMulNBitsForwardAnyErrors(t *testing.T) {
	ctx := context.Background()
	l, err := workedExample(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := tensor.Must(tensor.New([]int{18}, workedA))
	b := l.PackedWeights()
	sc := tensor.Must(tensor.New([]int{2}, []float32{0.5, 0.25}))
	tests := []struct {
		name   string
		in     []tensor.Any
		target error
	}{
		{"none", nil, tensor.ErrShape},
		{"seven", []tensor.Any{a, b, sc, nil, nil, nil, nil}, tensor.ErrShape},
		{"aUint8", []tensor.Any{b}, graph.ErrDType},
		{"noScales", []tensor.Any{a, b}, tensor.ErrShape},
		{"bFloat", []tensor.Any{a, sc, sc}, graph.ErrDType},
		{"scalesUint8", []tensor.Any{a, b, b}, graph.ErrDType},
		{"gIdxFloat", []tensor.Any{a, b, sc, nil, sc}, graph.ErrDType},
		{"biasUint8", []tensor.Any{a, b, sc, nil, nil, b}, graph.ErrDType},
		{"biasShape", []tensor.Any{a, b, sc, nil, nil, sc}, tensor.ErrShape},
		{"badScales", []tensor.Any{a, b, tensor.Must(tensor.New([]int{3}, []float32{1, 2, 3}))}, tensor.ErrShape},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := l.ForwardAny(ctx, tc.in...); !errors.Is(err, tc.target) {
				t.Errorf("ForwardAny: got %v, want %v", err, tc.target)
			}
			if _, err := l.BackwardAny(ctx, tensor.Must(tensor.New[float32]([]int{1}, nil)), tc.in...); !errors.Is(err, tc.target) {
				t.Errorf("BackwardAny: got %v, want %v", err, tc.target)
			}
		})
	}
	// BackwardAny with weight inputs returns the bias gradient at index 5.
	bias := tensor.Must(tensor.New([]int{1}, []float32{10}))
	y, err := l.ForwardAny(ctx, a, b, sc, nil, nil, bias)
	if err != nil || math.Abs(float64(y.Data()[0])-16.5) > 1e-5 {
		t.Fatalf("ForwardAny with bias 10: %v, %v; want 16.5", y, err)
	}
	grads, err := l.BackwardAny(ctx, tensor.Must(tensor.New([]int{1}, []float32{2})), a, b, sc, nil, nil, bias)
	if err != nil {
		t.Fatal(err)
	}
	if len(grads) != 6 || grads[5] == nil || grads[5].Data()[0] != 2 || grads[1] != nil {
		t.Fatalf("BackwardAny gradients %v; want 6 with bias gradient [2]", grads)
	}
	// dA = 2·W: W[2] = 3.5.
	if got := grads[0].Data()[2]; got != 7 {
		t.Errorf("dA[2] = %v, want 7", got)
	}
	// A alone: BackwardAny is Backward.
	g1, err := l.BackwardAny(ctx, tensor.Must(tensor.New([]int{1}, []float32{2})), a)
	if err != nil || len(g1) != 1 || g1[0].Data()[2] != 7 {
		t.Errorf("BackwardAny(A) = %v, %v", g1, err)
	}
}

func TestMatMulNBitsQuantized(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	const n, k = 6, 100
	w := make([]float32, n*k)
	for i := range w {
		w[i] = float32(rng.NormFloat64())
	}
	bq := &numeric.BlockQuantized{N: n, K: k, Bits: 4, BlockSize: 32,
		B: make([]uint8, n*4*16), Scales: make([]float32, n*4), ZeroPoints: make([]uint8, n*2)}
	for i := range bq.B {
		bq.B[i] = uint8(rng.IntN(256))
	}
	for i := range bq.Scales {
		bq.Scales[i] = 0.1
	}
	for i := range bq.ZeroPoints {
		bq.ZeroPoints[i] = 0x97
	}
	l, err := NewMatMulNBitsQuantized[float32]("q", f32eng, f32ops, bq, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := bq.Dequantize()
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.DequantizedWeights(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got.Data() {
		if v != want[i] {
			t.Fatalf("W[%d] = %v, numeric.BlockQuantized.Dequantize gives %v", i, v, want[i])
		}
	}
	if _, err := NewMatMulNBitsQuantized[float32]("nil", f32eng, f32ops, nil, 0, nil); err == nil {
		t.Error("nil BlockQuantized: no error")
	}
	bq.Scales = bq.Scales[:3]
	if _, err := NewMatMulNBitsQuantized[float32]("short", f32eng, f32ops, bq, 0, nil); err == nil {
		t.Error("short scales: no error")
	}
}
