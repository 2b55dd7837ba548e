package exec

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// The random generators. A node with a seed attribute draws the same values
// on every run (its generator is seeded from the attribute at each call,
// so a Program stays immutable and safe for concurrent runs); one without
// draws from a fresh random seed each run. No implementation can match
// another's values: the ONNX node tests of these ops (test_bernoulli*)
// hold one sample of NumPy's generator.
func init() {
	Register("", "RandomUniform", 1, 0, buildRandom(false, false))
	Register("", "RandomNormal", 1, 0, buildRandom(true, false))
	Register("", "RandomUniformLike", 1, 0, buildRandom(false, true))
	Register("", "RandomNormalLike", 1, 0, buildRandom(true, true))
	Register("", "Bernoulli", 15, 0, buildBernoulli)
	Register("", "Multinomial", 7, 0, buildMultinomial)
}

// seedSource reads the optional seed attribute: it returns a function that
// makes the generator of one run.
func seedSource(n *Node) (func() *rand.Rand, error) {
	if !n.Has("seed") {
		return func() *rand.Rand { return rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())) }, nil
	}
	s, err := n.Float("seed", 0)
	if err != nil {
		return nil, err
	}
	seed := math.Float64bits(float64(s))
	return func() *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }, nil
}

// randomFloatType reads attribute dtype, which must name a float type; def
// is used when it is absent (Invalid: the attribute is required).
func randomFloatType(n *Node, def numeric.DType) (numeric.DType, error) {
	if !n.Has("dtype") {
		return def, nil
	}
	t, err := n.Int("dtype", 0)
	if err != nil {
		return numeric.Invalid, err
	}
	dt, err := dtypeOf(onnx.DataType(t))
	if err != nil || !isFloat(dt) || dt == numeric.BFloat16Type {
		return numeric.Invalid, attrErr("dtype %s, want float16, float or double", onnx.DataType(t))
	}
	return dt, nil
}

// buildRandom builds RandomUniform and RandomNormal (shape from attribute
// shape, dtype default float) and their Like forms (the input's shape, and
// its element type unless dtype is given). Uniform values lie in [low,
// high) (defaults 0, 1); normal ones have mean and scale (defaults 0, 1).
func buildRandom(normal, like bool) BuildFunc {
	return func(n *Node) (Kernel, error) {
		def := numeric.Float32
		if like {
			def = numeric.Invalid
		}
		dt, err := randomFloatType(n, def)
		if err != nil {
			return nil, err
		}
		p0, p1 := "low", "high"
		d0, d1 := float32(0), float32(1)
		if normal {
			p0, p1 = "mean", "scale"
		}
		a, err := n.Float(p0, d0)
		if err != nil {
			return nil, err
		}
		b, err := n.Float(p1, d1)
		if err != nil {
			return nil, err
		}
		if !normal && !(a <= b) {
			return nil, attrErr("low %g > high %g", a, b)
		}
		var shape []int
		if !like {
			if !n.Has("shape") {
				return nil, attrErr("attribute shape is required")
			}
			s, err := n.Ints("shape", nil)
			if err != nil {
				return nil, err
			}
			for _, d := range s {
				if d < 0 || d > 1<<40 {
					return nil, attrErr("shape %v has a bad dim", s)
				}
				shape = append(shape, int(d))
			}
		}
		gen, err := seedSource(n)
		if err != nil {
			return nil, err
		}
		return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
			odt, os := dt, shape
			if like {
				if err := need(in, 1); err != nil {
					return nil, err
				}
				os = in[0].Shape()
				if odt == numeric.Invalid {
					if !isFloat(in[0].DType()) || in[0].DType() == numeric.BFloat16Type {
						return nil, typeErr("input has element type %s and dtype is not given", in[0].DType())
					}
					odt = in[0].DType()
				}
			}
			if err := checkWork(ctx, 8+odt.Size(), odt, os); err != nil {
				return nil, err
			}
			r := gen()
			v := make([]float64, prod(os))
			for i := range v {
				if normal {
					v[i] = float64(a) + float64(b)*r.NormFloat64()
				} else {
					v[i] = float64(a) + float64(b-a)*r.Float64()
				}
			}
			return f64tensor(odt, os, v)
		}), nil
	}
}

// buildBernoulli builds Bernoulli: 1 with the probability of each input
// element (which must lie in [0, 1]), else 0, of element type dtype
// (default the input's).
func buildBernoulli(n *Node) (Kernel, error) {
	dt := numeric.Invalid
	if n.Has("dtype") {
		t, err := n.Int("dtype", 0)
		if err != nil {
			return nil, err
		}
		if dt, err = dtypeOf(onnx.DataType(t)); err != nil {
			return nil, attrErr("dtype %d: %v", t, err)
		}
	}
	gen, err := seedSource(n)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		odt := dt
		if odt == numeric.Invalid {
			odt = x.DType()
		}
		if !isFloat(x.DType()) {
			return nil, typeErr("input has element type %s, want a float type", x.DType())
		}
		if err := checkWork(ctx, 16+odt.Size(), odt, x.Shape()); err != nil {
			return nil, err
		}
		p, err := f64vals(x)
		if err != nil {
			return nil, err
		}
		r := gen()
		v := make([]float64, len(p))
		for i, q := range p {
			if !(q >= 0 && q <= 1) {
				return nil, shapeErr("probability %g at index %d is outside [0, 1]", q, i)
			}
			if r.Float64() < q {
				v[i] = 1
			}
		}
		return castFloat64(odt, x.Shape(), v)
	}), nil
}

// buildMultinomial builds Multinomial: for each row of the input [batch,
// classes] of unnormalized log-probabilities, sample_size (default 1)
// class indices drawn with probabilities softmax(row), of element type
// dtype (int32, the default, or int64).
func buildMultinomial(n *Node) (Kernel, error) {
	t, err := n.Int("dtype", int64(onnx.Int32))
	if err != nil {
		return nil, err
	}
	dt := numeric.Int32
	switch onnx.DataType(t) {
	case onnx.Int32:
	case onnx.Int64:
		dt = numeric.Int64
	default:
		return nil, attrErr("dtype %s, want int32 or int64", onnx.DataType(t))
	}
	size, err := n.Int("sample_size", 1)
	if err != nil {
		return nil, err
	}
	if size < 1 || size > 1<<40 {
		return nil, attrErr("sample_size %d, want > 0", size)
	}
	gen, err := seedSource(n)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		xs := x.Shape()
		if len(xs) != 2 || xs[1] == 0 {
			return nil, shapeErr("input has shape %v, want [batch, classes] with classes > 0", xs)
		}
		if !isFloat(x.DType()) {
			return nil, typeErr("input has element type %s, want a float type", x.DType())
		}
		os := []int{xs[0], int(size)}
		if err := checkWork(ctx, 8+dt.Size(), dt, os); err != nil {
			return nil, err
		}
		if err := checkLike(ctx, 16, x); err != nil {
			return nil, err
		}
		lp, err := f64vals(x)
		if err != nil {
			return nil, err
		}
		r := gen()
		c := xs[1]
		cum := make([]float64, c)
		out := make([]int64, 0, xs[0]*int(size))
		for b := 0; b < xs[0]; b++ {
			row := lp[b*c:][:c]
			m := math.Inf(-1)
			for _, v := range row {
				m = max(m, v)
			}
			s := 0.0
			for k, v := range row {
				s += math.Exp(v - m)
				cum[k] = s
			}
			if !(s > 0) || math.IsInf(s, 0) {
				return nil, shapeErr("row %d has no finite probabilities", b)
			}
			for range size {
				u := r.Float64() * s
				k := sort.SearchFloat64s(cum, u)
				for k < c-1 && cum[k] <= u { // the first class whose cumulative sum exceeds u
					k++
				}
				out = append(out, int64(min(k, c-1)))
			}
		}
		return intsAs(dt, os, out)
	}), nil
}
