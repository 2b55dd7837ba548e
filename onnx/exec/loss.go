package exec

import (
	"context"
	"math"
	"slices"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

func init() {
	Register("", "NegativeLogLikelihoodLoss", 12, 0, buildLoss(false))
	Register("", "SoftmaxCrossEntropyLoss", 12, 0, buildLoss(true))
}

// lossAttrs are the attributes shared by the two losses.
type lossAttrs struct {
	reduction string // none, sum or mean
	ignore    int64
	hasIgnore bool
}

// buildLoss builds NegativeLogLikelihoodLoss (softmax false) and
// SoftmaxCrossEntropyLoss (softmax true).
//
// The input (scores) has shape [N, C, d1..dk], the target (labels)
// [N, d1..dk] with values in [0, C) or equal to ignore_index, and the
// optional weight [C]. For each element j of the target with class c the
// loss is −w[c]·x[n, c, d] (x the log-softmax of the scores along axis 1 for
// SoftmaxCrossEntropyLoss), with w[c] = 1 without weights and w = 0 where the
// target is ignore_index. reduction "none" returns these losses in the
// target's shape; "sum" their sum; "mean" (the default) their sum divided by
// the sum of the w of every element (the number of elements not ignored
// when there are no weights). SoftmaxCrossEntropyLoss's optional second
// output is the log-softmax of the scores. Math is in float64; the outputs
// have the input's element type. A target out of range is an error naming
// its value and position.
func buildLoss(softmax bool) BuildFunc {
	return func(n *Node) (Kernel, error) {
		var a lossAttrs
		var err error
		if a.reduction, err = n.String("reduction", "mean"); err != nil {
			return nil, err
		}
		if a.reduction != "none" && a.reduction != "sum" && a.reduction != "mean" {
			return nil, attrErr("reduction %q, want none, sum or mean", a.reduction)
		}
		a.hasIgnore = n.Has("ignore_index")
		if a.ignore, err = n.Int("ignore_index", 0); err != nil {
			return nil, err
		}
		return func(ctx context.Context, in []tensor.Any) ([]tensor.Any, error) {
			return a.run(ctx, in, softmax)
		}, nil
	}
}

func (a lossAttrs) run(ctx context.Context, in []tensor.Any, softmax bool) ([]tensor.Any, error) {
	if err := need(in, 2); err != nil {
		return nil, err
	}
	x, target, weight := in[0], in[1], opt(in, 2)
	dt := x.DType()
	if !isFloat(dt) {
		return nil, typeErr("input has element type %s, want a float type", dt)
	}
	xs, ts := x.Shape(), target.Shape()
	if len(xs) < 2 {
		return nil, shapeErr("input has shape %v, want [N, C, d1..dk]", xs)
	}
	if len(ts) != len(xs)-1 || ts[0] != xs[0] || !slices.Equal(ts[1:], xs[2:]) {
		return nil, shapeErr("target has shape %v for input %v, want the input's shape without dim 1", ts, xs)
	}
	if target.DType() != numeric.Int32 && target.DType() != numeric.Int64 {
		return nil, typeErr("target has element type %s, want int32 or int64", target.DType())
	}
	c := xs[1]
	if weight != nil {
		if weight.Dims() != 1 || weight.Shape()[0] != c {
			return nil, shapeErr("weight has shape %v, want [%d]", weight.Shape(), c)
		}
		if weight.DType() != dt {
			return nil, typeErr("weight has element type %s, input %s", weight.DType(), dt)
		}
	}
	// the float64 input, the log-softmax and its output, the target
	if err := checkWork(ctx, 8+8+8+dt.Size(), dt, xs); err != nil {
		return nil, err
	}
	xv, err := f64vals(x)
	if err != nil {
		return nil, err
	}
	tv, err := ints(target)
	if err != nil {
		return nil, err
	}
	var wv []float64
	if weight != nil {
		if wv, err = f64vals(weight); err != nil {
			return nil, err
		}
	}
	nb, inner := xs[0], prod(xs[2:])
	if softmax {
		xv = logSoftmaxAxis1(xv, nb, c, inner)
	}
	loss := make([]float64, len(tv))
	var sum, wsum float64
	for i, t := range tv {
		if a.hasIgnore && t == a.ignore {
			continue
		}
		if t < 0 || t >= int64(c) {
			return nil, shapeErr("target %d at index %d is outside [0, %d) and not ignore_index", t, i, c)
		}
		w := 1.0
		if wv != nil {
			w = wv[t]
		}
		b, d := i/inner, i%inner
		l := -xv[(b*c+int(t))*inner+d] * w
		loss[i] = l
		sum += l
		wsum += w
	}
	var out tensor.Any
	switch a.reduction {
	case "none":
		out, err = f64tensor(dt, ts, loss)
	case "sum":
		out, err = f64tensor(dt, []int{}, []float64{sum})
	default:
		out, err = f64tensor(dt, []int{}, []float64{sum / wsum})
	}
	if err != nil {
		return nil, err
	}
	if !softmax {
		return []tensor.Any{out}, nil
	}
	lp, err := f64tensor(dt, xs, xv)
	if err != nil {
		return nil, err
	}
	return []tensor.Any{out, lp}, nil
}

// logSoftmaxAxis1 returns the log-softmax of x, of shape [n, c, inner],
// along its middle axis.
func logSoftmaxAxis1(x []float64, n, c, inner int) []float64 {
	y := make([]float64, len(x))
	for b := 0; b < n; b++ {
		for d := 0; d < inner; d++ {
			base := b*c*inner + d
			m := math.Inf(-1)
			for k := 0; k < c; k++ {
				m = max(m, x[base+k*inner])
			}
			s := 0.0
			for k := 0; k < c; k++ {
				s += math.Exp(x[base+k*inner] - m)
			}
			ls := math.Log(s)
			for k := 0; k < c; k++ {
				y[base+k*inner] = x[base+k*inner] - m - ls
			}
		}
	}
	return y
}
