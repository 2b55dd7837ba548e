package exec

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// TestQConvFast checks the packed QLinearConv (constant weights and
// parameters: qconv) against the general kernel (the same node with every
// input fed at run time) on random data: padding, strides, dilations, 1×1
// and 7×7 kernels, odd channel counts, int8 and uint8 data and weights,
// per-channel scales, a nonzero weight zero point, with and without bias;
// and both on the channels-last layouts of attrNHWC.
func TestQConvFast(t *testing.T) {
	cases := []struct {
		n, c, h, w, m, k, stride, pad, dil int
		xU8, wU8, bias                     bool
		wzp                                int
	}{
		{1, 3, 15, 13, 8, 7, 2, 3, 1, true, false, true, 0},
		{2, 3, 13, 13, 8, 7, 2, 0, 1, true, false, true, 0}, // windows reaching the end of the image
		{2, 16, 9, 9, 20, 3, 1, 1, 1, true, false, true, 0},
		{1, 16, 9, 9, 17, 3, 2, 1, 1, true, false, false, 0},
		{2, 32, 8, 8, 16, 1, 1, 0, 1, true, false, true, 0},
		{1, 32, 8, 8, 16, 1, 2, 0, 1, true, false, true, 0},
		{1, 5, 10, 11, 6, 3, 1, 2, 2, false, false, true, 0},
		{1, 6, 7, 7, 4, 3, 1, 1, 1, true, true, true, 130},
		{1, 6, 7, 7, 4, 3, 1, 1, 1, false, false, true, -3},
		{1, 64, 6, 6, 70, 3, 1, 1, 1, true, false, true, 0},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(tc.c), uint64(tc.m)))
			xDT, wDT := onnx.Int8, onnx.Int8
			if tc.xU8 {
				xDT = onnx.Uint8
			}
			if tc.wU8 {
				wDT = onnx.Uint8
			}
			codes := func(sh []int, u8 bool) tensor.Any {
				n := prod(sh)
				if u8 {
					d := make([]uint8, n)
					for i := range d {
						d[i] = uint8(r.IntN(256))
					}
					return tensor.Must(tensor.New(sh, d))
				}
				d := make([]int8, n)
				for i := range d {
					d[i] = int8(r.IntN(255) - 127)
				}
				return tensor.Must(tensor.New(sh, d))
			}
			x := codes([]int{tc.n, tc.c, tc.h, tc.w}, tc.xU8)
			wt := codes([]int{tc.m, tc.c, tc.k, tc.k}, tc.wU8)
			ws := make([]float32, tc.m)
			for i := range ws {
				ws[i] = 0.001 + 0.01*r.Float32()
			}
			bias := make([]int32, tc.m)
			for i := range bias {
				bias[i] = int32(r.IntN(20000) - 10000)
			}
			xzp, wzp := []int8{3}, []int8{int8(tc.wzp)}
			xzpU, wzpU := []uint8{117}, []uint8{uint8(tc.wzp)}
			vals := map[string]tensor.Any{
				"xs": tensor.Must(tensor.New([]int{}, []float32{0.02})), "w": wt,
				"ws": tensor.Must(tensor.New([]int{tc.m}, ws)), "ys": tensor.Must(tensor.New([]int{}, []float32{0.5})),
				"yz": tensor.Must(tensor.New([]int{}, []uint8{100})), "b": tensor.Must(tensor.New([]int{tc.m}, bias)),
			}
			types := map[string]onnx.DataType{"xs": onnx.Float32, "xz": xDT, "w": wDT, "ws": onnx.Float32, "wz": wDT, "ys": onnx.Float32, "yz": onnx.Uint8, "b": onnx.Int32}
			if tc.xU8 {
				vals["xz"] = tensor.Must(tensor.New([]int{}, xzpU))
			} else {
				vals["xz"] = tensor.Must(tensor.New([]int{}, xzp))
			}
			if tc.wU8 {
				vals["wz"] = tensor.Must(tensor.New([]int{}, wzpU))
			} else {
				vals["wz"] = tensor.Must(tensor.New([]int{}, wzp))
			}
			names := []string{"x", "xs", "xz", "w", "ws", "wz", "ys", "yz"}
			if tc.bias {
				names = append(names, "b")
			}
			// run runs the fast kernel (consts) or the general one, on the
			// layouts of attrNHWC mode (the result back in NCHW)
			run := func(consts bool, mode int) *tensor.Tensor[uint8] {
				b := onnx.NewBuilder("qconv", onnx.Opset{Domain: "", Version: 13})
				feeds := map[string]tensor.Any{"x": x}
				if mode&nhwcIn != 0 {
					b.Input("x", xDT, tc.n, tc.h, tc.w, tc.c)
					xt, err := transpose(context.Background(), x, []int{0, 2, 3, 1})
					if err != nil {
						t.Fatal(err)
					}
					feeds["x"] = xt
				} else {
					b.Input("x", xDT, tc.n, tc.c, tc.h, tc.w)
				}
				for _, n := range names[1:] {
					if consts {
						b.AddInitializer(tensorProto(n, vals[n], types[n]))
					} else {
						var dims []any
						for _, d := range vals[n].Shape() {
							dims = append(dims, d)
						}
						b.Input(n, types[n], dims...)
						feeds[n] = vals[n]
					}
				}
				b.AddNode(onnx.Node{Name: "conv", Op: "QLinearConv", Inputs: names, Outputs: []string{"y"}, Attrs: []onnx.Attr{
					{Name: "strides", Value: []int{tc.stride, tc.stride}}, {Name: "pads", Value: []int{tc.pad, tc.pad, tc.pad, tc.pad}},
					{Name: "dilations", Value: []int{tc.dil, tc.dil}}, {Name: attrNHWC, Value: mode}}})
				b.Output("y", onnx.Uint8)
				mp, err := b.Model()
				if err != nil {
					t.Fatal(err)
				}
				p, err := Compile(onnx.New(mp, onnx.ReadOptions{}))
				if err != nil {
					t.Fatal(err)
				}
				out, err := p.Run(context.Background(), feeds)
				if err != nil {
					t.Fatal(err)
				}
				y := out["y"]
				if mode&nhwcOut != 0 {
					if y, err = transpose(context.Background(), y, []int{0, 3, 1, 2}); err != nil {
						t.Fatal(err)
					}
				}
				return y.(*tensor.Tensor[uint8])
			}
			w := run(false, 0)
			for _, v := range []struct {
				consts bool
				mode   int
			}{{true, 0}, {true, 1}, {true, 2}, {true, 3}, {false, 3}} {
				g := run(v.consts, v.mode)
				if !tensor.SameShape(g.Shape(), w.Shape()) {
					t.Fatalf("packed %v, %s %d: shape %v, want %v", v.consts, attrNHWC, v.mode, g.Shape(), w.Shape())
				}
				for i, want := range w.Data() {
					if g.Data()[i] != want {
						t.Fatalf("packed %v, %s %d: y[%d] = %d, general kernel %d", v.consts, attrNHWC, v.mode, i, g.Data()[i], want)
					}
				}
			}
		})
	}
}

// TestMaxPool2DU8 checks the uint8 MaxPool against the generic pooling
// loop over strides, pads (with ceil mode) and dilations.
func TestMaxPool2DU8(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct{ h, w, k, s, p, d int }{
		{112, 112, 3, 2, 1, 1}, {7, 9, 3, 1, 1, 1}, {8, 8, 2, 2, 0, 1}, {9, 7, 3, 2, 2, 2}, {5, 6, 3, 3, 1, 1}, {4, 4, 1, 1, 0, 1},
	} {
		for _, ceil := range []bool{false, true} {
			w := &window{op: "MaxPool", autoPad: "NOTSET", kernel: []int{tc.k, tc.k}, strides: []int{tc.s, tc.s}, dilations: []int{tc.d, tc.d},
				pads: []int{tc.p, tc.p, tc.p, tc.p}, ceil: ceil}
			g, err := w.resolve([]int{tc.h, tc.w}, nil)
			if err != nil {
				t.Fatal(err)
			}
			x := make([]uint8, 3*tc.h*tc.w)
			for i := range x {
				x[i] = uint8(r.IntN(256))
			}
			got, err := maxPool2DU8(context.Background(), x, 3, g)
			if err != nil {
				t.Fatal(err)
			}
			want, err := poolT(context.Background(), x, append([]int{1, 3}, g.out...), g, poolSpec{kind: poolMax}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range want {
				if got[i] != v {
					t.Fatalf("%+v ceil %v: y[%d] = %d, generic %d", tc, ceil, i, got[i], v)
				}
			}
		}
	}
}

// TestTransposeBytes checks the tiled byte transpose on sizes around the
// tile size.
func TestTransposeBytes(t *testing.T) {
	for _, sz := range [][2]int{{1, 1}, {3, 50}, {16, 16}, {17, 33}, {64, 9}, {40, 40}} {
		r, n := sz[0], sz[1]
		src := make([]uint8, r*n)
		for i := range src {
			src[i] = uint8(i * 7)
		}
		ld := r + 3
		dst := make([]uint8, n*ld)
		transposeBytes(dst, ld, src, n, r, n)
		for i := range ld {
			for j := range n {
				want := uint8(0)
				if i < r {
					want = src[i*n+j]
				}
				if dst[j*ld+i] != want {
					t.Fatalf("%d×%d: dst[%d][%d] = %d, want %d", r, n, j, i, dst[j*ld+i], want)
				}
			}
		}
	}
}
