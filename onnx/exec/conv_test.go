package exec

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/internal/gemm"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
	"github.com/zerfoo/zerfoo/tensor"
)

// opKernel builds the kernel of a default-domain node op with attributes.
func opKernel(t testing.TB, op string, opset int64, attrs ...onnx.Attr) (Kernel, error) {
	t.Helper()
	build := lookup("", op, opset)
	if build == nil {
		t.Fatalf("no kernel for %s opset %d", op, opset)
	}
	p := &onnxpb.NodeProto{OpType: &op, Output: []string{"y"}}
	if op == "MaxPool" { // with its Indices output
		p.Output = append(p.Output, "indices")
	}
	for _, a := range attrs {
		ap, err := onnx.NewAttribute(a.Name, a.Value)
		if err != nil {
			t.Fatal(err)
		}
		p.Attribute = append(p.Attribute, ap)
	}
	return build(&Node{Proto: p, Name: "n", Opset: opset})
}

// mustKernel is opKernel failing the test on an error.
func mustKernel(t testing.TB, op string, opset int64, attrs ...onnx.Attr) Kernel {
	t.Helper()
	k, err := opKernel(t, op, opset, attrs...)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return k
}

func randN(r *rand.Rand, shape ...int) *tensor.Tensor[float32] {
	d := make([]float32, prod(shape))
	for i := range d {
		d[i] = float32(r.NormFloat64())
	}
	return tensor.Must(tensor.New(shape, d))
}

// convCase is a convolution with explicit pads.
type convCase struct {
	x, w               []int // shapes
	strides, dil, pads []int // pads: begins then ends
	group              int
	bias               bool
}

func i64(v []int) []int64 {
	r := make([]int64, len(v))
	for i, x := range v {
		r[i] = int64(x)
	}
	return r
}

// index helpers for the naive references
func flat(shape, idx []int) int {
	o := 0
	for i, d := range shape {
		o = o*d + idx[i]
	}
	return o
}

func eachIndex(shape []int, fn func(idx []int)) {
	n := prod(shape)
	idx := make([]int, len(shape))
	for range n {
		fn(idx)
		for i := len(shape) - 1; i >= 0; i-- {
			if idx[i]++; idx[i] < shape[i] {
				break
			}
			idx[i] = 0
		}
	}
}

// naiveConv is the definition of Conv: y[n,m,o…] = b[m] + Σ_{c,k…}
// w[m,c,k…]·x[n, g·C/group+c, o·s+k·d−pb…].
func naiveConv(x, w []float64, xs, ws []int, b []float64, s, d, pb, pe []int, group int) ([]float64, []int) {
	nd := len(xs) - 2
	out := make([]int, nd)
	for i := range nd {
		out[i] = (xs[i+2]+pb[i]+pe[i]-((ws[i+2]-1)*d[i]+1))/s[i] + 1
	}
	ys := append([]int{xs[0], ws[0]}, out...)
	y := make([]float64, prod(ys))
	cg, mg := xs[1]/group, ws[0]/group
	eachIndex(ys, func(yi []int) {
		n, m := yi[0], yi[1]
		g := m / mg
		acc := 0.0
		if b != nil {
			acc = b[m]
		}
		eachIndex(ws[1:], func(wi []int) {
			xi := make([]int, len(xs))
			xi[0], xi[1] = n, g*cg+wi[0]
			for i := range nd {
				p := yi[i+2]*s[i] + wi[i+1]*d[i] - pb[i]
				if p < 0 || p >= xs[i+2] {
					return
				}
				xi[i+2] = p
			}
			acc += w[flat(ws, append([]int{m}, wi...))] * x[flat(xs, xi)]
		})
		y[flat(ys, yi)] = acc
	})
	return y, ys
}

// naiveConvTranspose scatters every x element through the kernel.
func naiveConvTranspose(x, w []float64, xs, ws []int, b []float64, s, d, pb, pe, op []int, group int) ([]float64, []int) {
	nd := len(xs) - 2
	out := make([]int, nd)
	for i := range nd {
		out[i] = s[i]*(xs[i+2]-1) + op[i] + (ws[i+2]-1)*d[i] + 1 - pb[i] - pe[i]
	}
	mg := ws[1]
	ys := append([]int{xs[0], mg * group}, out...)
	y := make([]float64, prod(ys))
	cg := xs[1] / group
	if b != nil {
		eachIndex(ys, func(yi []int) { y[flat(ys, yi)] = b[yi[1]] })
	}
	eachIndex(xs, func(xi []int) {
		n, c := xi[0], xi[1]
		g := c / cg
		eachIndex(ws[1:], func(wi []int) {
			yi := make([]int, len(ys))
			yi[0], yi[1] = n, g*mg+wi[0]
			for i := range nd {
				p := xi[i+2]*s[i] + wi[i+1]*d[i] - pb[i]
				if p < 0 || p >= out[i] {
					return
				}
				yi[i+2] = p
			}
			y[flat(ys, yi)] += w[flat(ws, append([]int{c}, wi...))] * x[flat(xs, xi)]
		})
	})
	return y, ys
}

func f64s(v []float32) []float64 {
	r := make([]float64, len(v))
	for i, x := range v {
		r[i] = float64(x)
	}
	return r
}

func closeTo(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); d > tol*(1+math.Abs(want[i])) || math.IsNaN(float64(got[i])) {
			t.Fatalf("%s: [%d] got %v, want %v", what, i, got[i], want[i])
		}
	}
}

var convCases = []convCase{
	{x: []int{1, 1, 5, 5}, w: []int{1, 1, 3, 3}, strides: []int{1, 1}, dil: []int{1, 1}, pads: []int{1, 1, 1, 1}, group: 1},
	{x: []int{2, 4, 7, 6}, w: []int{6, 2, 3, 2}, strides: []int{2, 1}, dil: []int{1, 2}, pads: []int{0, 1, 2, 0}, group: 2, bias: true},
	{x: []int{1, 6, 5, 5}, w: []int{6, 1, 3, 3}, strides: []int{1, 1}, dil: []int{1, 1}, pads: []int{1, 1, 1, 1}, group: 6, bias: true}, // depthwise
	{x: []int{2, 8, 4, 3}, w: []int{5, 8, 1, 1}, strides: []int{1, 1}, dil: []int{1, 1}, pads: []int{0, 0, 0, 0}, group: 1, bias: true}, // pointwise
	{x: []int{1, 3, 9}, w: []int{4, 3, 4}, strides: []int{3}, dil: []int{2}, pads: []int{2, 1}, group: 1},                               // 1-D
	{x: []int{1, 2, 4, 5, 3}, w: []int{3, 2, 2, 3, 2}, strides: []int{1, 2, 1}, dil: []int{1, 1, 2}, pads: []int{1, 0, 1, 0, 2, 1}, group: 1, bias: true},
	{x: []int{1, 16, 12, 12}, w: []int{32, 16, 3, 3}, strides: []int{1, 1}, dil: []int{1, 1}, pads: []int{1, 1, 1, 1}, group: 1, bias: true}, // big enough for the parallel GEMM
	{x: []int{2, 4, 9, 8}, w: []int{8, 1, 3, 2}, strides: []int{2, 3}, dil: []int{2, 1}, pads: []int{3, 0, 1, 2}, group: 4, bias: true},      // depthwise, channel multiplier 2
	{x: []int{1, 3, 4, 5}, w: []int{3, 1, 2, 2}, strides: []int{1, 1}, dil: []int{3, 3}, pads: []int{2, 4, 0, 1}, group: 3},                  // depthwise, taps all in the padding
	{x: []int{1, 5, 7, 7}, w: []int{5, 1, 1, 1}, strides: []int{2, 2}, dil: []int{1, 1}, pads: []int{0, 0, 0, 0}, group: 5},
	{x: []int{2, 3, 9, 11}, w: []int{3, 1, 3, 3}, strides: []int{2, 2}, dil: []int{1, 2}, pads: []int{1, 2, 0, 1}, group: 3, bias: true}, // depthwise 3×3, strided and dilated columns
	{x: []int{1, 2, 5, 40}, w: []int{2, 1, 3, 3}, strides: []int{1, 1}, dil: []int{1, 1}, pads: []int{1, 1, 1, 1}, group: 2, bias: true}, // depthwise 3×3, rows of whole vectors (simd.Tap3)
	{x: []int{2, 2, 6, 9}, w: []int{4, 1, 3, 3}, strides: []int{1, 1}, dil: []int{2, 2}, pads: []int{2, 1, 0, 3}, group: 2, bias: true},  // depthwise 3×3, stride 1, dilated, channel multiplier 2 (depthwiseFlat)
	{x: []int{1, 2, 5, 71}, w: []int{2, 1, 3, 3}, strides: []int{2, 2}, dil: []int{1, 2}, pads: []int{1, 0, 1, 2}, group: 2},             // the same, stride 2, dilated
	{x: []int{1, 2, 6, 2}, w: []int{2, 1, 3, 3}, strides: []int{1, 1}, dil: []int{1, 1}, pads: []int{1, 1, 1, 1}, group: 2},              // depthwise 3×3 narrower than its window                  // depthwise 1×1 strided
}

// TestConvAgainstNaive checks Conv and ConvTranspose against the direct
// definitions on random data: groups, strides, dilations, asymmetric
// pads, 1-D to 3-D, with and without bias.
func TestConvAgainstNaive(t *testing.T) {
	r := rnd(11)
	ctx := context.Background()
	for i, c := range convCases {
		t.Run(fmt.Sprintf("conv%d", i), func(t *testing.T) {
			x, w := randN(r, c.x...), randN(r, c.w...)
			in := []tensor.Any{x, w}
			var bv []float64
			if c.bias {
				b := randN(r, c.w[0])
				in = append(in, b)
				bv = f64s(b.Data())
			}
			nd := len(c.x) - 2
			k := mustKernel(t, "Conv", 11, at("strides", i64(c.strides)), at("dilations", i64(c.dil)), at("pads", i64(c.pads)), at("group", int64(c.group)))
			got, err := k(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			want, ws := naiveConv(f64s(x.Data()), f64s(w.Data()), c.x, c.w, bv, c.strides, c.dil, c.pads[:nd], c.pads[nd:], c.group)
			if !tensor.SameShape(got[0].Shape(), ws) {
				t.Fatalf("shape %v, want %v", got[0].Shape(), ws)
			}
			closeTo(t, "Conv", got[0].(*tensor.Tensor[float32]).Data(), want, 1e-4)
		})
		t.Run(fmt.Sprintf("convtranspose%d", i), func(t *testing.T) {
			// ConvTranspose weights are C×M/group×k…
			wsT := append([]int{c.x[1], c.w[0] / c.group}, c.w[2:]...)
			x, w := randN(r, c.x...), randN(r, wsT...)
			nd := len(c.x) - 2
			op := make([]int, nd)
			for i := range op {
				op[i] = min(c.strides[i], c.dil[i]) - 1
			}
			in := []tensor.Any{x, w}
			var bv []float64
			if c.bias {
				b := randN(r, wsT[1]*c.group)
				in = append(in, b)
				bv = f64s(b.Data())
			}
			k := mustKernel(t, "ConvTranspose", 11, at("strides", i64(c.strides)), at("dilations", i64(c.dil)), at("pads", i64(c.pads)),
				at("group", int64(c.group)), at("output_padding", i64(op)))
			got, err := k(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			want, ws := naiveConvTranspose(f64s(x.Data()), f64s(w.Data()), c.x, wsT, bv, c.strides, c.dil, c.pads[:nd], c.pads[nd:], op, c.group)
			if !tensor.SameShape(got[0].Shape(), ws) {
				t.Fatalf("shape %v, want %v", got[0].Shape(), ws)
			}
			closeTo(t, "ConvTranspose", got[0].(*tensor.Tensor[float32]).Data(), want, 1e-4)
		})
	}
}

// TestConvIntegerAgainstNaive checks ConvInteger (per-channel weight zero
// points, uint8 and int8) and QLinearConv's requantization against the
// float definition.
func TestConvIntegerAgainstNaive(t *testing.T) {
	r := rnd(12)
	ctx := context.Background()
	xs, ws := []int{2, 4, 6, 5}, []int{6, 2, 3, 3}
	xd := make([]uint8, prod(xs))
	for i := range xd {
		xd[i] = uint8(r.IntN(256))
	}
	wd := make([]int8, prod(ws))
	for i := range wd {
		wd[i] = int8(r.IntN(256) - 128)
	}
	xzp, wzp := uint8(130), []int8{-3, 0, 5, 1, -128, 127}
	x := tensor.Must(tensor.New(xs, xd))
	w := tensor.Must(tensor.New(ws, wd))
	xf, wf := make([]float64, len(xd)), make([]float64, len(wd))
	for i, v := range xd {
		xf[i] = float64(int(v) - int(xzp))
	}
	for i, v := range wd {
		wf[i] = float64(int(v) - int(wzp[i/(prod(ws[1:]))]))
	}
	attrs := []onnx.Attr{at("strides", []int64{1, 2}), at("pads", []int64{1, 0, 1, 2}), at("group", int64(2)), at("dilations", []int64{2, 1})}
	want, ys := naiveConv(xf, wf, xs, ws, nil, []int{1, 2}, []int{2, 1}, []int{1, 0}, []int{1, 2}, 2)
	got, err := mustKernel(t, "ConvInteger", 10, attrs...)(ctx, []tensor.Any{x, w, tensor.Scalar(xzp), tensor.Must(tensor.New([]int{6}, wzp))})
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.SameShape(got[0].Shape(), ys) {
		t.Fatalf("shape %v, want %v", got[0].Shape(), ys)
	}
	for i, v := range got[0].(*tensor.Tensor[int32]).Data() {
		if float64(v) != want[i] {
			t.Fatalf("ConvInteger [%d] got %d, want %v", i, v, want[i])
		}
	}

	// QLinearConv with per-channel w_scale and a bias, int8 output.
	xsc, ysc := float32(0.02), float32(0.5)
	wsc := []float32{0.01, 0.02, 0.005, 0.03, 0.001, 0.002}
	bias := []int32{100, -200, 0, 5, 7, -1}
	yzp := int8(-5)
	got, err = mustKernel(t, "QLinearConv", 10, attrs...)(ctx, []tensor.Any{x, tensor.Scalar(xsc), tensor.Scalar(xzp),
		w, tensor.Must(tensor.New([]int{6}, wsc)), tensor.Must(tensor.New([]int{6}, wzp)), tensor.Scalar(ysc), tensor.Scalar(yzp),
		tensor.Must(tensor.New([]int{6}, bias))})
	if err != nil {
		t.Fatal(err)
	}
	sp := prod(ys[2:])
	for i, v := range got[0].(*tensor.Tensor[int8]).Data() {
		m := i / sp % 6
		sc := xsc * wsc[m] / ysc
		f := float32(want[i]+float64(bias[m])) * sc
		q := math.RoundToEven(float64(f)) + float64(yzp)
		q = min(max(q, -128), 127)
		if float64(v) != q {
			t.Fatalf("QLinearConv [%d] got %d, want %v", i, v, q)
		}
	}
}

// TestConvGeometry checks auto_pad and the pools' ceil_mode rule.
func TestConvGeometry(t *testing.T) {
	for _, c := range []struct {
		autoPad     string
		in, k, s, d int
		pads        []int
		ceil        bool
		out, pb, pe int
	}{
		{autoPad: "SAME_UPPER", in: 5, k: 3, s: 2, d: 1, out: 3, pb: 1, pe: 1},
		{autoPad: "SAME_UPPER", in: 6, k: 3, s: 2, d: 1, out: 3, pb: 0, pe: 1},
		{autoPad: "SAME_LOWER", in: 6, k: 3, s: 2, d: 1, out: 3, pb: 1, pe: 0},
		{autoPad: "SAME_UPPER", in: 7, k: 3, s: 1, d: 2, out: 7, pb: 2, pe: 2},
		{autoPad: "VALID", in: 7, k: 3, s: 2, d: 1, out: 3},
		{autoPad: "NOTSET", in: 4, k: 3, s: 2, d: 1, ceil: true, out: 2},
		{autoPad: "NOTSET", in: 5, k: 2, s: 2, d: 1, pads: []int{0, 1}, ceil: true, out: 3, pe: 1},
		// a last window that would start in the end padding is dropped
		{autoPad: "NOTSET", in: 5, k: 1, s: 2, d: 1, pads: []int{0, 1}, ceil: true, out: 3, pe: 1},
	} {
		w := &window{op: "test", autoPad: c.autoPad, strides: []int{c.s}, dilations: []int{c.d}, ceil: c.ceil}
		if c.pads != nil {
			w.pads = c.pads
		}
		g, err := w.resolve([]int{c.in}, []int{c.k})
		if err != nil {
			t.Fatal(err)
		}
		if g.out[0] != c.out || g.pb[0] != c.pb || g.pe[0] != c.pe {
			t.Errorf("%+v: got out %d pads %d,%d, want %d %d,%d", c, g.out[0], g.pb[0], g.pe[0], c.out, c.pb, c.pe)
		}
	}
}

// TestConvErrors checks that bad attributes and shapes are errors naming
// what is wrong, not panics.
func TestConvErrors(t *testing.T) {
	ctx := context.Background()
	r := rnd(13)
	x := randN(r, 1, 4, 5, 5)
	for _, c := range []struct {
		name  string
		op    string
		attrs []onnx.Attr
		in    []tensor.Any
		want  string
	}{
		{"bad auto_pad", "Conv", []onnx.Attr{at("auto_pad", "SAME")}, nil, "auto_pad"},
		{"negative pads", "Conv", []onnx.Attr{at("pads", []int64{-1, 0, 0, 0})}, nil, "pads"},
		{"zero stride", "Conv", []onnx.Attr{at("strides", []int64{0, 1})}, nil, "strides"},
		{"odd pads", "Conv", []onnx.Attr{at("pads", []int64{1, 1, 1})}, nil, "odd length"},
		{"zero group", "Conv", []onnx.Attr{at("group", int64(0))}, nil, "group"},
		{"group does not divide", "Conv", []onnx.Attr{at("group", int64(3))}, []tensor.Any{x, randN(r, 3, 1, 3, 3)}, "does not divide"},
		{"channels", "Conv", nil, []tensor.Any{x, randN(r, 2, 3, 3, 3)}, "input channels"},
		{"kernel too big", "Conv", nil, []tensor.Any{x, randN(r, 2, 4, 6, 3)}, "larger than the padded input"},
		{"rank", "Conv", nil, []tensor.Any{x, randN(r, 2, 4, 3)}, "ranks differ"},
		{"kernel_shape", "Conv", []onnx.Attr{at("kernel_shape", []int64{2, 2})}, []tensor.Any{x, randN(r, 2, 4, 3, 3)}, "kernel_shape"},
		{"pads rank", "Conv", []onnx.Attr{at("pads", []int64{1, 1})}, []tensor.Any{x, randN(r, 2, 4, 3, 3)}, "spatial dims"},
		{"bias", "Conv", nil, []tensor.Any{x, randN(r, 2, 4, 3, 3), randN(r, 3)}, "bias"},
		{"type", "Conv", nil, []tensor.Any{x, tensor.Must(tensor.New([]int{2, 4, 3, 3}, make([]int32, 72)))}, "float"},
		{"transpose channels", "ConvTranspose", nil, []tensor.Any{x, randN(r, 3, 2, 3, 3)}, "input channels"},
		{"transpose pads", "ConvTranspose", []onnx.Attr{at("pads", []int64{9, 9, 0, 0})}, []tensor.Any{x, randN(r, 4, 2, 3, 3)}, "exceed"},
		{"output_padding", "ConvTranspose", []onnx.Attr{at("output_padding", []int64{1, 1})}, []tensor.Any{x, randN(r, 4, 2, 3, 3)}, "output_padding"},
		{"integer type", "ConvInteger", nil, []tensor.Any{x, randN(r, 2, 4, 3, 3)}, "int8"},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, err := opKernel(t, c.op, 11, c.attrs...)
			if err == nil {
				if c.in == nil {
					t.Fatalf("no compile error")
				}
				_, err = k(ctx, c.in)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error about %q", err, c.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%v is not an *Error", err)
			}
		})
	}
}

// BenchmarkConv times float32 Conv on ResNet-18 shapes (batch 1) and
// reports GFLOP/s (2 flops per multiply-add).
func BenchmarkConv(b *testing.B) {
	for _, c := range []struct {
		name          string
		c, h, m, k, s int
	}{
		{"3x3_64ch_56x56", 64, 56, 64, 3, 1},
		{"3x3_128ch_28x28", 128, 28, 128, 3, 1},
		{"7x7_3ch_224x224_s2", 3, 224, 64, 7, 2},
		{"1x1_256ch_14x14", 256, 14, 256, 1, 1},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := rnd(14)
			x, w := randN(r, 1, c.c, c.h, c.h), randN(r, c.m, c.c, c.k, c.k)
			p := int64(c.k / 2)
			k := mustKernel(b, "Conv", 11, at("strides", []int64{int64(c.s), int64(c.s)}), at("pads", []int64{p, p, p, p}))
			ctx := context.Background()
			out := (c.h+2*int(p)-c.k)/c.s + 1
			flops := 2 * float64(c.m*out*out) * float64(c.c*c.k*c.k)
			in := []tensor.Any{x, w}
			b.ResetTimer()
			for b.Loop() {
				if _, err := k(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		// The GEMM alone on the same shape (the im2col matrix given): Conv's
		// ceiling with this algorithm.
		b.Run(c.name+"_gemm_only", func(b *testing.B) {
			r := rnd(14)
			out := (c.h+2*(c.k/2)-c.k)/c.s + 1
			kd, n := c.c*c.k*c.k, out*out
			w, col := randN(r, c.m, kd), randN(r, kd, n)
			y := make([]float32, c.m*n)
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				if err := gemm.Sgemm(ctx, false, false, c.m, n, kd, 1, w.Data(), kd, col.Data(), n, 0, y, n); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(2*float64(c.m*n*kd)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// TestHostileWindows checks that attributes making enormous outputs are
// budget errors, not panics or huge allocations.
func TestHostileWindows(t *testing.T) {
	ctx := context.Background()
	r := rnd(15)
	x := randN(r, 1, 1, 5, 5)
	big := int64(1) << 31
	for _, c := range []struct {
		op    string
		opset int64
		attrs []onnx.Attr
		in    []tensor.Any
	}{
		{"Conv", 11, []onnx.Attr{at("pads", []int64{big, big, big, big})}, []tensor.Any{x, randN(r, 1, 1, 3, 3)}},
		{"ConvTranspose", 11, []onnx.Attr{at("strides", []int64{big, big})}, []tensor.Any{x, randN(r, 1, 1, 3, 3)}},
		{"ConvTranspose", 11, []onnx.Attr{at("output_shape", []int64{big, big})}, []tensor.Any{x, randN(r, 1, 1, 3, 3)}},
		{"MaxPool", 12, []onnx.Attr{at("kernel_shape", []int64{1, 1}), at("pads", []int64{big, big, big, big})}, []tensor.Any{x}},
		{"RoiAlign", 16, []onnx.Attr{at("output_height", big), at("output_width", big)}, []tensor.Any{x, f32s([]int{1, 4}, 0, 0, 1, 1), i64s([]int{1}, 0)}},
		{"Pad", 13, nil, []tensor.Any{x, i64s([]int{8}, big, big, big, big, big, big, big, big)}},
		{"Resize", 13, nil, []tensor.Any{x, nil, nil, i64s([]int{4}, 1, 1, big, big)}},
		{"MaxUnpool", 11, []onnx.Attr{at("kernel_shape", []int64{2, 2})}, []tensor.Any{x, tensor.Must(tensor.New([]int{1, 1, 5, 5}, make([]int64, 25))), i64s([]int{4}, 1, 1, big, big)}},
		{"Col2Im", 18, nil, []tensor.Any{randN(r, 1, 1, 1), i64s([]int{2}, big, big), i64s([]int{2}, big, big)}},
	} {
		t.Run(c.op, func(t *testing.T) {
			k, err := opKernel(t, c.op, c.opset, c.attrs...)
			if err == nil {
				_, err = k(ctx, c.in)
			}
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
		})
	}
}
