package exec

import (
	"context"
	"math"

	"github.com/zerfoo/zerfoo/tensor"
)

// The activations: float functions of one element computed in float64 and
// rounded once to the input type (see unaryApply), PRelu and Shrink, which
// also take integers, and Hardmax. Opset-1 versions differ from opset 6
// only by the legacy attribute consumed_inputs, which is ignored.

func init() {
	Register("", "Elu", 1, 0, floatAct(func(n *Node) (func(float64) float64, error) {
		alpha, err := n.Float("alpha", 1)
		a := float64(alpha)
		return func(x float64) float64 {
			if x < 0 {
				return a * math.Expm1(x)
			}
			return x
		}, err
	}))
	Register("", "Selu", 1, 0, floatAct(func(n *Node) (func(float64) float64, error) {
		alpha, err := n.Float("alpha", 1.67326319217681884765625)
		if err != nil {
			return nil, err
		}
		gamma, err := n.Float("gamma", 1.05070102214813232421875)
		a, g := float64(alpha), float64(gamma)
		return func(x float64) float64 {
			if x <= 0 {
				return g * a * math.Expm1(x)
			}
			return g * x
		}, err
	}))
	Register("", "Celu", 12, 0, floatAct(func(n *Node) (func(float64) float64, error) {
		alpha, err := n.Float("alpha", 1)
		if err == nil && alpha == 0 {
			err = attrErr("alpha = 0")
		}
		a := float64(alpha)
		return func(x float64) float64 { return max(0, x) + min(0, a*math.Expm1(x/a)) }, err
	}))
	Register("", "LeakyRelu", 1, 0, floatAct(func(n *Node) (func(float64) float64, error) {
		alpha, err := n.Float("alpha", 0.01)
		a := float64(alpha)
		return func(x float64) float64 {
			if x < 0 {
				return a * x
			}
			return x
		}, err
	}))
	Register("", "ThresholdedRelu", 10, 0, floatAct(func(n *Node) (func(float64) float64, error) {
		alpha, err := n.Float("alpha", 1)
		a := float64(alpha)
		return func(x float64) float64 {
			if x > a {
				return x
			}
			return 0
		}, err
	}))
	Register("", "HardSigmoid", 1, 0, floatAct(func(n *Node) (func(float64) float64, error) {
		alpha, err := n.Float("alpha", 0.2)
		if err != nil {
			return nil, err
		}
		beta, err := n.Float("beta", 0.5)
		a, b := float64(alpha), float64(beta)
		return func(x float64) float64 { return max(0, min(1, a*x+b)) }, err
	}))
	Register("", "HardSwish", 14, 0, floatAct(func(*Node) (func(float64) float64, error) {
		return func(x float64) float64 { return x * max(0, min(1, x/6+0.5)) }, nil
	}))
	Register("", "Shrink", 9, 0, buildShrink)
	Register("", "PRelu", 1, 0, buildPRelu)
	Register("", "Hardmax", 1, 0, buildHardmax)
}

// floatAct makes a float activation from mk, which reads the node's
// attributes and returns the function.
func floatAct(mk func(n *Node) (func(float64) float64, error)) BuildFunc {
	return func(n *Node) (Kernel, error) {
		d, err := mk(n)
		if err != nil {
			return nil, err
		}
		return unaryKernel(unaryOp{f: viaF64(d), d: d}), nil
	}
}

func buildShrink(n *Node) (Kernel, error) {
	bias, err := n.Float("bias", 0)
	if err != nil {
		return nil, err
	}
	lambd, err := n.Float("lambd", 0.5)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		k, x, dt, err := typedInput(ctx, "Shrink", in[0])
		if err != nil {
			return nil, err
		}
		v, err := k.shrinkK(x, float64(bias), float64(lambd))
		return narrow(dt, v, err)
	}), nil
}

// shrinkK is x+bias below -lambd, x-bias above lambd, 0 between, computed
// in float64 and converted to T.
func (typed[T]) shrinkK(x tensor.Any, bias, lambd float64) (tensor.Any, error) {
	v := elemsOf[T](x)
	out := make([]T, len(v))
	for i, e := range v {
		f := float64(e)
		switch {
		case f < -lambd:
			out[i] = T(f + bias)
		case f > lambd:
			out[i] = T(f - bias)
		}
	}
	return tensor.New(x.Shape(), out)
}

func buildPRelu(*Node) (Kernel, error) {
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		x, slope := in[0], in[1]
		os, err := broadcastShape(x.Shape(), slope.Shape())
		if err != nil {
			return nil, err
		}
		if len(os) != x.Dims() || prod(os) != x.Size() {
			return nil, shapeErr("slope of shape %v does not broadcast to the input's %v", slope.Shape(), x.Shape())
		}
		k, w, dt, err := typedArgs("PRelu", x, slope)
		if err != nil {
			return nil, err
		}
		if err := checkLike(ctx, workBytes(dt), x); err != nil {
			return nil, err
		}
		v, err := k.preluK(w[0], w[1], os)
		return narrow(dt, v, err)
	}), nil
}

// preluK is slope·x for negative x, x otherwise.
func (typed[T]) preluK(x, slope tensor.Any, os []int) (tensor.Any, error) {
	return tensor.New(os, binLoop(elemsOf[T](x), elemsOf[T](slope), x.Shape(), slope.Shape(), os, func(p, s T) T {
		if p < 0 {
			return p * s
		}
		return p
	}))
}

// buildHardmax makes Hardmax: 1 at the first maximum of each lane (NaN
// counting as the largest, as in ArgMax), 0 elsewhere. Before opset 13 the input is coerced to 2-D at axis (default
// 1); from 13 the lane is axis alone (default -1).
func buildHardmax(n *Node) (Kernel, error) {
	axis, err := softmaxAxis(n)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		s := x.Shape()
		if !isFloat(x.DType()) {
			return nil, typeErr("Hardmax of %s, want a float type", x.DType())
		}
		if err := checkLike(ctx, workBytes(x.DType()), x); err != nil {
			return nil, err
		}
		var outer, dim, inner int
		if n.Opset < 13 {
			a := axis
			if a < 0 {
				a += int64(len(s))
			}
			if a < 0 || a > int64(len(s)) {
				return nil, shapeErr("axis %d out of range for rank %d", axis, len(s))
			}
			outer, dim, inner = prod(s[:a]), prod(s[a:]), 1
		} else {
			a, err := normAxis(axis, max(len(s), 1))
			if err != nil {
				return nil, err
			}
			if len(s) == 0 {
				outer, dim, inner = 1, 1, 1
			} else {
				outer, dim, inner = axisLanes(s, a)
			}
		}
		if dim == 0 {
			return x, nil
		}
		k, w, _, err := typedArgs("Hardmax", x)
		if err != nil {
			return nil, err
		}
		best := k.argK(w[0], outer, dim, inner, true, false)
		out := make([]float64, x.Size())
		for o := range outer {
			for j := range inner {
				out[(o*dim+int(best[o*inner+j]))*inner+j] = 1
			}
		}
		return cast(tensor.Must(tensor.New(s, out)), x.DType(), false)
	}), nil
}
