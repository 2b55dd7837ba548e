package exec

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// TestLayoutNHWC compiles a small QOperator CNN whose integer values also
// leave the channels-last region (a graph output read by a region op, a
// DequantizeLinear, a convolution read only by a graph output) and checks
// that layoutNHWC places the Transposes back where something outside the
// region reads a value, and that every output equals the program compiled
// without it (NoQDQFusion), bit for bit, on the third run too (whose
// outputs may use arena buffers the first two freed).
func TestLayoutNHWC(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	const n, c, h = 2, 8, 9
	b := onnx.NewBuilder("nhwc", onnx.Opset{Domain: "", Version: 13}, onnx.Opset{Domain: onnx.MicrosoftDomain, Version: 1})
	b.Input("x", onnx.Uint8, n, c, h, h)
	scalar := func(name string, v any, dt onnx.DataType) {
		var x tensor.Any
		switch v := v.(type) {
		case float32:
			x = tensor.Must(tensor.New([]int{}, []float32{v}))
		case uint8:
			x = tensor.Must(tensor.New([]int{}, []uint8{v}))
		case int8:
			x = tensor.Must(tensor.New([]int{}, []int8{v}))
		}
		b.AddInitializer(tensorProto(name, x, dt))
	}
	scalar("s", float32(0.05), onnx.Float32)
	scalar("z", uint8(120), onnx.Uint8)
	scalar("ws", float32(0.004), onnx.Float32)
	scalar("wz", int8(0), onnx.Int8)
	weights := func(name string, m, k int) {
		w := make([]int8, m*c*k*k)
		for i := range w {
			w[i] = int8(r.IntN(255) - 127)
		}
		b.AddInitializer(tensorProto(name, tensor.Must(tensor.New([]int{m, c, k, k}, w)), onnx.Int8))
		bias := make([]int32, m)
		for i := range bias {
			bias[i] = int32(r.IntN(2000) - 1000)
		}
		b.AddInitializer(tensorProto(name+"_b", tensor.Must(tensor.New([]int{m}, bias)), onnx.Int32))
	}
	weights("w1", c, 3)
	weights("w2", c, 1)
	weights("w3", 4, 3)
	conv := func(name, x, w string, pad int) {
		b.AddNode(onnx.Node{Name: name, Op: "QLinearConv", Inputs: []string{x, "s", "z", w, "ws", "wz", "s", "z", w + "_b"}, Outputs: []string{name},
			Attrs: []onnx.Attr{{Name: "pads", Value: []int{pad, pad, pad, pad}}}})
	}
	conv("c1", "x", "w1", 1)
	b.AddNode(onnx.Node{Name: "mp", Op: "MaxPool", Inputs: []string{"c1"}, Outputs: []string{"mp"},
		Attrs: []onnx.Attr{{Name: "kernel_shape", Value: []int{3, 3}}, {Name: "strides", Value: []int{2, 2}}, {Name: "pads", Value: []int{1, 1, 1, 1}}}})
	conv("c2", "mp", "w2", 0)
	b.AddNode(onnx.Node{Name: "add", Op: "QLinearAdd", Domain: onnx.MicrosoftDomain, Inputs: []string{"c2", "s", "z", "mp", "s", "z", "s", "z"}, Outputs: []string{"add"}})
	b.AddNode(onnx.Node{Name: "gap", Op: "QLinearGlobalAveragePool", Domain: onnx.MicrosoftDomain, Inputs: []string{"add", "s", "z", "s", "z"}, Outputs: []string{"gap"}})
	b.AddNode(onnx.Node{Name: "dq", Op: "DequantizeLinear", Inputs: []string{"add", "s", "z"}, Outputs: []string{"f"}})
	conv("c3", "add", "w3", 1)
	for _, o := range []string{"c1", "gap", "c3"} {
		b.Output(o, onnx.Uint8)
	}
	b.Output("f", onnx.Float32)
	mp, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	m := onnx.New(mp, onnx.ReadOptions{})
	nhwc, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Compile(m, NoQDQFusion())
	if err != nil {
		t.Fatal(err)
	}
	var transposes []string
	for _, st := range nhwc.main.steps {
		if st.op == "Transpose" {
			transposes = append(transposes, st.name)
		}
	}
	if want := "[c1/nchw add/nchw gap/nchw]"; fmt.Sprint(transposes) != want {
		t.Errorf("Transposes %v, want %s", transposes, want)
	}
	x := make([]uint8, n*c*h*h)
	for i := range x {
		x[i] = uint8(r.IntN(256))
	}
	feeds := map[string]tensor.Any{"x": tensor.Must(tensor.New([]int{n, c, h, h}, x))}
	// the last of three runs, whose outputs may use buffers the first two freed
	var got map[string]tensor.Any
	for range 3 {
		if got, err = nhwc.Run(context.Background(), feeds); err != nil {
			t.Fatal(err)
		}
	}
	want, err := plain.Run(context.Background(), feeds)
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range want {
		g := got[name]
		if !tensor.SameShape(g.Shape(), w.Shape()) {
			t.Fatalf("%s: shape %v, want %v", name, g.Shape(), w.Shape())
		}
		gv, _ := floats(g)
		wv, _ := floats(w)
		distinct := map[float32]bool{}
		for i := range wv {
			if gv[i] != wv[i] {
				t.Fatalf("%s[%d] = %v, want %v", name, i, gv[i], wv[i])
			}
			distinct[wv[i]] = true
		}
		if len(wv) > 8 && len(distinct) < 4 {
			t.Errorf("%s has %d distinct values: the test data is degenerate", name, len(distinct))
		}
	}
}

// TestMaxPoolNHWC checks MaxPool on channels-last uint8 and int8 codes
// against the generic pooling loop on the NCHW tensor, over strides, pads
// (with ceil mode) and dilations, and through the node in each attrNHWC
// mode.
func TestMaxPoolNHWC(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	ctx := context.Background()
	for _, tc := range []struct{ n, c, h, w, k, s, p, d int }{
		{1, 64, 12, 12, 3, 2, 1, 1}, {2, 3, 7, 9, 3, 1, 1, 1}, {1, 5, 8, 8, 2, 2, 0, 1}, {1, 70, 9, 7, 3, 2, 2, 2}, {2, 1, 4, 4, 1, 1, 0, 1},
	} {
		for _, ceil := range []bool{false, true} {
			w := &window{op: "MaxPool", autoPad: "NOTSET", kernel: []int{tc.k, tc.k}, strides: []int{tc.s, tc.s}, dilations: []int{tc.d, tc.d},
				pads: []int{tc.p, tc.p, tc.p, tc.p}, ceil: ceil}
			g, err := w.resolve([]int{tc.h, tc.w}, nil)
			if err != nil {
				t.Fatal(err)
			}
			os := append([]int{tc.n, tc.c}, g.out...)
			u := make([]uint8, tc.n*tc.c*tc.h*tc.w)
			for i := range u {
				u[i] = uint8(r.IntN(256))
			}
			s := make([]int8, len(u))
			for i, v := range u {
				s[i] = int8(v)
			}
			wantU, err := poolT(ctx, u, os, g, poolSpec{kind: poolMax}, nil)
			if err != nil {
				t.Fatal(err)
			}
			wantS, err := poolT(ctx, s, os, g, poolSpec{kind: poolMax}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range []tensor.Any{tensor.Must(tensor.New([]int{tc.n, tc.c, tc.h, tc.w}, u)), tensor.Must(tensor.New([]int{tc.n, tc.c, tc.h, tc.w}, s))} {
				xt, err := transpose(ctx, in, []int{0, 2, 3, 1})
				if err != nil {
					t.Fatal(err)
				}
				y, err := maxPoolNHWC(ctx, xt, w)
				if err != nil {
					t.Fatal(err)
				}
				if y, err = transpose(ctx, y, []int{0, 3, 1, 2}); err != nil {
					t.Fatal(err)
				}
				check := func(what string, y tensor.Any) {
					t.Helper()
					got, _ := floats(y)
					for i := range got {
						want := float32(wantU[i])
						if in.DType() == numeric.Int8 {
							want = float32(wantS[i])
						}
						if got[i] != want {
							t.Fatalf("%+v ceil %v %s %s: y[%d] = %v, generic %v", tc, ceil, in.DType(), what, i, got[i], want)
						}
					}
				}
				check("maxPoolNHWC", y)
				if ceil || tc.d != 1 {
					continue
				}
				for mode := 1; mode <= 3; mode++ {
					b := onnx.NewBuilder("mp", onnx.Opset{Domain: "", Version: 13})
					x, dt := in, onnx.Uint8
					if in.DType() == numeric.Int8 {
						dt = onnx.Int8
					}
					if mode&nhwcIn != 0 {
						x = xt
					}
					var dims []any
					for _, d := range x.Shape() {
						dims = append(dims, d)
					}
					b.Input("x", dt, dims...)
					b.AddNode(onnx.Node{Name: "mp", Op: "MaxPool", Inputs: []string{"x"}, Outputs: []string{"y"},
						Attrs: []onnx.Attr{{Name: "kernel_shape", Value: []int{tc.k, tc.k}}, {Name: "strides", Value: []int{tc.s, tc.s}},
							{Name: "pads", Value: []int{tc.p, tc.p, tc.p, tc.p}}, {Name: attrNHWC, Value: mode}}})
					b.Output("y", dt)
					mp, err := b.Model()
					if err != nil {
						t.Fatal(err)
					}
					p, err := Compile(onnx.New(mp, onnx.ReadOptions{}))
					if err != nil {
						t.Fatal(err)
					}
					out, err := p.Run(ctx, map[string]tensor.Any{"x": x})
					if err != nil {
						t.Fatal(err)
					}
					y := out["y"]
					if mode&nhwcOut != 0 {
						if y, err = transpose(ctx, y, []int{0, 3, 1, 2}); err != nil {
							t.Fatal(err)
						}
					}
					check(fmt.Sprintf("node, %s %d", attrNHWC, mode), y)
				}
			}
		}
	}
}
