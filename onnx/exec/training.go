package exec

import (
	"context"
	"math"
	"slices"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// TrainingDomain is the ONNX domain of the optimizer ops (Adagrad, Adam,
// Momentum), version 1.
const TrainingDomain = "ai.onnx.preview.training"

func init() {
	Register(TrainingDomain, "Adagrad", 1, 0, buildAdagrad)
	Register(TrainingDomain, "Adam", 1, 0, buildAdam)
	Register(TrainingDomain, "Momentum", 1, 0, buildMomentum)
}

// f64vals returns the elements of t, a float tensor, as float64. For a
// float64 tensor it returns the tensor's own slice, which must not be
// modified.
func f64vals(t tensor.Any) ([]float64, error) {
	switch v := t.(type) {
	case *tensor.Tensor[float64]:
		return v.Data(), nil
	case *tensor.Tensor[float32]:
		return convSlice[float32, float64](v.Data()), nil
	case *tensor.Tensor[numeric.Float16], *tensor.Tensor[numeric.BFloat16]:
		f, err := floats(t)
		if err != nil {
			return nil, err
		}
		return convSlice[float32, float64](f), nil
	}
	return nil, typeErr("element type %s, want a float type", t.DType())
}

// f64tensor builds a tensor of float element type dt from float64 values
// (rounding to nearest); a float64 tensor keeps v.
func f64tensor(dt numeric.DType, shape []int, v []float64) (tensor.Any, error) {
	if dt == numeric.Float64 {
		return tensor.New(shape, v)
	}
	return fromFloats(dt, shape, convSlice[float64, float32](v))
}

// scalarF64 returns the single element of t, a float tensor of one element.
func scalarF64(t tensor.Any, what string) (float64, error) {
	if t.Size() != 1 {
		return 0, shapeErr("%s has shape %v, want a scalar", what, t.Shape())
	}
	v, err := f64vals(t)
	if err != nil {
		return 0, typeErr("%s: %v", what, err)
	}
	return v[0], nil
}

// scalarI64 returns the single element of t, an integer tensor of one
// element.
func scalarI64(t tensor.Any, what string) (int64, error) {
	if t.Size() != 1 {
		return 0, shapeErr("%s has shape %v, want a scalar", what, t.Shape())
	}
	v, err := ints(t)
	if err != nil {
		return 0, typeErr("%s: %v", what, err)
	}
	return v[0], nil
}

// optimizerArgs checks the inputs of an optimizer node: R (the learning
// rate, a float scalar), T (the update count, an int64 scalar), then groups
// tensor lists of equal length n, the i-th tensor of every group having the
// same shape. It returns R, T and n.
func optimizerArgs(ctx context.Context, in []tensor.Any, groups int) (r float64, t int64, n int, err error) {
	if err := need(in, 2); err != nil {
		return 0, 0, 0, err
	}
	if (len(in)-2)%groups != 0 || len(in) == 2 {
		return 0, 0, 0, shapeErr("%d inputs, want 2 + %d·n", len(in), groups)
	}
	if err := need(in, len(in)); err != nil {
		return 0, 0, 0, err
	}
	if r, err = scalarF64(in[0], "R"); err != nil {
		return 0, 0, 0, err
	}
	if in[1].DType() != numeric.Int64 {
		return 0, 0, 0, typeErr("T has element type %s, want int64", in[1].DType())
	}
	if t, err = scalarI64(in[1], "T"); err != nil {
		return 0, 0, 0, err
	}
	n = (len(in) - 2) / groups
	for i := 0; i < n; i++ {
		x := in[2+i]
		if x.DType() != numeric.Float32 && x.DType() != numeric.Float64 {
			return 0, 0, 0, typeErr("input %d has element type %s, want float32 or float64", 2+i, x.DType())
		}
		for g := 1; g < groups; g++ {
			y := in[2+g*n+i]
			if y.DType() != x.DType() || !slices.Equal(y.Shape(), x.Shape()) {
				return 0, 0, 0, shapeErr("input %d is %s%v, input %d %s%v; want the same", 2+g*n+i, y.DType(), y.Shape(), 2+i, x.DType(), x.Shape())
			}
		}
		// the float64 copies of the group's inputs and the outputs
		if err := checkWork(ctx, groups*8+(groups-1)*x.DType().Size(), x.DType(), x.Shape()); err != nil {
			return 0, 0, 0, err
		}
	}
	return r, t, n, nil
}

// optimizerRun converts each group of the inputs after R and T to float64,
// calls update for each of the n tensors with the group's values (of which
// it overwrites outputs..groups-1 in place, the outputs), and returns the
// outputs as group-major tensor lists of their inputs' type.
func optimizerRun(in []tensor.Any, groups, n int, update func(v [][]float64)) ([]tensor.Any, error) {
	res := make([]tensor.Any, (groups-1)*n)
	for i := 0; i < n; i++ {
		v := make([][]float64, groups)
		for g := range v {
			d, err := f64vals(in[2+g*n+i])
			if err != nil {
				return nil, err
			}
			v[g] = append([]float64(nil), d...)
		}
		update(v)
		x := in[2+i]
		outs := [][]float64{v[0]}
		outs = append(outs, v[2:]...) // X, then the state groups (G is not an output)
		for k, o := range outs {
			t, err := f64tensor(x.DType(), x.Shape(), o)
			if err != nil {
				return nil, err
			}
			res[k*n+i] = t
		}
	}
	return res, nil
}

// buildAdagrad builds Adagrad: inputs R, T, X1..Xn, G1..Gn, H1..Hn;
// outputs X1_new..Xn_new, H1_new..Hn_new, with
//
//	r = R / (1 + T·decay_factor)
//	g = norm_coefficient·X + G
//	H_new = H + g²
//	X_new = X − r·g / (√H_new + epsilon)
func buildAdagrad(n *Node) (Kernel, error) {
	decay, err := n.Float("decay_factor", 0)
	if err != nil {
		return nil, err
	}
	eps, err := n.Float("epsilon", 1e-6)
	if err != nil {
		return nil, err
	}
	norm, err := n.Float("norm_coefficient", 0)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, in []tensor.Any) ([]tensor.Any, error) {
		r, t, cnt, err := optimizerArgs(ctx, in, 3)
		if err != nil {
			return nil, err
		}
		rate := r / (1 + float64(t)*float64(decay))
		return optimizerRun(in, 3, cnt, func(v [][]float64) {
			x, g, h := v[0], v[1], v[2]
			for j := range x {
				gr := float64(norm)*x[j] + g[j]
				h[j] += gr * gr
				x[j] -= rate * gr / (math.Sqrt(h[j]) + float64(eps))
			}
		})
	}, nil
}

// buildAdam builds Adam: inputs R, T, X1..Xn, G1..Gn, V1..Vn, H1..Hn;
// outputs X_new, V_new, H_new (each n tensors), with
//
//	g = norm_coefficient·X + G
//	V_new = alpha·V + (1−alpha)·g
//	H_new = beta·H + (1−beta)·g²
//	r = R·√(1−betaᵀ)/(1−alphaᵀ) when T > 0, else R
//	X_new = (1−norm_coefficient_post)·(X − r·V_new/(√H_new + epsilon))
func buildAdam(n *Node) (Kernel, error) {
	var a [5]float32
	for i, p := range []struct {
		name string
		def  float32
	}{{"alpha", 0.9}, {"beta", 0.999}, {"epsilon", 1e-6}, {"norm_coefficient", 0}, {"norm_coefficient_post", 0}} {
		v, err := n.Float(p.name, p.def)
		if err != nil {
			return nil, err
		}
		a[i] = v
	}
	alpha, beta, eps, norm, post := float64(a[0]), float64(a[1]), float64(a[2]), float64(a[3]), float64(a[4])
	return func(ctx context.Context, in []tensor.Any) ([]tensor.Any, error) {
		r, t, cnt, err := optimizerArgs(ctx, in, 4)
		if err != nil {
			return nil, err
		}
		if t > 0 {
			r *= math.Sqrt(1-math.Pow(beta, float64(t))) / (1 - math.Pow(alpha, float64(t)))
		}
		return optimizerRun(in, 4, cnt, func(v [][]float64) {
			x, g, m, h := v[0], v[1], v[2], v[3]
			for j := range x {
				gr := norm*x[j] + g[j]
				m[j] = alpha*m[j] + (1-alpha)*gr
				h[j] = beta*h[j] + (1-beta)*gr*gr
				x[j] = (1 - post) * (x[j] - r*m[j]/(math.Sqrt(h[j])+eps))
			}
		})
	}, nil
}

// buildMomentum builds Momentum: inputs R, T, X1..Xn, G1..Gn, V1..Vn;
// outputs X_new, V_new (each n tensors), with b = beta when T > 0, else 1,
//
//	g = norm_coefficient·X + G
//	V_new = alpha·V + b·g
//	X_new = X − R·V_new (mode "standard"), X − R·(g + alpha·V_new) ("nesterov")
//
// Every attribute is required.
func buildMomentum(n *Node) (Kernel, error) {
	for _, name := range []string{"alpha", "beta", "mode", "norm_coefficient"} {
		if !n.Has(name) {
			return nil, attrErr("attribute %q is required", name)
		}
	}
	alpha32, err := n.Float("alpha", 0)
	if err != nil {
		return nil, err
	}
	beta32, err := n.Float("beta", 0)
	if err != nil {
		return nil, err
	}
	norm32, err := n.Float("norm_coefficient", 0)
	if err != nil {
		return nil, err
	}
	mode, err := n.String("mode", "")
	if err != nil {
		return nil, err
	}
	if mode != "standard" && mode != "nesterov" {
		return nil, attrErr("mode %q, want standard or nesterov", mode)
	}
	nesterov := mode == "nesterov"
	alpha, beta, norm := float64(alpha32), float64(beta32), float64(norm32)
	return func(ctx context.Context, in []tensor.Any) ([]tensor.Any, error) {
		r, t, cnt, err := optimizerArgs(ctx, in, 3)
		if err != nil {
			return nil, err
		}
		b := beta
		if t <= 0 {
			b = 1
		}
		return optimizerRun(in, 3, cnt, func(v [][]float64) {
			x, g, m := v[0], v[1], v[2]
			for j := range x {
				gr := norm*x[j] + g[j]
				m[j] = alpha*m[j] + b*gr
				if nesterov {
					x[j] -= r * (gr + alpha*m[j])
				} else {
					x[j] -= r * m[j]
				}
			}
		})
	}, nil
}
