package exec

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
	"github.com/zerfoo/zerfoo/tensor"
)

// TestUnaryFloat64 checks the float64 path (no ORT golden covers it): the
// floatUnary ops are evaluated in float64, the others in float32 and
// widened, element by element.
func TestUnaryFloat64(t *testing.T) {
	in := []float64{4, 2, -1, 0.5, math.Inf(1), math.NaN(), 0.1}
	for _, op := range []string{"Sqrt", "Exp", "Neg", "Relu", "Floor", "Acos", "Round"} {
		t.Run(op, func(t *testing.T) {
			u := unaryOp{eng: engineUnary[op]}
			want := func(v float64) float64 { return float64(u.f(float32(v))) }
			if d := floatUnary[op]; d != nil {
				u.f, u.d, want = viaF64(d), d, d
			} else {
				u.f = signedUnary[op].f
			}
			x := tensor.Must(tensor.New([]int{7}, append([]float64(nil), in...)))
			got, err := unaryApply(context.Background(), x, u)
			if err != nil {
				t.Fatal(err)
			}
			g := got.(*tensor.Tensor[float64]).Data()
			for i, v := range in {
				want := want(v)
				if g[i] != want && !(math.IsNaN(g[i]) && math.IsNaN(want)) {
					t.Errorf("%s(%v) = %v, want %v", op, v, g[i], want)
				}
			}
		})
	}
}

// TestUnaryNaN checks that the engine ops keep NaN and the executor's
// values at ±Inf and ±0 for float32 and float16.
func TestUnaryNaN(t *testing.T) {
	in := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)), -3, 2}
	for op, eng := range engineUnary {
		f := signedUnary[op].f
		if d := floatUnary[op]; d != nil {
			f = viaF64(d)
		}
		x := tensor.Must(tensor.New([]int{len(in)}, append([]float32(nil), in...)))
		got, err := unaryApply(context.Background(), x, unaryOp{f: f, eng: eng})
		if err != nil {
			t.Fatal(err)
		}
		ulps := uint32(0)
		if op == "Exp" || op == "Sigmoid" { // the engine's exp32 is within 1 ulp
			ulps = 1
		}
		for i, v := range in {
			g, want := got.(*tensor.Tensor[float32]).Data()[i], f(v)
			d := int64(math.Float32bits(g)) - int64(math.Float32bits(want))
			if math.IsNaN(float64(want)) != math.IsNaN(float64(g)) || !math.IsNaN(float64(want)) && (d > int64(ulps) || d < -int64(ulps)) {
				t.Errorf("%s(%v) = %v, want %v", op, v, g, want)
			}
		}
		h := make([]numeric.Float16, len(in))
		numeric.Float32SliceToFloat16(h, in)
		got, err = unaryApply(context.Background(), tensor.Must(tensor.New([]int{len(in)}, h)), unaryOp{f: f, eng: eng})
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range in {
			g := got.(*tensor.Tensor[numeric.Float16]).Data()[i].Float32()
			want := numeric.Float16FromFloat32(f(v)).Float32()
			if math.IsNaN(float64(want)) != math.IsNaN(float64(g)) || !math.IsNaN(float64(want)) && g != want {
				t.Errorf("float16 %s(%v) = %v, want %v", op, v, g, want)
			}
		}
	}
}

// reduceKernels builds op's kernel (opset 18, axes as input) twice: through
// the engine and through the executor's loop, the reference.
func reduceKernels(t *testing.T, op string, keep int64) (eng, loop Kernel) {
	t.Helper()
	name, typ := "keepdims", onnxpb.AttributeProto_INT
	n := &Node{Proto: &onnxpb.NodeProto{OpType: &op, Attribute: []*onnxpb.AttributeProto{{Name: &name, Type: &typ, I: &keep}}}, Opset: 18}
	r := reduceOps[op]
	eng, err := buildReduce(r)(n)
	if err != nil {
		t.Fatal(err)
	}
	r.eng = nil
	loop, err = buildReduce(r)(n)
	if err != nil {
		t.Fatal(err)
	}
	return eng, loop
}

// TestReduceEngine checks the engine path of ReduceSum, ReduceMean and
// ReduceMax against the executor's loop: adjacent and single axes, keepdims,
// empty axes (0, NaN and -Inf), NaN, signed zeros and float16.
func TestReduceEngine(t *testing.T) {
	nan, negz := float32(math.NaN()), float32(math.Copysign(0, -1))
	x := randF32(rnd(3), 3, 4, 5)
	zeros := tensor.Must(tensor.New([]int{2, 3}, []float32{negz, 0, negz, negz, negz, negz}))
	special := tensor.Must(tensor.New([]int{2, 3}, []float32{1, nan, 2, float32(math.Inf(-1)), -5, -7}))
	empty := tensor.Must(tensor.New[float32]([]int{2, 0, 3}, nil))
	h := make([]numeric.Float16, x.Size())
	numeric.Float32SliceToFloat16(h, x.Data())
	xh := tensor.Must(tensor.New(x.Shape(), h))
	cases := []struct {
		name string
		x    tensor.Any
		axes []int64
	}{
		{"last", x, []int64{-1}},
		{"middle", x, []int64{1}},
		{"first_two", x, []int64{1, 0}},
		{"last_two", x, []int64{-2, 2}},
		{"all", x, nil},
		{"split", x, []int64{0, 2}},
		{"zeros", zeros, []int64{1}},
		{"special", special, []int64{1}},
		{"empty", empty, []int64{1}},
		{"f16", xh, []int64{1, 2}},
	}
	for _, op := range []string{"ReduceSum", "ReduceMean", "ReduceMax"} {
		for _, keep := range []int64{0, 1} {
			eng, loop := reduceKernels(t, op, keep)
			for _, c := range cases {
				t.Run(fmt.Sprintf("%s/keep%d/%s", op, keep, c.name), func(t *testing.T) {
					in := []tensor.Any{c.x, nil}
					if c.axes != nil {
						in[1] = i64s([]int{len(c.axes)}, c.axes...)
					}
					got, err := eng(context.Background(), in)
					if err != nil {
						t.Fatal(err)
					}
					want, err := loop(context.Background(), in)
					if err != nil {
						t.Fatal(err)
					}
					g, w := got[0], want[0]
					if fmt.Sprint(g.Shape()) != fmt.Sprint(w.Shape()) || g.DType() != w.DType() {
						t.Fatalf("got %v %v, want %v %v", g.DType(), g.Shape(), w.DType(), w.Shape())
					}
					gf, _ := floats(g)
					wf, _ := floats(w)
					for i := range wf {
						a, b := float64(gf[i]), float64(wf[i])
						if math.IsNaN(a) != math.IsNaN(b) || !math.IsNaN(b) && (math.Abs(a-b) > 1e-6*math.Abs(b) || math.Signbit(a) != math.Signbit(b)) {
							t.Errorf("element %d: got %v, want %v", i, a, b)
						}
					}
				})
			}
		}
	}
}

// TestSoftmaxEngine checks Softmax and LogSoftmax (opsets 11 and 13, every
// axis) against a float64 reference, and NaN for a lane holding NaN or only
// -Inf. No ORT golden covers LogSoftmax.
func TestSoftmaxEngine(t *testing.T) {
	x := randF32(rnd(4), 2, 3, 4)
	nan, inf := float32(math.NaN()), float32(math.Inf(-1))
	for _, logOut := range []bool{false, true} {
		for _, opset := range []int64{11, 13} {
			for axis := int64(-3); axis < 3; axis++ {
				name, typ := "axis", onnxpb.AttributeProto_INT
				a := axis
				k, err := buildSoftmax(logOut)(&Node{Proto: &onnxpb.NodeProto{Attribute: []*onnxpb.AttributeProto{{Name: &name, Type: &typ, I: &a}}}, Opset: opset})
				if err != nil {
					t.Fatal(err)
				}
				got, err := k(context.Background(), []tensor.Any{x})
				if err != nil {
					t.Fatal(err)
				}
				g := got[0].(*tensor.Tensor[float32]).Data()
				ax := int((axis + 3) % 3)
				s := x.Shape()
				outer, dim, inner := prod(s[:ax]), s[ax], prod(s[ax+1:])
				if opset < 13 {
					outer, dim, inner = prod(s[:ax]), prod(s[ax:]), 1
				}
				for o := 0; o < outer; o++ {
					for j := 0; j < inner; j++ {
						var sum float64
						for c := 0; c < dim; c++ {
							sum += math.Exp(float64(x.Data()[(o*dim+c)*inner+j]))
						}
						for c := 0; c < dim; c++ {
							i := (o*dim+c)*inner + j
							v := float64(x.Data()[i])
							want := math.Exp(v) / sum
							if logOut {
								want = v - math.Log(sum)
							}
							if math.Abs(float64(g[i])-want) > 1e-6*(1+math.Abs(want)) {
								t.Errorf("log=%v opset %d axis %d [%d]: got %v, want %v", logOut, opset, axis, i, g[i], want)
							}
						}
					}
				}
			}
		}
		k, _ := buildSoftmax(logOut)(&Node{Proto: &onnxpb.NodeProto{}, Opset: 13})
		got, err := k(context.Background(), []tensor.Any{tensor.Must(tensor.New([]int{3, 2}, []float32{1, nan, inf, inf, 0, 0}))})
		if err != nil {
			t.Fatal(err)
		}
		g := got[0].(*tensor.Tensor[float32]).Data()
		for i, want := range []float64{math.NaN(), math.NaN(), math.NaN(), math.NaN(), 0.5, math.Log(0.5)} {
			if i == 4 && logOut || i == 5 && !logOut {
				continue
			}
			if math.IsNaN(want) != math.IsNaN(float64(g[i])) || !math.IsNaN(want) && math.Abs(float64(g[i])-want) > 1e-6 {
				t.Errorf("log=%v special [%d]: got %v, want %v", logOut, i, g[i], want)
			}
		}
	}
}
