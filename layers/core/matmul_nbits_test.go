package core

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// workedExample is matmul-nbits.md §9: K=18, N=1, bits 4, block 16.
func workedExample(level int, zp tensor.Any, opts ...MatMulNBitsOption) (*MatMulNBits[float32], error) {
	return workedExampleBytes(level, zp, workedB(), opts...)
}

func workedB() []uint8 {
	return []uint8{
		0x98, 0x7F, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88,
		0x3C, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88,
	}
}

func workedExampleBytes(level int, zp tensor.Any, b []uint8, opts ...MatMulNBitsOption) (*MatMulNBits[float32], error) {
	attrs := MatMulNBitsAttrs{K: 18, N: 1, Bits: 4, BlockSize: 16, AccuracyLevel: level}
	return NewMatMulNBitsONNX(
		"worked", f32eng, f32ops, attrs,
		tensor.Must(tensor.New([]int{1, 2, 8}, b)),
		tensor.Must(tensor.New([]int{1, 2}, []float32{0.5, 0.25})),
		zp, nil, nil, opts...)
}

var workedA = []float32{1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 4}

func TestMatMulNBitsWorkedExample(t *testing.T) {
	tests := []struct {
		name  string
		level int
		zp    tensor.Any
		want  float64
		tol   float64
	}{
		// Σ = 2·0.5 + 3·3.5 + 4·(−0.5) + 2·1.0 + 4·(−1.25)
		{"level0", 0, nil, 6.5, 1e-6},
		{"level1", 1, nil, 6.5, 1e-6},
		{"level3", 3, nil, 6.5, 1e-6},
		// 602·(4/127)·0.5 − 379·(4/127)·0.25 = 6.496062…
		{"level4", 4, nil, 6.496062992125984, 1e-5},
		// zero points 0x79: block 0 uses 9, block 1 uses 7:
		// 1·(−0.5) + 3·3 + 4·(−1) + 2·1.25 + 4·(−1) = 3
		{"packedZP", 0, tensor.Must(tensor.New([]int{1, 1}, []uint8{0x79})), 3, 1e-6},
		{"packedZPflat", 0, tensor.Must(tensor.New([]int{1}, []uint8{0x79})), 3, 1e-6},
		// float zero points [8.5, 7.5]: block 0 weights −0.25, 0.25, 3.25, −0.75;
		// block 1 1.125, −1.125: −0.25 + 0.5 + 9.75 − 3 + 2.25 − 4.5 = 4.75
		{"floatZP", 0, tensor.Must(tensor.New([]int{1, 2}, []float32{8.5, 7.5})), 4.75, 1e-6},
		// float zero points bypass the int8 path: level 4 equals level 0.
		{"floatZPlevel4", 4, tensor.Must(tensor.New([]int{2}, []float32{8.5, 7.5})), 4.75, 1e-6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := workedExample(tc.level, tc.zp)
			if err != nil {
				t.Fatal(err)
			}
			y := runForward(t, l, []int{1, 18}, workedA)
			if got := float64(y.Data()[0]); math.Abs(got-tc.want) > tc.tol {
				t.Errorf("got %.8f, want %.8f", got, tc.want)
			}
			if !tensor.SameShape(y.Shape(), []int{1, 1}) {
				t.Errorf("shape %v, want [1 1]", y.Shape())
			}
		})
	}
}

// The padding codes of a partial last block must never be read, by the
// fused kernels (which repack them) or by the reference loops.
func TestMatMulNBitsPaddingIgnored(t *testing.T) {
	for _, opts := range [][]MatMulNBitsOption{nil, {WithReferenceKernels()}} {
		for _, level := range []int{0, 4} {
			l, err := workedExample(level, nil, opts...)
			if err != nil {
				t.Fatal(err)
			}
			want := runForward(t, l, []int{18}, workedA).Data()[0]
			b := workedB()
			for i := 9; i < 16; i++ {
				b[i] = uint8(0x13 * i) // overwrite the padding bytes of block 1
			}
			if l, err = workedExampleBytes(level, nil, b, opts...); err != nil {
				t.Fatal(err)
			}
			if got := runForward(t, l, []int{18}, workedA).Data()[0]; got != want {
				t.Errorf("level %d reference %v: padding changed the output: got %v, want %v", level, opts != nil, got, want)
			}
		}
	}
}

func TestMatMulNBitsSpecConstructor(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, bits := range []int{2, 4, 8} {
		for _, k := range []int{1, 5, 16, 37, 300} {
			for _, mode := range []string{"sym-tensor", "sym-row", "asym-tensor", "asym-row"} {
				cols := 3
				n := cols * 8 / bits
				w := make([]uint8, k*cols)
				for i := range w {
					w[i] = uint8(rng.IntN(256))
				}
				perRow := strings.HasSuffix(mode, "row")
				sym := strings.HasPrefix(mode, "sym")
				ns := 1
				if perRow {
					ns = n
				}
				sc := make([]float32, ns)
				zp := make([]uint8, ns)
				for i := range sc {
					sc[i] = float32(0.05 + 0.1*rng.Float64())
					zp[i] = uint8(rng.IntN(1 << bits))
				}
				var zpT *tensor.Tensor[uint8]
				if !sym {
					zpT = tensor.Must(tensor.New([]int{ns}, zp))
				}
				l, err := NewMatMulNBits("spec", f32eng, f32ops, tensor.Must(tensor.New([]int{k, cols}, w)),
					tensor.Must(tensor.New([]int{ns}, sc)), zpT, bits, sym)
				if err != nil {
					t.Fatalf("bits %d K %d %s: %v", bits, k, mode, err)
				}
				attrs := l.Attributes()
				if attrs["K"] != k || attrs["N"] != n || attrs["bits"] != bits || attrs["accuracy_level"] != 0 {
					t.Errorf("bits %d K %d %s: attributes %v", bits, k, mode, attrs)
				}
				bs := attrs["block_size"].(int)
				if bs < 16 || bs > 256 || bs&(bs-1) != 0 || (bs < 256 && bs < k) {
					t.Errorf("bits %d K %d: block_size %d", bits, k, bs)
				}
				a := make([]float32, 2*k)
				for i := range a {
					a[i] = float32(rng.NormFloat64())
				}
				y := runForward(t, l, []int{2, k}, a)
				// Reference straight from the [K][N packed] layout.
				for r := 0; r < 2; r++ {
					for j := 0; j < n; j++ {
						s, z := float64(sc[0]), 1<<(bits-1)
						if perRow {
							s = float64(sc[j])
						}
						if !sym {
							z = int(zp[0])
							if perRow {
								z = int(zp[j])
							}
						}
						var want, mag float64
						for kk := 0; kk < k; kk++ {
							pos := j * bits
							code := int(w[kk*cols+pos/8]>>(pos%8)) & (1<<bits - 1)
							term := float64(a[r*k+kk]) * float64(code-z) * s
							want += term
							mag += math.Abs(term)
						}
						if got := float64(y.Data()[r*n+j]); math.Abs(got-want) > 1e-5*mag+1e-6 {
							t.Errorf("bits %d K %d %s: y[%d][%d] = %v, want %v", bits, k, mode, r, j, got, want)
						}
					}
				}
				// Dequantized weights agree with the same formula.
				dw, err := l.DequantizedWeights(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if !tensor.SameShape(dw.Shape(), []int{n, k}) {
					t.Errorf("DequantizedWeights shape %v, want [%d %d]", dw.Shape(), n, k)
				}
			}
		}
	}
}

// A symmetric zero point given explicitly must be 2^(bits−1) (8 for 4 bits).
func TestMatMulNBitsSymmetricZeroPoint(t *testing.T) {
	w := tensor.Must(tensor.New([]int{2, 2}, []uint8{0x12, 0x34, 0x56, 0x78}))
	sc := tensor.Must(tensor.New([]int{1}, []float32{0.1}))
	if _, err := NewMatMulNBits("ok", f32eng, f32ops, w, sc, tensor.Must(tensor.New([]int{1}, []uint8{8})), 4, true); err != nil {
		t.Errorf("zero point 8 for symmetric 4-bit: %v", err)
	}
	if _, err := NewMatMulNBits("bad", f32eng, f32ops, w, sc, tensor.Must(tensor.New([]int{1}, []uint8{128})), 4, true); !errors.Is(err, ErrAttribute) {
		t.Errorf("zero point 128 for symmetric 4-bit: got %v, want ErrAttribute", err)
	}
	// An asymmetric layer with zero point 8 everywhere equals the symmetric one.
	l1, _ := NewMatMulNBits("sym", f32eng, f32ops, w, sc, nil, 4, true)
	l2, err := NewMatMulNBits("asym", f32eng, f32ops, w, sc, tensor.Must(tensor.New([]int{4}, []uint8{8, 8, 8, 8})), 4, false)
	if err != nil {
		t.Fatal(err)
	}
	y1 := runForward(t, l1, []int{2}, []float32{1, 2}).Data()
	y2 := runForward(t, l2, []int{2}, []float32{1, 2}).Data()
	for i := range y1 {
		if y1[i] != y2[i] {
			t.Errorf("y[%d]: symmetric %v, asymmetric zp 8 %v", i, y1[i], y2[i])
		}
	}
	// The repacked weights are the ONNX form: N=4 rows, one 16-block, low nibble first.
	pw := l1.PackedWeights()
	if !tensor.SameShape(pw.Shape(), []int{4, 1, 8}) {
		t.Fatalf("packed shape %v, want [4 1 8]", pw.Shape())
	}
	// Row n=0 holds codes 2 (k=0) and 6 (k=1), then padding 8s.
	if got := pw.Data()[:8]; got[0] != 0x62 || got[1] != 0x88 || got[7] != 0x88 {
		t.Errorf("row 0 bytes % x, want 62 88 … 88", got)
	}
}

func TestMatMulNBitsNodeInterface(t *testing.T) {
	l, err := workedExample(4, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.OpType() != "MatMulNBits" || l.Name() != "worked" {
		t.Errorf("OpType %q Name %q", l.OpType(), l.Name())
	}
	want := map[string]any{"K": 18, "N": 1, "bits": 4, "block_size": 16, "accuracy_level": 4}
	got := l.Attributes()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Attributes[%q] = %v, want %v", k, got[k], v)
		}
	}
	if s := l.OutputShape(); !tensor.SameShape(s, []int{-1, 1}) {
		t.Errorf("OutputShape before Forward = %v, want [-1 1]", s)
	}
	runForward(t, l, []int{2, 3, 18}, make([]float32, 6*18))
	if s := l.OutputShape(); !tensor.SameShape(s, []int{2, 3, 1}) {
		t.Errorf("OutputShape after Forward = %v, want [2 3 1]", s)
	}
	if l.Parameters() != nil {
		t.Errorf("Parameters without bias = %v, want nil", l.Parameters())
	}
	if s, err := l.InferShape([]int{-1, 7, 18}); err != nil || !tensor.SameShape(s, []int{-1, 7, 1}) {
		t.Errorf("InferShape = %v, %v; want [-1 7 1]", s, err)
	}
	if s, err := l.InferShape(nil); err != nil || s != nil {
		t.Errorf("InferShape(nil) = %v, %v; want nil, nil", s, err)
	}
	if _, err := l.InferShape([]int{3, 17}); !errors.Is(err, tensor.ErrShape) {
		t.Errorf("InferShape([3 17]) error %v, want ErrShape", err)
	}
	if _, err := l.InferShape(); !errors.Is(err, tensor.ErrShape) {
		t.Errorf("InferShape() error %v, want ErrShape", err)
	}
	if a := l.Attrs(); a != (MatMulNBitsAttrs{K: 18, N: 1, Bits: 4, BlockSize: 16, AccuracyLevel: 4}) {
		t.Errorf("Attrs = %+v", a)
	}
}

func TestMatMulNBitsErrors(t *testing.T) {
	good := func() (MatMulNBitsAttrs, *tensor.Tensor[uint8], *tensor.Tensor[float32]) {
		return MatMulNBitsAttrs{K: 40, N: 3, Bits: 4, BlockSize: 16},
			tensor.Must(tensor.New[uint8]([]int{3, 3, 8}, nil)),
			tensor.Must(tensor.New[float32]([]int{3, 3}, nil))
	}
	type onnxIn struct {
		attrs MatMulNBitsAttrs
		b     *tensor.Tensor[uint8]
		sc    *tensor.Tensor[float32]
		zp    tensor.Any
		g     *tensor.Tensor[int32]
		bias  *tensor.Tensor[float32]
	}
	tests := []struct {
		name   string
		mod    func(*onnxIn)
		target error
		substr string
	}{
		{"bits3", func(in *onnxIn) { in.attrs.Bits = 3 }, ErrAttribute, "bits 3"},
		{"bits1", func(in *onnxIn) { in.attrs.Bits = 1 }, ErrAttribute, "bits 1"},
		{"block8", func(in *onnxIn) { in.attrs.BlockSize = 8 }, ErrAttribute, "block_size 8"},
		{"block48", func(in *onnxIn) { in.attrs.BlockSize = 48 }, ErrAttribute, "block_size 48"},
		{"block512", func(in *onnxIn) { in.attrs.BlockSize = 512 }, ErrAttribute, "block_size 512"},
		{"level5", func(in *onnxIn) { in.attrs.AccuracyLevel = 5 }, ErrAttribute, "accuracy_level 5"},
		{"K0", func(in *onnxIn) { in.attrs.K = 0 }, ErrAttribute, "K=0"},
		{"nilB", func(in *onnxIn) { in.b = nil }, tensor.ErrShape, "nil B"},
		{"nilScales", func(in *onnxIn) { in.sc = nil }, tensor.ErrShape, "nil B or scales"},
		{"shortB", func(in *onnxIn) { in.b = tensor.Must(tensor.New[uint8]([]int{3, 2, 8}, nil)) }, tensor.ErrShape, "want [3 3 8] (72 bytes) for N=3 K=40 bits=4 block_size=16"},
		{"flatB", func(in *onnxIn) { in.b = tensor.Must(tensor.New[uint8]([]int{72}, nil)) }, tensor.ErrShape, "B shape [72]"},
		{"scalesCount", func(in *onnxIn) { in.sc = tensor.Must(tensor.New[float32]([]int{8}, nil)) }, tensor.ErrShape, "scales shape [8], want [3, 3] or [9]"},
		{"scalesShape", func(in *onnxIn) { in.sc = tensor.Must(tensor.New[float32]([]int{9, 1}, nil)) }, tensor.ErrShape, "scales shape [9 1]"},
		{"zpUnpacked", func(in *onnxIn) { in.zp = tensor.Must(tensor.New[uint8]([]int{3, 3}, nil)) }, tensor.ErrShape, "want [3, 2] or [6]"},
		{"zpFloatCount", func(in *onnxIn) { in.zp = tensor.Must(tensor.New[float32]([]int{3, 2}, nil)) }, tensor.ErrShape, "float zero_points shape [3 2]"},
		{"zpFloat8bit", func(in *onnxIn) {
			in.attrs.Bits = 8
			in.b = tensor.Must(tensor.New[uint8]([]int{3, 3, 16}, nil))
			in.zp = tensor.Must(tensor.New[float32]([]int{3, 3}, nil))
		}, ErrAttribute, "bits=8"},
		{"zpInt32", func(in *onnxIn) { in.zp = tensor.Must(tensor.New[int32]([]int{9}, nil)) }, tensor.ErrShape, "dtype int32"},
		{"gIdxLen", func(in *onnxIn) { in.g = tensor.Must(tensor.New[int32]([]int{39}, nil)) }, tensor.ErrShape, "g_idx shape [39], want [40] (K) or [48]"},
		{"gIdxRange", func(in *onnxIn) {
			g := make([]int32, 40)
			g[7] = 3
			in.g = tensor.Must(tensor.New([]int{40}, g))
		}, tensor.ErrIndex, "g_idx[7] = 3 outside [0, 3)"},
		{"biasShape", func(in *onnxIn) { in.bias = tensor.Must(tensor.New[float32]([]int{4}, nil)) }, tensor.ErrShape, "bias shape [4], want [3]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var in onnxIn
			in.attrs, in.b, in.sc = good()
			tc.mod(&in)
			l, err := NewMatMulNBitsONNX("bad_layer", f32eng, f32ops, in.attrs, in.b, in.sc, in.zp, in.g, in.bias)
			if err == nil {
				t.Fatalf("got layer %v, want error", l)
			}
			if !errors.Is(err, tc.target) || !strings.Contains(err.Error(), tc.substr) ||
				!strings.HasPrefix(err.Error(), `core: MatMulNBits "bad_layer"`) {
				t.Errorf("error %q: want %v containing %q", err, tc.target, tc.substr)
			}
		})
	}
	// The good inputs are accepted (so each case above fails for its own reason).
	a, b, sc := good()
	if _, err := NewMatMulNBitsONNX("good", f32eng, f32ops, a, b, sc, nil, nil, nil); err != nil {
		t.Errorf("good inputs: %v", err)
	}
	if _, err := NewMatMulNBitsONNX[float32]("noengine", nil, f32ops, a, b, sc, nil, nil, nil); err == nil {
		t.Error("nil engine: got no error")
	}
	if _, err := NewMatMulNBitsONNX[int32]("int", compute.NewCPUEngine[int32](numeric.Int32Ops{}), numeric.Int32Ops{}, a, b, nil, nil, nil, nil); !errors.Is(err, ErrAttribute) {
		t.Errorf("int32 layer: got %v, want ErrAttribute", err)
	}
}

func TestMatMulNBitsSpecConstructorErrors(t *testing.T) {
	w := tensor.Must(tensor.New([]int{2, 2}, []uint8{0x12, 0x34, 0x56, 0x78}))
	sc := tensor.Must(tensor.New([]int{1}, []float32{0.1}))
	u8 := func(shape []int, v ...uint8) *tensor.Tensor[uint8] { return tensor.Must(tensor.New(shape, v)) }
	tests := []struct {
		name   string
		w      *tensor.Tensor[uint8]
		sc     *tensor.Tensor[float32]
		zp     *tensor.Tensor[uint8]
		bits   int
		sym    bool
		target error
		substr string
	}{
		{"bits5", w, sc, nil, 5, true, ErrAttribute, "bits 5"},
		{"nilWeights", nil, sc, nil, 4, true, tensor.ErrShape, "nil weights"},
		{"nilScale", w, nil, nil, 4, true, tensor.ErrShape, "nil weights or scale"},
		{"weights1D", u8([]int{4}, 1, 2, 3, 4), sc, nil, 4, true, tensor.ErrShape, "weights shape [4]"},
		{"weightsEmpty", u8([]int{0, 2}), sc, nil, 4, true, tensor.ErrShape, "weights shape [0 2]"},
		{"scaleCount", w, tensor.Must(tensor.New([]int{3}, []float32{1, 2, 3})), nil, 4, true, tensor.ErrShape, "scale has 3 elements, want 1 (per-tensor) or N=4"},
		{"zpCount", w, sc, u8([]int{2}, 1, 2), 4, false, tensor.ErrShape, "zero point has 2 elements"},
		{"zpRange", w, sc, u8([]int{1}, 16), 4, false, ErrAttribute, "zero point 16 at 0 exceeds the 4-bit maximum 15"},
		{"asymNoZP", w, sc, nil, 4, false, ErrAttribute, "needs a zero point"},
		{"symZP128", w, sc, u8([]int{1}, 128), 8, true, nil, ""},
		{"symZP7", w, sc, u8([]int{1}, 7), 4, true, ErrAttribute, "must be 8, got 7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewMatMulNBits("spec_layer", f32eng, f32ops, tc.w, tc.sc, tc.zp, tc.bits, tc.sym)
			if tc.target == nil {
				if err != nil {
					t.Errorf("got %v, want no error", err)
				}
				return
			}
			if !errors.Is(err, tc.target) || !strings.Contains(err.Error(), tc.substr) ||
				!strings.HasPrefix(err.Error(), `core: MatMulNBits "spec_layer"`) {
				t.Errorf("error %v: want %v containing %q", err, tc.target, tc.substr)
			}
		})
	}
}

func TestMatMulNBitsForwardErrors(t *testing.T) {
	ctx := context.Background()
	l, err := workedExample(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := tensor.Must(tensor.New[float32]([]int{2, 18}, nil))
	tests := []struct {
		name   string
		run    func() error
		substr string
	}{
		{"noInput", func() error { _, err := l.Forward(ctx); return err }, "takes 1 input"},
		{"twoInputs", func() error { _, err := l.Forward(ctx, a, a); return err }, "takes 1 input"},
		{"nilInput", func() error { _, err := l.Forward(ctx, nil); return err }, "nil input A"},
		{"wrongK", func() error {
			_, err := l.Forward(ctx, tensor.Must(tensor.New[float32]([]int{2, 17}, nil)))
			return err
		}, "input shape [2 17], want [..., 18]"},
		{"scalar", func() error { _, err := l.Forward(ctx, tensor.Scalar[float32](1)); return err }, "input shape []"},
		{"backwardNoInput", func() error { _, err := l.Backward(ctx, a); return err }, "takes 1 input"},
		{"backwardGradShape", func() error {
			_, err := l.Backward(ctx, tensor.Must(tensor.New[float32]([]int{2, 2}, nil)), a)
			return err
		}, "output gradient shape [2 2], want [2 1]"},
		{"backwardNilGrad", func() error { _, err := l.Backward(ctx, nil, a); return err }, "output gradient shape [], want [2 1]"},
		{"backwardWrongK", func() error {
			_, err := l.Backward(ctx, a, tensor.Must(tensor.New[float32]([]int{3}, nil)))
			return err
		}, "input shape [3]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if !errors.Is(err, tensor.ErrShape) || !strings.Contains(err.Error(), tc.substr) ||
				!strings.HasPrefix(err.Error(), `core: MatMulNBits "worked"`) {
				t.Errorf("error %v: want ErrShape containing %q", err, tc.substr)
			}
		})
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.Forward(cancelled, a); !errors.Is(err, context.Canceled) {
		t.Errorf("Forward with cancelled context: got %v, want context.Canceled", err)
	}
}
