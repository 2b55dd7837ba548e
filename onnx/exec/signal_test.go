package exec

import (
	"math"
	"math/cmplx"
	"testing"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// seqNaiveDFT is the O(n²) definition, the reference for fftPlan.
func seqNaiveDFT(x []complex128, inverse bool) []complex128 {
	n := len(x)
	sign := -1.0
	if inverse {
		sign = 1
	}
	y := make([]complex128, n)
	for k := range y {
		for j, v := range x {
			e := (j * k) % n
			s, c := math.Sincos(sign * 2 * math.Pi * float64(e) / float64(n))
			y[k] += v * complex(c, s)
		}
	}
	return y
}

func TestFFTPlan(t *testing.T) {
	r := rnd(3)
	lengths := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17, 31, 32, 33, 60, 64, 97, 100, 127, 128, 255}
	for _, n := range lengths {
		x := make([]complex128, n)
		for i := range x {
			x[i] = complex(r.NormFloat64(), r.NormFloat64())
		}
		p := newFFTPlan(n)
		for _, inv := range []bool{false, true} {
			want := seqNaiveDFT(x, inv)
			got := append([]complex128(nil), x...)
			p.transform(got, make([]complex128, p.m), inv)
			for k := range want {
				if d := cmplx.Abs(got[k] - want[k]); d > 1e-9*float64(n+1) {
					t.Errorf("n=%d inverse=%v: X[%d] = %v, want %v", n, inv, k, got[k], want[k])
					break
				}
			}
		}
	}
}

// seqDFTRef transforms x, of shape [outer, n, inner] complex, along its
// middle axis, padded or cut to length, keeping nOut frequencies.
func seqDFTRef(x []complex128, outer, n, inner, length, nOut int, inverse bool) []float64 {
	var res []float64
	out := make([]complex128, outer*nOut*inner)
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			seq := make([]complex128, length)
			for j := 0; j < min(n, length); j++ {
				seq[j] = x[(o*n+j)*inner+i]
			}
			y := seqNaiveDFT(seq, inverse)
			for k := 0; k < nOut; k++ {
				if inverse {
					y[k] /= complex(float64(length), 0)
				}
				out[(o*nOut+k)*inner+i] = y[k]
			}
		}
	}
	for _, z := range out {
		res = append(res, cmplx.Abs(z)*math.Cos(cmplx.Phase(z)), imag(z))
	}
	return res
}

func TestDFT(t *testing.T) {
	r := rnd(4)
	realX := randF32(r, 2, 6, 3, 1)
	cplxX := randF32(r, 2, 6, 3, 2)
	toC := func(x *tensor.Tensor[float32]) []complex128 {
		d, s := x.Data(), x.Shape()
		c := make([]complex128, len(d)/s[3])
		for i := range c {
			if s[3] == 1 {
				c[i] = complex(float64(d[i]), 0)
			} else {
				c[i] = complex(float64(d[2*i]), float64(d[2*i+1]))
			}
		}
		return c
	}
	type dcase struct {
		name     string
		x        *tensor.Tensor[float32]
		opset    int64
		axis     int // the axis as normalized
		length   int
		onesided bool
		inverse  bool
		attrs    []onnx.Attr
		extra    []in
	}
	cases := []dcase{
		{name: "real_axis1", x: realX, opset: 17, axis: 1, attrs: nil},
		{name: "complex_axis2", x: cplxX, opset: 17, axis: 2, attrs: []onnx.Attr{at("axis", 2)}},
		{name: "onesided", x: realX, opset: 17, axis: 1, onesided: true, attrs: []onnx.Attr{at("onesided", 1)}},
		{name: "inverse", x: cplxX, opset: 17, axis: 1, inverse: true, attrs: []onnx.Attr{at("inverse", 1)}},
		{name: "pad_to_10", x: realX, opset: 17, axis: 1, length: 10, extra: []in{cst("len", i64s(nil, 10))}},
		{name: "cut_to_4_onesided", x: cplxX, opset: 17, axis: 1, length: 4, onesided: true, attrs: []onnx.Attr{at("onesided", 1)}, extra: []in{cst("len", i64s(nil, 4))}},
		{name: "opset20_axis_input", x: cplxX, opset: 20, axis: 2, extra: []in{absent(), cst("axis", i64s(nil, -2))}},
		{name: "opset20_default_axis", x: realX, opset: 20, axis: 2},
		{name: "opset20_axis0", x: realX, opset: 20, axis: 0, inverse: true, attrs: []onnx.Attr{at("inverse", 1)}, extra: []in{absent(), cst("axis", i64s(nil, 0))}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := c.x.Shape()
			outer, n, inner := prod(s[:c.axis]), s[c.axis], prod(s[c.axis+1:3])
			length := n
			if c.length > 0 {
				length = c.length
			}
			nOut := length
			if c.onesided {
				nOut = length/2 + 1
			}
			want := seqDFTRef(toC(c.x), outer, n, inner, length, nOut, c.inverse)
			ws := append([]int(nil), s...)
			ws[c.axis], ws[3] = nOut, 2
			ins := append([]in{x(c.x)}, c.extra...)
			res, err := runSeqNode(t, "DFT", "", c.opset, ins, f32Out, c.attrs...)
			if err != nil {
				t.Fatal(err)
			}
			seqClose(t, "y", res["z"], want, ws, 1e-5, 1e-5)
		})
	}
	// errors name the node
	_, err := runSeqNode(t, "DFT", "", 17, []in{x(realX)}, f32Out, at("axis", 3))
	seqRunErr(t, err, "axis on the complex dim", tensor.ErrShape)
	_, err = runSeqNode(t, "DFT", "", 17, []in{x(randF32(r, 2, 3, 3))}, f32Out)
	seqRunErr(t, err, "last dim 3", tensor.ErrShape)
	_, err = runSeqNode(t, "DFT", "", 17, []in{x(realX), cst("len", i64s(nil, 0))}, f32Out)
	seqRunErr(t, err, "dft_length 0", tensor.ErrShape)
}

func TestSTFT(t *testing.T) {
	r := rnd(5)
	sig := randF32(r, 2, 23, 1)
	win := randF32(r, 6)
	for _, c := range []struct {
		name     string
		ins      []in
		fl, step int
		window   []float32
		onesided bool
		attrs    []onnx.Attr
	}{
		{"window", []in{x(sig), cst("step", i64s(nil, 4)), cst("w", win)}, 6, 4, win.Data(), true, nil},
		{"frame_length", []in{x(sig), cst("step", i64s(nil, 3)), absent(), cst("fl", i64s(nil, 5))}, 5, 3, nil, true, nil},
		{"twosided", []in{x(sig), cst("step", i64s(nil, 5)), cst("w", win), cst("fl", i64s(nil, 6))}, 6, 5, win.Data(), false, []onnx.Attr{at("onesided", 0)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			frames := (23-c.fl)/c.step + 1
			bins := c.fl
			if c.onesided {
				bins = c.fl/2 + 1
			}
			var want []float64
			for b := 0; b < 2; b++ {
				for f := 0; f < frames; f++ {
					frame := make([]complex128, c.fl)
					for j := range frame {
						v := float64(sig.Data()[b*23+f*c.step+j])
						if c.window != nil {
							v *= float64(c.window[j])
						}
						frame[j] = complex(v, 0)
					}
					y := seqNaiveDFT(frame, false)
					for k := 0; k < bins; k++ {
						want = append(want, cmplx.Abs(y[k])*math.Cos(cmplx.Phase(y[k])), imag(y[k]))
					}
				}
			}
			res, err := runSeqNode(t, "STFT", "", 17, c.ins, f32Out, c.attrs...)
			if err != nil {
				t.Fatal(err)
			}
			seqClose(t, "y", res["z"], want, []int{2, frames, bins, 2}, 1e-5, 1e-5)
		})
	}
	_, err := runSeqNode(t, "STFT", "", 17, []in{x(sig), cst("step", i64s(nil, 4))}, f32Out)
	seqRunErr(t, err, "no window nor frame_length", tensor.ErrShape)
	_, err = runSeqNode(t, "STFT", "", 17, []in{x(sig), cst("step", i64s(nil, 4)), cst("w", win), cst("fl", i64s(nil, 5))}, f32Out)
	seqRunErr(t, err, "window and frame_length disagree", tensor.ErrShape)
	_, err = runSeqNode(t, "STFT", "", 17, []in{x(sig), cst("step", i64s(nil, 0)), cst("w", win)}, f32Out)
	seqRunErr(t, err, "frame_step 0", tensor.ErrShape)
}

func TestWindows(t *testing.T) {
	for _, c := range []struct {
		op       string
		a        []float64
		size     int
		periodic int
	}{
		{"HannWindow", []float64{0.5, -0.5}, 10, 1},
		{"HannWindow", []float64{0.5, -0.5}, 7, 0},
		{"HammingWindow", []float64{25.0 / 46, -21.0 / 46}, 10, 1},
		{"HammingWindow", []float64{25.0 / 46, -21.0 / 46}, 9, 0},
		{"BlackmanWindow", []float64{0.42, -0.5, 0.08}, 12, 1},
		{"BlackmanWindow", []float64{0.42, -0.5, 0.08}, 5, 0},
	} {
		n := float64(c.size)
		if c.periodic == 0 {
			n--
		}
		want := make([]float64, c.size)
		for i := range want {
			for k, a := range c.a {
				want[i] += a * math.Cos(2*math.Pi*float64(k*i)/n)
			}
		}
		res, err := runSeqNode(t, c.op, "", 17, []in{x(i32s(nil, int32(c.size)))}, []out{{"z", onnx.Float64}},
			at("periodic", c.periodic), at("output_datatype", int(onnx.Float64)))
		if err != nil {
			t.Fatalf("%s: %v", c.op, err)
		}
		seqClose(t, c.op, res["z"], want, []int{c.size}, 1e-12, 1e-12)
	}
	res, err := runSeqNode(t, "HannWindow", "", 17, []in{x(i64s(nil, 4))}, []out{{"z", onnx.Int32}}, at("output_datatype", int(onnx.Int32)))
	if err != nil {
		t.Fatal(err)
	}
	if got := res["z"].(*tensor.Tensor[int32]).Data(); got[0] != 0 || got[1] != 0 || got[2] != 1 || got[3] != 0 {
		t.Errorf("int32 Hann window of 4: got %v, want [0 0 1 0]", got)
	}
	_, err = runSeqNode(t, "HannWindow", "", 17, []in{x(i64s(nil, 4))}, f32Out, at("output_datatype", 99))
	seqAttrErr(t, err, "output_datatype 99")
	_, err = runSeqNode(t, "HannWindow", "", 17, []in{x(i64s(nil, -1))}, f32Out)
	seqRunErr(t, err, "size -1", tensor.ErrShape)
}

// TestMelWeightMatrix checks the matrix of the ONNX test case (8 mel bins,
// a 16-point DFT at 8192 Hz, 0 to 4096 Hz), whose values the ONNX reference
// lists in onnx/backend/test/case/node/melweightmatrix.py.
func TestMelWeightMatrix(t *testing.T) {
	res, err := runSeqNode(t, "MelWeightMatrix", "", 17, []in{
		cst("m", i32s(nil, 8)), cst("d", i32s(nil, 16)), cst("s", i32s(nil, 8192)), cst("l", seqF32(nil, 0)), cst("u", seqF32(nil, 4096)),
	}, f32Out)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, 9*8)
	for i, row := range [][]int{{0, 1}, {2, 3}, {4}, {5}, {6}, {7}} {
		for _, j := range row {
			want[i*8+j] = 1
		}
	}
	seqClose(t, "mel", res["z"], want, []int{9, 8}, 0, 0)
	_, err = runSeqNode(t, "MelWeightMatrix", "", 17, []in{
		cst("m", i32s(nil, 8)), cst("d", i32s(nil, 16)), cst("s", i32s(nil, 8192)), cst("l", seqF32(nil, 100)), cst("u", seqF32(nil, 50)),
	}, f32Out)
	seqRunErr(t, err, "upper below lower", tensor.ErrShape)
}
