package exec

import (
	"context"
	"fmt"
	"testing"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// TestConvPackedAgainstNaive compiles each Conv of convCases (and larger
// ones: several K blocks of the GEMM, several im2col blocks, groups) with
// constant weights, so that it runs on weights packed at compile time, and
// checks it against the definition.
func TestConvPackedAgainstNaive(t *testing.T) {
	r := rnd(41)
	cases := append([]convCase{
		{x: []int{1, 48, 40, 37}, w: []int{5, 48, 3, 3}, strides: []int{1, 1}, dil: []int{1, 1}, pads: []int{1, 2, 0, 1}, group: 1, bias: true},
		{x: []int{2, 12, 11, 9}, w: []int{9, 4, 3, 3}, strides: []int{2, 2}, dil: []int{1, 1}, pads: []int{1, 1, 1, 1}, group: 3},
		{x: []int{1, 420, 3, 3}, w: []int{13, 420, 1, 1}, strides: []int{1, 1}, dil: []int{1, 1}, pads: []int{0, 0, 0, 0}, group: 1, bias: true},
		{x: []int{1, 6, 5, 5}, w: []int{4, 3, 1, 1}, strides: []int{2, 2}, dil: []int{1, 1}, pads: []int{0, 0, 0, 0}, group: 2},
	}, convCases...)
	for i, c := range cases {
		t.Run(fmt.Sprintf("conv%d", i), func(t *testing.T) {
			x, w := randN(r, c.x...), randN(r, c.w...)
			consts := map[string]*tensor.Tensor[float32]{"w": w}
			ins := []string{"x", "w"}
			var bv []float64
			if c.bias {
				b := randN(r, c.w[0])
				consts["b"] = b
				ins = append(ins, "b")
				bv = f64s(b.Data())
			}
			fg := fuseGraph{nodes: []onnx.Node{node("conv", "Conv", ins, []string{"y"},
				at("strides", i64(c.strides)), at("dilations", i64(c.dil)), at("pads", i64(c.pads)), at("group", int64(c.group)))},
				consts: consts, inputs: map[string]*tensor.Tensor[float32]{"x": x}}
			p, err := Compile(fg.model(t))
			if err != nil {
				t.Fatal(err)
			}
			if f := p.main.steps[0].fuse; f == nil || f.packed == nil && !(c.group > 1 && c.x[1] == c.group && len(c.x) == 4) {
				t.Fatalf("weights not packed")
			}
			got, err := p.Run(context.Background(), map[string]tensor.Any{"x": x})
			if err != nil {
				t.Fatal(err)
			}
			nd := len(c.x) - 2
			want, ws := naiveConv(f64s(x.Data()), f64s(w.Data()), c.x, c.w, bv, c.strides, c.dil, c.pads[:nd], c.pads[nd:], c.group)
			if !tensor.SameShape(got["y"].Shape(), ws) {
				t.Fatalf("shape %v, want %v", got["y"].Shape(), ws)
			}
			closeTo(t, "Conv", got["y"].(*tensor.Tensor[float32]).Data(), want, 1e-4)
		})
	}
}
