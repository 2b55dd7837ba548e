package exec

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
	"github.com/zerfoo/zerfoo/tensor"
)

// naivePool is the definition of the pools over one plane per N·C with
// explicit pads: the window of output o covers o·s−pb+k·d.
func naivePool(x []float32, xs, k, s, d, pb, pe []int, kind poolKind, includePad bool, p float64) ([]float64, []int64, []int) {
	nd := len(xs) - 2
	out := make([]int, nd)
	for i := range nd {
		out[i] = (xs[i+2]+pb[i]+pe[i]-((k[i]-1)*d[i]+1))/s[i] + 1
	}
	ys := append([]int{xs[0], xs[1]}, out...)
	y := make([]float64, prod(ys))
	idx := make([]int64, prod(ys))
	eachIndex(ys, func(yi []int) {
		best, at, sum, cnt := math.Inf(-1), -1, 0.0, 0
		eachIndex(k, func(ki []int) {
			xi := []int{yi[0], yi[1]}
			inside, inPadded := true, true
			for i := range nd {
				q := yi[i+2]*s[i] + ki[i]*d[i] - pb[i]
				inside = inside && q >= 0 && q < xs[i+2]
				inPadded = inPadded && q >= -pb[i] && q < xs[i+2]+pe[i]
				xi = append(xi, q)
			}
			if !inside {
				if inPadded && includePad {
					cnt++
				}
				return
			}
			v := float64(x[flat(xs, xi)])
			if v > best {
				best, at = v, flat(xs, xi)
			}
			sum += v
			if kind == poolLp {
				sum += math.Pow(math.Abs(v), p) - v
			}
			cnt++
		})
		o := flat(ys, yi)
		switch kind {
		case poolMax:
			y[o], idx[o] = best, int64(at)
		case poolAvg:
			y[o] = sum / float64(cnt)
		case poolLp:
			y[o] = math.Pow(sum, 1/p)
		}
	})
	return y, idx, ys
}

// TestPoolAgainstNaive checks MaxPool (values and indices), AveragePool
// (with and without count_include_pad) and LpPool against the definition.
func TestPoolAgainstNaive(t *testing.T) {
	r := rnd(21)
	ctx := context.Background()
	for _, c := range []struct {
		xs, k, s, d, pads []int
	}{
		{[]int{2, 3, 7, 6}, []int{3, 2}, []int{2, 1}, []int{1, 2}, []int{1, 0, 1, 1}},
		{[]int{1, 2, 9}, []int{4}, []int{3}, []int{1}, []int{2, 1}},
		{[]int{1, 2, 4, 5, 3}, []int{2, 3, 2}, []int{1, 2, 1}, []int{1, 1, 1}, []int{1, 1, 0, 0, 1, 1}},
	} {
		x := randN(r, c.xs...)
		nd := len(c.xs) - 2
		attrs := []onnx.Attr{at("kernel_shape", i64(c.k)), at("strides", i64(c.s)), at("dilations", i64(c.d)), at("pads", i64(c.pads))}
		for _, kind := range []poolKind{poolMax, poolAvg, poolLp} {
			for _, inc := range []bool{false, true} {
				if inc && kind != poolAvg {
					continue
				}
				a := attrs
				if inc {
					a = append(a[:len(a):len(a)], at("count_include_pad", int64(1)))
				}
				if kind == poolLp {
					a = append(a[:len(a):len(a)], at("p", int64(3)))
				}
				got, err := mustKernel(t, poolNames[kind], 19, a...)(ctx, []tensor.Any{x})
				if err != nil {
					t.Fatal(err)
				}
				want, idx, ys := naivePool(x.Data(), c.xs, c.k, c.s, c.d, c.pads[:nd], c.pads[nd:], kind, inc, 3)
				if !tensor.SameShape(got[0].Shape(), ys) {
					t.Fatalf("%s %v: shape %v, want %v", poolNames[kind], c.xs, got[0].Shape(), ys)
				}
				closeTo(t, poolNames[kind], got[0].(*tensor.Tensor[float32]).Data(), want, 1e-5)
				if kind == poolMax {
					gi := got[1].(*tensor.Tensor[int64]).Data()
					for i := range gi {
						if gi[i] != idx[i] {
							t.Fatalf("MaxPool %v: index [%d] got %d, want %d", c.xs, i, gi[i], idx[i])
						}
					}
				}
				if kind != poolLp { // without Indices 2-D pools take pool2D
					k := mustKernel(t, poolNames[kind], 19, a...)
					var err error
					if kind == poolMax {
						k, err = maxPoolValuesOnly(a)
						if err != nil {
							t.Fatal(err)
						}
					}
					got, err := k(ctx, []tensor.Any{x})
					if err != nil {
						t.Fatal(err)
					}
					if len(got) != 1 && kind == poolMax {
						t.Fatalf("MaxPool without an Indices output gave %d outputs", len(got))
					}
					closeTo(t, poolNames[kind]+" values only", got[0].(*tensor.Tensor[float32]).Data(), want, 1e-5)
				}
			}
		}
	}
}

// TestMaxPoolStorageOrder checks column-major Indices and int8 input.
func TestMaxPoolStorageOrder(t *testing.T) {
	x := tensor.Must(tensor.New([]int{1, 1, 2, 3}, []int8{1, 9, 3, -4, 5, 60}))
	got, err := mustKernel(t, "MaxPool", 12, at("kernel_shape", []int64{2, 2}), at("storage_order", int64(1)))(context.Background(), []tensor.Any{x})
	if err != nil {
		t.Fatal(err)
	}
	// windows: cols 0-1 → max 9 at (0,1): column-major 0·1+1·2 = 2; cols 1-2 → 60 at (1,2): 1+2·2 = 5
	if y, i := got[0].(*tensor.Tensor[int8]).Data(), got[1].(*tensor.Tensor[int64]).Data(); y[0] != 9 || y[1] != 60 || i[0] != 2 || i[1] != 5 {
		t.Fatalf("got %v %v, want [9 60] [2 5]", y, i)
	}
}

func TestPoolErrors(t *testing.T) {
	ctx := context.Background()
	x := randN(rnd(22), 1, 2, 4, 4)
	for _, c := range []struct {
		name, op string
		attrs    []onnx.Attr
		in       []tensor.Any
		want     string
	}{
		{"no kernel_shape", "MaxPool", nil, nil, "kernel_shape"},
		{"storage_order", "MaxPool", []onnx.Attr{at("kernel_shape", []int64{2, 2}), at("storage_order", int64(2))}, nil, "storage_order"},
		{"kernel too big", "MaxPool", []onnx.Attr{at("kernel_shape", []int64{5, 2})}, []tensor.Any{x}, "larger than the padded input"},
		{"kernel rank", "AveragePool", []onnx.Attr{at("kernel_shape", []int64{2})}, []tensor.Any{x}, "spatial dims"},
		{"rank", "AveragePool", []onnx.Attr{at("kernel_shape", []int64{2})}, []tensor.Any{randN(rnd(1), 4, 4)}, "N×C×D1"},
		{"lp p", "LpPool", []onnx.Attr{at("kernel_shape", []int64{2, 2}), at("p", int64(0))}, nil, "p 0"},
		{"int avg", "AveragePool", []onnx.Attr{at("kernel_shape", []int64{2, 2})}, []tensor.Any{tensor.Must(tensor.New([]int{1, 1, 2, 2}, []int8{1, 2, 3, 4}))}, "float"},
		{"unpool index", "MaxUnpool", []onnx.Attr{at("kernel_shape", []int64{2, 2}), at("strides", []int64{2, 2})},
			[]tensor.Any{randN(rnd(1), 1, 1, 1, 1), tensor.Must(tensor.New([]int{1, 1, 1, 1}, []int64{4}))}, "out of range"},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, err := opKernel(t, c.op, 19, c.attrs...)
			if err == nil {
				if c.in == nil {
					t.Fatal("no compile error")
				}
				_, err = k(ctx, c.in)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error about %q", err, c.want)
			}
		})
	}
}

// TestPoolHugeWindow checks that a window far larger than its input costs
// only the positions that read the input (here 2^62 kernel offsets, 25 of
// them in the image).
func TestPoolHugeWindow(t *testing.T) {
	big := int64(1) << 31
	x := randN(rnd(23), 1, 1, 5, 5)
	for _, op := range []string{"MaxPool", "AveragePool"} {
		k := mustKernel(t, op, 19, at("kernel_shape", []int64{big, big}), at("pads", []int64{big - 5, big - 5, big - 5, big - 5}),
			at("strides", []int64{big, big}), at("count_include_pad", int64(0)))
		if op == "MaxPool" {
			k = mustKernel(t, op, 19, at("kernel_shape", []int64{big, big}), at("pads", []int64{big - 5, big - 5, big - 5, big - 5}), at("strides", []int64{big, big}))
		}
		got, err := k(context.Background(), []tensor.Any{x})
		if err != nil {
			t.Fatal(err)
		}
		want := math.Inf(-1)
		sum := 0.0
		for _, v := range x.Data() {
			want = max(want, float64(v))
			sum += float64(v)
		}
		if op == "AveragePool" {
			want = sum / 25
		}
		if g := got[0].(*tensor.Tensor[float32]).Data(); len(g) != 1 || math.Abs(float64(g[0])-want) > 1e-5 {
			t.Fatalf("%s: got %v, want [%v]", op, g, want)
		}
	}
}

// maxPoolValuesOnly builds a MaxPool node without its Indices output.
func maxPoolValuesOnly(attrs []onnx.Attr) (Kernel, error) {
	op := "MaxPool"
	p := &onnxpb.NodeProto{OpType: &op, Output: []string{"y"}}
	for _, a := range attrs {
		ap, err := onnx.NewAttribute(a.Name, a.Value)
		if err != nil {
			return nil, err
		}
		p.Attribute = append(p.Attribute, ap)
	}
	return lookup("", op, 19)(&Node{Proto: p, Name: "n", Opset: 19})
}

// TestMaxPool2DNaN checks the float32 MaxPool fast path against pool2D on
// windows with NaNs: a NaN is skipped, an all-NaN window gives −Inf.
func TestMaxPool2DNaN(t *testing.T) {
	for _, c := range []struct {
		h, w, nan int // every nan-th element is NaN
		win       *window
	}{
		{7, 8, 5, &window{op: "MaxPool", kernel: []int{3, 2}, strides: []int{2, 1}, dilations: []int{1, 2}, pads: []int{1, 0, 1, 1}}},
		// rows wide enough for whole vectors of simd.MaxInto
		{9, 45, 29, &window{op: "MaxPool", kernel: []int{3, 3}, strides: []int{2, 2}, pads: []int{1, 1, 1, 1}}},
		{6, 70, 41, &window{op: "MaxPool", kernel: []int{2, 3}, strides: []int{1, 2}, dilations: []int{1, 3}}},
	} {
		r := rnd(23)
		hw := c.h * c.w
		x := randN(r, 2, 3, c.h, c.w).Data()
		for i := range x {
			if i%c.nan == 0 || i >= hw && i < hw+3*c.w { // plane 1's first rows: all NaN
				x[i] = float32(math.NaN())
			}
		}
		g, err := c.win.resolve([]int{c.h, c.w}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := maxPool2D(context.Background(), x, 6, g)
		if err != nil {
			t.Fatal(err)
		}
		want, err := pool2D(context.Background(), x, 6, g, poolSpec{kind: poolMax})
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%dx%d: y[%d] = %v, want %v", c.h, c.w, i, got[i], want[i])
			}
		}
	}
}
