package exec

import (
	"context"
	"math"
	"testing"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// TestUnaryFloat64 checks the float64 path (no ORT golden covers it): the
// op is evaluated in float32 and widened, element by element.
func TestUnaryFloat64(t *testing.T) {
	in := []float64{4, 2, -1, 0.5, math.Inf(1), math.NaN()}
	for _, op := range []string{"Sqrt", "Exp", "Neg", "Relu", "Floor"} {
		t.Run(op, func(t *testing.T) {
			f := floatUnary[op]
			if f == nil {
				f = signedUnary[op].f
			}
			x := tensor.Must(tensor.New([]int{2, 3}, append([]float64(nil), in...)))
			got, err := unaryApply(context.Background(), x, unaryOp{f: f, eng: engineUnary[op]})
			if err != nil {
				t.Fatal(err)
			}
			g := got.(*tensor.Tensor[float64]).Data()
			for i, v := range in {
				want := float64(f(float32(v)))
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
		f := floatUnary[op]
		if f == nil {
			f = signedUnary[op].f
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
