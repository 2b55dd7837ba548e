package exec

import (
	"context"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/internal/simd"
	"github.com/zerfoo/zerfoo/internal/workerpool"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// engine computes float32 matrix products (its MatMul has NumPy semantics).
var engine = compute.NewCPUEngine[float32](numeric.Float32Ops{})

func init() {
	Register("", "MatMul", 1, 0, func(*Node) (Kernel, error) { return one(matmul), nil })
	Register("", "Gemm", 7, 0, buildGemm)
	Register("", "LayerNormalization", 17, 0, buildLayerNorm(false, false))
	Register("", "SimplifiedLayerNormalization", 1, 0, buildLayerNorm(true, false))
	Register(onnx.MicrosoftDomain, "SkipSimplifiedLayerNormalization", 1, 0, buildLayerNorm(true, true))
	Register(onnx.MicrosoftDomain, "SkipLayerNormalization", 1, 0, buildLayerNorm(false, true))
}

// f32Tensor returns x as a float32 tensor (converting other float types).
func f32Tensor(x tensor.Any) (*tensor.Tensor[float32], error) {
	if t, ok := x.(*tensor.Tensor[float32]); ok {
		return t, nil
	}
	if !isFloat(x.DType()) {
		return nil, typeErr("element type %s, want a float type", x.DType())
	}
	d, err := floats(x)
	if err != nil {
		return nil, err
	}
	return tensor.New(x.Shape(), d)
}

func matmul(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
	if err := need(in, 2); err != nil {
		return nil, err
	}
	if in[0].DType() != in[1].DType() {
		return nil, typeErr("MatMul of %s and %s", in[0].DType(), in[1].DType())
	}
	if os := matmulShape(in[0].Shape(), in[1].Shape()); os != nil {
		dt := in[0].DType()
		per := 4 // the float32 product
		if dt != numeric.Float32 {
			per += dt.Size()
		}
		if err := checkWork(ctx, per, dt, os); err != nil {
			return nil, err
		}
	}
	a, err := f32Tensor(in[0])
	if err != nil {
		return nil, err
	}
	b, err := f32Tensor(in[1])
	if err != nil {
		return nil, err
	}
	y, err := engine.MatMul(ctx, a, b)
	if err != nil {
		return nil, err
	}
	if in[0].DType() == numeric.Float32 {
		return y, nil
	}
	return fromFloats(in[0].DType(), y.Shape(), y.Data())
}

// matmulShape returns the shape of the NumPy matrix product of shapes a
// and b, or nil when they do not multiply (the engine reports why).
func matmulShape(a, b []int) []int {
	if len(a) == 0 || len(b) == 0 {
		return nil
	}
	pa, pb := a, b
	if len(pa) == 1 {
		pa = []int{1, pa[0]}
	}
	if len(pb) == 1 {
		pb = []int{pb[0], 1}
	}
	if pa[len(pa)-1] != pb[len(pb)-2] {
		return nil
	}
	os, err := broadcastShape(pa[:len(pa)-2], pb[:len(pb)-2])
	if err != nil {
		return nil
	}
	if len(a) > 1 {
		os = append(os, pa[len(pa)-2])
	}
	if len(b) > 1 {
		os = append(os, pb[len(pb)-1])
	}
	return os
}

func buildGemm(n *Node) (Kernel, error) {
	alpha, err := n.Float("alpha", 1)
	if err != nil {
		return nil, err
	}
	beta, err := n.Float("beta", 1)
	if err != nil {
		return nil, err
	}
	ta, err := n.Int("transA", 0)
	if err != nil {
		return nil, err
	}
	tb, err := n.Int("transB", 0)
	if err != nil {
		return nil, err
	}
	// A constant B^T (a fully connected layer's weights, as exporters write
	// them) is transposed once here rather than on every run.
	var bT tensor.Any
	if b := n.Const(1); b != nil && tb != 0 && b.Dims() == 2 {
		if bT, err = transpose(context.Background(), b, []int{1, 0}); err != nil {
			return nil, err
		}
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		if in[0].Dims() != 2 || in[1].Dims() != 2 {
			return nil, shapeErr("Gemm of shapes %v and %v, want matrices", in[0].Shape(), in[1].Shape())
		}
		a, b := in[0], in[1]
		tb := tb
		if bT != nil {
			b, tb = bT, 0
		}
		m, nn := a.Shape()[0], b.Shape()[1]
		if ta != 0 {
			m = a.Shape()[1]
		}
		if tb != 0 {
			nn = b.Shape()[0]
		}
		// the product, its scaled copy, C's index table, the output
		if err := checkWork(ctx, 4+4+8+a.DType().Size(), a.DType(), []int{m, nn}); err != nil {
			return nil, err
		}
		if ta != 0 {
			if a, err = transpose(ctx, a, []int{1, 0}); err != nil {
				return nil, err
			}
		}
		if tb != 0 {
			if b, err = transpose(ctx, b, []int{1, 0}); err != nil {
				return nil, err
			}
		}
		y, err := matmul(ctx, []tensor.Any{a, b})
		if err != nil {
			return nil, err
		}
		yd, err := floats(y)
		if err != nil {
			return nil, err
		}
		out := make([]float32, len(yd))
		for i, v := range yd {
			out[i] = alpha * v
		}
		if c := opt(in, 2); c != nil && beta != 0 {
			cd, err := floats(c)
			if err != nil {
				return nil, err
			}
			ys := y.Shape()
			if _, err := broadcastShape(c.Shape(), ys); err != nil || c.Dims() > 2 {
				return nil, shapeErr("Gemm C of shape %v does not broadcast to %v", c.Shape(), ys)
			}
			ci := bcastIndex(c.Shape(), ys)
			for i := range out {
				out[i] += beta * cd[ci[i]]
			}
		}
		return fromFloats(in[0].DType(), y.Shape(), out)
	}), nil
}

// buildLayerNorm builds LayerNormalization (simplified=false: mean
// subtracted, bias added) and the RMS variants (simplified=true), with the
// com.microsoft Skip* forms adding skip (and bias) first. Math is in
// float64 per row and rounds to the input's type at the end.
//
// Outputs: LayerNormalization (Y, Mean, InvStdDev);
// SimplifiedLayerNormalization (Y, InvStdDev);
// Skip*LayerNormalization (Y, Mean, InvStdDev, input+skip+bias).
func buildLayerNorm(simplified, skip bool) BuildFunc {
	return func(n *Node) (Kernel, error) {
		def := float32(1e-5)
		if skip {
			def = 1e-12
		}
		eps, err := n.Float("epsilon", def)
		if err != nil {
			return nil, err
		}
		axis, err := n.Int("axis", -1)
		if err != nil {
			return nil, err
		}
		if skip {
			axis = -1
		}
		// SkipLayerNormalization's sum output, made only when the node has it
		outs := n.Proto.GetOutput()
		sumOut := len(outs) > 3 && outs[3] != ""
		return func(ctx context.Context, in []tensor.Any) ([]tensor.Any, error) {
			if err := need(in, 1); err != nil {
				return nil, err
			}
			x := in[0]
			var scale, bias, sk, sbias tensor.Any
			if skip {
				if err := need(in, 3); err != nil {
					return nil, err
				}
				sk, scale = in[1], in[2]
				if simplified {
					sbias = opt(in, 3)
				} else {
					bias, sbias = opt(in, 3), opt(in, 4)
				}
			} else {
				if err := need(in, 2); err != nil {
					return nil, err
				}
				scale, bias = in[1], opt(in, 2)
			}
			s := x.Shape()
			a, err := normAxis(axis, len(s))
			if err != nil {
				return nil, err
			}
			// x and the sum in float32, y, and the outputs
			if err := checkLike(ctx, 3*4+2*x.DType().Size(), x); err != nil {
				return nil, err
			}
			rows, cols := prod(s[:a]), prod(s[a:])
			xv, err := floats(x)
			if err != nil {
				return nil, err
			}
			var sum []float32
			// addSkip writes row r of the sum; float32 sums are made row by
			// row in the parallel loop, just before each row is normalized.
			var addSkip func(r int)
			if skip {
				if sk.Size() != x.Size() && sk.Size() != cols {
					return nil, shapeErr("skip of shape %v for input %v", sk.Shape(), s)
				}
				kv, err := floats(sk)
				if err != nil {
					return nil, err
				}
				var bv []float32
				if sbias != nil {
					if sbias.Size() != cols {
						return nil, shapeErr("bias of shape %v for input %v", sbias.Shape(), s)
					}
					if bv, err = floats(sbias); err != nil {
						return nil, err
					}
				}
				if sumOut || x.DType() != numeric.Float32 {
					sum = make([]float32, len(xv))
				} else {
					sum = getFloat32s(len(xv))
					defer putFloat32s(sum)
				}
				xs, ks := xv, kv
				addSkip = func(r int) {
					xr, sr := xs[r*cols:(r+1)*cols], sum[r*cols:(r+1)*cols]
					kr := ks
					if len(ks) != cols {
						kr = ks[r*cols : (r+1)*cols]
					}
					simd.Add(sr, xr, kr)
					if bv != nil {
						simd.Add(sr, sr, bv)
					}
				}
				if x.DType() != numeric.Float32 { // round the sum to the I/O type
					for r := 0; r < rows; r++ {
						addSkip(r)
					}
					addSkip = nil
					t, err := fromFloats(x.DType(), s, sum)
					if err != nil {
						return nil, err
					}
					if sum, err = floats(t); err != nil {
						return nil, err
					}
				}
				xv = sum
			}
			var gv, bv []float32
			if gv, err = paramRow(scale, s, a); err != nil {
				return nil, err
			}
			if bias != nil {
				if bv, err = paramRow(bias, s, a); err != nil {
					return nil, err
				}
			}
			y := newFloats(ctx, len(xv)) // every row normalized
			mean := make([]float32, rows)
			inv := make([]float32, rows)
			err = workerpool.For(ctx, rows, max(1, 4096/max(1, cols)), func(r0, r1 int) {
				for r := r0; r < r1; r++ {
					if addSkip != nil {
						addSkip(r)
					}
					mu, is := simd.LayerNorm(y[r*cols:(r+1)*cols], xv[r*cols:(r+1)*cols], gv, bv, eps, simplified)
					mean[r], inv[r] = float32(mu), float32(is)
				}
			})
			if err != nil {
				return nil, err
			}
			yt, err := fromFloats(x.DType(), s, y)
			if err != nil {
				return nil, err
			}
			statShape := append([]int(nil), s...)
			for i := a; i < len(statShape); i++ {
				statShape[i] = 1
			}
			mt, err := fromFloats(numeric.Float32, statShape, mean)
			if err != nil {
				return nil, err
			}
			it, err := fromFloats(numeric.Float32, statShape, inv)
			if err != nil {
				return nil, err
			}
			switch {
			case skip && !sumOut:
				return []tensor.Any{yt, mt, it, nil}, nil
			case skip:
				st, err := fromFloats(x.DType(), s, sum)
				if err != nil {
					return nil, err
				}
				return []tensor.Any{yt, mt, it, st}, nil
			case simplified:
				return []tensor.Any{yt, it}, nil
			}
			return []tensor.Any{yt, mt, it}, nil
		}, nil
	}
}

// paramRow returns a scale or bias that must broadcast to x's trailing
// dims from axis a; only the trailing-dims layout is supported.
func paramRow(p tensor.Any, s []int, a int) ([]float32, error) {
	cols := prod(s[a:])
	if p.Size() != cols {
		return nil, shapeErr("scale/bias of shape %v for input %v normalized from axis %d", p.Shape(), s, a)
	}
	return floats(p)
}
