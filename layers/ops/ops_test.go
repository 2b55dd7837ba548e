package ops

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/graph/gradcheck"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

type float interface{ float32 | float64 }

// gen describes how to fill one input.
type gen int

const (
	anyVal   gen = iota // uniform in [-2, 2]
	positive            // uniform in [0.5, 2]
	awayZero            // |x| in [0.2, 2], random sign
	distinct            // distinct values at least 0.06 apart (no Max ties)
)

type input struct {
	shape []int
	gen   gen
}

func in(g gen, shape ...int) input { return input{shape: shape, gen: g} }

func fill[T float](rng *rand.Rand, x input) *tensor.Tensor[T] {
	t := tensor.Must(tensor.New[T](x.shape, nil))
	d := t.Data()
	var perm []int
	if x.gen == distinct {
		perm = rng.Perm(len(d))
	}
	for i := range d {
		u := rng.Float64()
		var v float64
		switch x.gen {
		case anyVal:
			v = 4*u - 2
		case positive:
			v = 0.5 + 1.5*u
		case awayZero:
			v = 0.2 + 1.8*u
			if rng.IntN(2) == 0 {
				v = -v
			}
		case distinct:
			v = -2 + 0.06*(float64(perm[i])+0.2*u)
		}
		d[i] = T(v)
	}
	return t
}

type gradCase[T float] struct {
	name   string
	node   func(e compute.Engine[T]) graph.Node[T]
	inputs []input
}

func gradCases[T float]() []gradCase[T] {
	type E = compute.Engine[T]
	type N = graph.Node[T]
	gelu := func(approx string) func(E) N {
		return func(e E) N {
			n, err := NewGelu(e, approx)
			if err != nil {
				panic(err)
			}
			return n
		}
	}
	idx := tensor.Must(tensor.New([]int{2, 3}, []int64{2, 0, -1, 2, 1, 2}))
	scatter := func(e E) N {
		n, err := NewScatterAdd(e, tensor.Must(tensor.New([]int{4}, []int64{1, -1, 1, 0})))
		if err != nil {
			panic(err)
		}
		return n
	}
	return []gradCase[T]{
		{"Add", func(e E) N { return NewAdd(e) }, []input{in(anyVal, 2, 3), in(anyVal, 2, 3)}},
		{"Add/broadcast", func(e E) N { return NewAdd(e) }, []input{in(anyVal, 2, 1, 3), in(anyVal, 4, 1)}},
		{"Add/scalar", func(e E) N { return NewAdd(e) }, []input{in(anyVal, 2, 3), in(anyVal)}},
		{"Sub/broadcast", func(e E) N { return NewSub(e) }, []input{in(anyVal, 3), in(anyVal, 2, 3)}},
		{"Mul/broadcast", func(e E) N { return NewMul(e) }, []input{in(anyVal, 2, 3, 4), in(anyVal, 3, 1)}},
		{"Div/broadcast", func(e E) N { return NewDiv(e) }, []input{in(anyVal, 2, 3), in(awayZero, 2, 1)}},
		{"Pow", func(e E) N { return NewPow(e) }, []input{in(positive, 2, 3), in(anyVal, 2, 3)}},
		{"Pow/broadcast", func(e E) N { return NewPow(e) }, []input{in(positive, 2, 3), in(anyVal, 1, 3)}},
		{"Neg", func(e E) N { return NewNeg(e) }, []input{in(anyVal, 2, 3)}},
		{"Abs", func(e E) N { return NewAbs(e) }, []input{in(awayZero, 2, 3)}},
		{"Exp", func(e E) N { return NewExp(e) }, []input{in(anyVal, 2, 3)}},
		{"Log", func(e E) N { return NewLog(e) }, []input{in(positive, 2, 3)}},
		{"Sqrt", func(e E) N { return NewSqrt(e) }, []input{in(positive, 2, 3)}},
		{"Rsqrt", func(e E) N { return NewRsqrt(e) }, []input{in(positive, 2, 3)}},
		{"Tanh", func(e E) N { return NewTanh(e) }, []input{in(anyVal, 2, 3)}},
		{"Erf", func(e E) N { return NewErf(e) }, []input{in(anyVal, 2, 3)}},
		{"Sigmoid", func(e E) N { return NewSigmoid(e) }, []input{in(anyVal, 2, 3)}},
		{"Gelu/none", gelu("none"), []input{in(anyVal, 2, 3)}},
		{"Gelu/tanh", gelu("tanh"), []input{in(anyVal, 2, 3)}},
		{"Silu", func(e E) N { return NewSilu(e) }, []input{in(anyVal, 2, 3)}},
		{"Relu", func(e E) N { return NewRelu(e) }, []input{in(awayZero, 2, 3)}},
		{"MatMul", func(e E) N { return NewMatMul(e) }, []input{in(anyVal, 2, 3), in(anyVal, 3, 4)}},
		{"MatMul/batch", func(e E) N { return NewMatMul(e) }, []input{in(anyVal, 2, 2, 3), in(anyVal, 2, 3, 2)}},
		{"MatMul/broadcastB", func(e E) N { return NewMatMul(e) }, []input{in(anyVal, 2, 2, 3), in(anyVal, 3, 2)}},
		{"MatMul/broadcastBoth", func(e E) N { return NewMatMul(e) }, []input{in(anyVal, 2, 1, 2, 3), in(anyVal, 3, 3, 2)}},
		{"MatMul/vecA", func(e E) N { return NewMatMul(e) }, []input{in(anyVal, 3), in(anyVal, 2, 3, 2)}},
		{"MatMul/vecB", func(e E) N { return NewMatMul(e) }, []input{in(anyVal, 2, 2, 3), in(anyVal, 3)}},
		{"MatMul/dot", func(e E) N { return NewMatMul(e) }, []input{in(anyVal, 3), in(anyVal, 3)}},
		{"Transpose", func(e E) N { return NewTranspose(e, []int{2, 0, 1}) }, []input{in(anyVal, 2, 3, 4)}},
		{"Transpose/reverse", func(e E) N { return NewTranspose[T](e, nil) }, []input{in(anyVal, 2, 3, 4)}},
		{"ReduceSum/axis", func(e E) N { return NewReduceSum(e, []int{1}, false) }, []input{in(anyVal, 2, 3, 4)}},
		{"ReduceSum/axesKeep", func(e E) N { return NewReduceSum(e, []int{0, -1}, true) }, []input{in(anyVal, 2, 3, 4)}},
		{"ReduceSum/all", func(e E) N { return NewReduceSum[T](e, nil, false) }, []input{in(anyVal, 2, 3)}},
		{"ReduceMean", func(e E) N { return NewReduceMean(e, []int{-1, 0}, false) }, []input{in(anyVal, 2, 3, 4)}},
		{"ReduceMax", func(e E) N { return NewReduceMax(e, []int{1}, false) }, []input{in(distinct, 2, 3, 4)}},
		{"ReduceMax/all", func(e E) N { return NewReduceMax[T](e, nil, true) }, []input{in(distinct, 3, 4)}},
		{"Softmax", func(e E) N { return NewSoftmax(e, -1) }, []input{in(anyVal, 2, 3, 4)}},
		{"Softmax/axis1", func(e E) N { return NewSoftmax(e, 1) }, []input{in(anyVal, 2, 3, 4)}},
		{"LogSoftmax", func(e E) N { return NewLogSoftmax(e, -1) }, []input{in(anyVal, 2, 5)}},
		{"LogSoftmax/axis0", func(e E) N { return NewLogSoftmax(e, 0) }, []input{in(anyVal, 3, 2)}},
		{"Gather/axis0", func(e E) N { return NewGather(e, idx, 0) }, []input{in(anyVal, 3, 4)}},
		{"Gather/axis1", func(e E) N { return NewGather(e, idx, 1) }, []input{in(anyVal, 2, 3, 2)}},
		{"Gather/axisLast", func(e E) N { return NewGather(e, idx, -1) }, []input{in(anyVal, 2, 3)}},
		{"ScatterAdd", scatter, []input{in(anyVal, 3, 2), in(anyVal, 4, 2)}},
		{"AddScalar", func(e E) N { return NewAddScalar(e, T(0.5)) }, []input{in(anyVal, 2, 3)}},
		{"MulScalar", func(e E) N { return NewMulScalar(e, T(-1.5)) }, []input{in(anyVal, 2, 3)}},
		{"Concat", func(e E) N { return NewConcat[T](e, 1) }, []input{in(anyVal, 2, 1, 2), in(anyVal, 2, 3, 2), in(anyVal, 2, 2, 2)}},
		{"Concat/one", func(e E) N { return NewConcat[T](e, 0) }, []input{in(anyVal, 2, 3)}},
		{"Split/first", func(e E) N { return NewSplit[T](e, 1, []int{1, 3}, 0) }, []input{in(anyVal, 2, 4, 2)}},
		{"Split/last", func(e E) N { return NewSplit[T](e, -1, []int{1, 2, 2}, 2) }, []input{in(anyVal, 2, 5)}},
		{"Slice", func(e E) N { return NewSlice[T](e, []int{1, -3}, []int{math.MaxInt, -1}, []int{0, 2}) }, []input{in(anyVal, 3, 2, 5)}},
		{"Slice/default axes", func(e E) N { return NewSlice[T](e, []int{0, 1}, []int{2, 3}, nil) }, []input{in(anyVal, 3, 4)}},
		{"Reshape", func(e E) N { return NewReshape[T](e, []int{0, -1}) }, []input{in(anyVal, 2, 3, 4)}},
		{"Reshape/fixed", func(e E) N { return NewReshape[T](e, []int{4, 6}) }, []input{in(anyVal, 2, 3, 4)}},
	}
}

func runGrad[T float](t *testing.T, e compute.Engine[T]) {
	for i, tc := range gradCases[T]() {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 42))
			ins := make([]*tensor.Tensor[T], len(tc.inputs))
			for j, x := range tc.inputs {
				ins[j] = fill[T](rng, x)
			}
			node := tc.node(e)
			opt := gradcheck.Options{Seed: uint64(i)}
			if numeric.DTypeOf[T]() == numeric.Float32 {
				// Tighter than the float32 defaults: these ops are small
				// enough for finite differences to be accurate to ~1e-4.
				opt.ATol, opt.RTol = 2e-4, 2e-3
			}
			if err := gradcheck.Check(context.Background(), node, ins, opt); err != nil {
				t.Fatal(err)
			}
			// The node's inferred shape matches what Forward produced.
			y, err := node.Forward(context.Background(), ins...)
			if err != nil {
				t.Fatal(err)
			}
			want, err := node.(graph.ShapeInferer).InferShape(shapes(ins)...)
			if err != nil {
				t.Fatalf("InferShape: %v", err)
			}
			if !tensor.SameShape(y.Shape(), want) {
				t.Fatalf("Forward shape %v, InferShape %v", y.Shape(), want)
			}
		})
	}
}

func TestGradFloat64(t *testing.T) {
	runGrad[float64](t, compute.NewCPUEngine[float64](numeric.Float64Ops{}))
}

func TestGradFloat32(t *testing.T) {
	runGrad[float32](t, compute.NewCPUEngine[float32](numeric.Float32Ops{}))
}
