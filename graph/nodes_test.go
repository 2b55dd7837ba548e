package graph_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// Small float32 nodes written for these tests only, so that the graph tests
// depend on nothing but the tensor package.

type f32 = *tensor.Tensor[float32]

func vec(v ...float32) f32 { return tensor.Must(tensor.New([]int{len(v)}, v)) }

func mat(r, c int, v ...float32) f32 { return tensor.Must(tensor.New([]int{r, c}, v)) }

// base provides the boilerplate methods.
type base struct{ op string }

func (b base) OpType() string                          { return b.op }
func (b base) Attributes() map[string]any              { return map[string]any{} }
func (b base) OutputShape() []int                      { return nil }
func (b base) Parameters() []*graph.Parameter[float32] { return nil }

// sameShape is the InferShape of elementwise nodes without broadcasting.
func sameShape(in ...[]int) ([]int, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("%w: no inputs", tensor.ErrShape)
	}
	out := in[0]
	for _, s := range in[1:] {
		if out == nil {
			out = s
			continue
		}
		if s == nil {
			continue
		}
		if len(s) != len(out) {
			return nil, fmt.Errorf("%w: ranks %d and %d differ", tensor.ErrShape, len(out), len(s))
		}
		for i := range s {
			if s[i] >= 0 && out[i] >= 0 && s[i] != out[i] {
				return nil, fmt.Errorf("%w: shapes %v and %v differ", tensor.ErrShape, out, s)
			}
		}
	}
	return out, nil
}

// scale computes k·x.
type scale struct {
	base
	k float32
}

func newScale(k float32) *scale { return &scale{base{"Scale"}, k} }

func (n *scale) InferShape(in ...[]int) ([]int, error) { return sameShape(in...) }

func (n *scale) Forward(_ context.Context, in ...f32) (f32, error) {
	out := in[0].Copy()
	for i := range out.Data() {
		out.Data()[i] *= n.k
	}
	return out, nil
}

func (n *scale) Backward(ctx context.Context, g f32, in ...f32) ([]f32, error) {
	d, _ := n.Forward(ctx, g)
	return []f32{d}, nil
}

// binary is x op y for op in Add, Mul.
type binary struct{ base }

func newAdd() *binary { return &binary{base{"Add"}} }
func newMul() *binary { return &binary{base{"Mul"}} }

func (n *binary) InferShape(in ...[]int) ([]int, error) { return sameShape(in...) }

func (n *binary) Forward(_ context.Context, in ...f32) (f32, error) {
	if len(in) != 2 || in[0].Size() != in[1].Size() {
		return nil, fmt.Errorf("%w: %s needs two inputs of one shape", tensor.ErrShape, n.op)
	}
	out := in[0].Copy()
	for i, y := range in[1].Data() {
		if n.op == "Add" {
			out.Data()[i] += y
		} else {
			out.Data()[i] *= y
		}
	}
	return out, nil
}

func (n *binary) Backward(_ context.Context, g f32, in ...f32) ([]f32, error) {
	if n.op == "Add" {
		return []f32{g, g}, nil // deliberately shared: the graph must not add into it
	}
	ga, gb := g.Copy(), g.Copy()
	for i := range g.Data() {
		ga.Data()[i] *= in[1].Data()[i]
		gb.Data()[i] *= in[0].Data()[i]
	}
	return []f32{ga, gb}, nil
}

// sum reduces everything to a scalar.
type sum struct{ base }

func newSum() *sum { return &sum{base{"ReduceSum"}} }

func (n *sum) OutputShape() []int { return []int{} }

func (n *sum) Forward(_ context.Context, in ...f32) (f32, error) {
	var s float32
	for _, v := range in[0].Data() {
		s += v
	}
	return tensor.Scalar(s), nil
}

func (n *sum) Backward(_ context.Context, g f32, in ...f32) ([]f32, error) {
	d := make([]float32, in[0].Size())
	for i := range d {
		d[i] = g.Data()[0]
	}
	return []f32{tensor.Must(tensor.New(in[0].Shape(), d))}, nil
}

// dense computes x·W for x [n, in] and a parameter W [in, out].
type dense struct {
	base
	w *graph.Parameter[float32]
}

func newDense(name string, in, out int, w ...float32) *dense {
	p, err := graph.NewParameter(name+".W", mat(in, out, w...))
	if err != nil {
		panic(err)
	}
	return &dense{base{"MatMul"}, p}
}

func (n *dense) Parameters() []*graph.Parameter[float32] { return []*graph.Parameter[float32]{n.w} }
func (n *dense) OutputShape() []int                      { return []int{-1, n.w.Value.Dim(1)} }

func (n *dense) InferShape(in ...[]int) ([]int, error) {
	k := n.w.Value.Dim(0)
	if len(in) != 1 {
		return nil, fmt.Errorf("%w: MatMul takes 1 input, got %d", tensor.ErrShape, len(in))
	}
	s := in[0]
	if s != nil && (len(s) != 2 || (s[1] >= 0 && s[1] != k)) {
		return nil, fmt.Errorf("%w: input %v cannot multiply weight %v", tensor.ErrShape, s, n.w.Value.Shape())
	}
	r := -1
	if s != nil {
		r = s[0]
	}
	return []int{r, n.w.Value.Dim(1)}, nil
}

func (n *dense) Forward(_ context.Context, in ...f32) (f32, error) {
	x, w := in[0], n.w.Value
	rows, k, cols := x.Dim(0), w.Dim(0), w.Dim(1)
	if x.Dims() != 2 || x.Dim(1) != k {
		return nil, fmt.Errorf("%w: x %v, W %v", tensor.ErrShape, x.Shape(), w.Shape())
	}
	out := make([]float32, rows*cols)
	for i := range rows {
		for j := range cols {
			var s float32
			for p := range k {
				s += x.Data()[i*k+p] * w.Data()[p*cols+j]
			}
			out[i*cols+j] = s
		}
	}
	return mat(rows, cols, out...), nil
}

func (n *dense) Backward(_ context.Context, g f32, in ...f32) ([]f32, error) {
	x, w := in[0], n.w.Value
	rows, k, cols := x.Dim(0), w.Dim(0), w.Dim(1)
	dx := make([]float32, rows*k)
	dw := make([]float32, k*cols)
	for i := range rows {
		for j := range cols {
			gij := g.Data()[i*cols+j]
			for p := range k {
				dx[i*k+p] += gij * w.Data()[p*cols+j]
				dw[p*cols+j] += gij * x.Data()[i*k+p]
			}
		}
	}
	if err := n.w.AccumulateGradient(nil, mat(k, cols, dw...)); err != nil {
		return nil, err
	}
	return []f32{mat(rows, k, dx...)}, nil
}

// failing returns err from Forward or Backward.
type failing struct {
	base
	fwd, bwd error
}

func (n *failing) Forward(_ context.Context, in ...f32) (f32, error) {
	if n.fwd != nil {
		return nil, n.fwd
	}
	return in[0], nil
}

func (n *failing) Backward(_ context.Context, g f32, in ...f32) ([]f32, error) {
	if n.bwd != nil {
		return nil, n.bwd
	}
	return []f32{g}, nil
}

// u8const is a Node[uint8] with no inputs that returns fixed codes (a
// stand-in for layers/core.Constant).
type u8const struct{ v *tensor.Tensor[uint8] }

func (n *u8const) OpType() string                        { return "Constant" }
func (n *u8const) Attributes() map[string]any            { return map[string]any{} }
func (n *u8const) OutputShape() []int                    { return n.v.Shape() }
func (n *u8const) Parameters() []*graph.Parameter[uint8] { return nil }
func (n *u8const) Forward(context.Context, ...*tensor.Tensor[uint8]) (*tensor.Tensor[uint8], error) {
	return n.v, nil
}
func (n *u8const) Backward(context.Context, *tensor.Tensor[uint8], ...*tensor.Tensor[uint8]) ([]*tensor.Tensor[uint8], error) {
	return nil, nil
}

// dequantMul is a MixedNode[float32]: y = x ⊙ s·(c − 8) for float32 x,
// uint8 codes c and a trainable scalar scale s.
type dequantMul struct {
	s *graph.Parameter[float32]
}

func newDequantMul(s float32) *dequantMul {
	p, _ := graph.NewParameter("scale", tensor.Scalar(s))
	return &dequantMul{p}
}

func (n *dequantMul) OpType() string             { return "DequantMul" }
func (n *dequantMul) Attributes() map[string]any { return map[string]any{"zero_point": 8} }
func (n *dequantMul) OutputShape() []int         { return []int{-1} }
func (n *dequantMul) Parameters() []*graph.Parameter[float32] {
	return []*graph.Parameter[float32]{n.s}
}
func (n *dequantMul) InputDTypes() []numeric.DType {
	return []numeric.DType{numeric.Float32, numeric.Uint8}
}

func (n *dequantMul) args(in []tensor.Any) (f32, *tensor.Tensor[uint8], error) {
	if len(in) != 2 {
		return nil, nil, fmt.Errorf("%w: DequantMul takes 2 inputs", graph.ErrArity)
	}
	x, ok1 := in[0].(f32)
	c, ok2 := in[1].(*tensor.Tensor[uint8])
	if !ok1 || !ok2 {
		return nil, nil, fmt.Errorf("%w: DequantMul takes (float32, uint8)", graph.ErrDType)
	}
	if x.Size() != c.Size() {
		return nil, nil, fmt.Errorf("%w: %v vs %v", tensor.ErrShape, x.Shape(), c.Shape())
	}
	return x, c, nil
}

func (n *dequantMul) ForwardAny(_ context.Context, in ...tensor.Any) (f32, error) {
	x, c, err := n.args(in)
	if err != nil {
		return nil, err
	}
	out := x.Copy()
	for i, code := range c.Data() {
		out.Data()[i] *= n.s.Value.Data()[0] * (float32(code) - 8)
	}
	return out, nil
}

func (n *dequantMul) BackwardAny(_ context.Context, g f32, in ...tensor.Any) ([]f32, error) {
	x, c, err := n.args(in)
	if err != nil {
		return nil, err
	}
	dx := g.Copy()
	var ds float32
	for i, code := range c.Data() {
		q := float32(code) - 8
		dx.Data()[i] *= n.s.Value.Data()[0] * q
		ds += g.Data()[i] * x.Data()[i] * q
	}
	if err := n.s.AccumulateGradient(nil, tensor.Scalar(ds)); err != nil {
		return nil, err
	}
	return []f32{dx, nil}, nil
}

// shapeOf is an ONNX-style Shape op: a MixedNode[int64] with a float input.
type shapeOf struct{}

func (shapeOf) OpType() string                        { return "Shape" }
func (shapeOf) Attributes() map[string]any            { return map[string]any{} }
func (shapeOf) OutputShape() []int                    { return []int{-1} }
func (shapeOf) Parameters() []*graph.Parameter[int64] { return nil }
func (shapeOf) ForwardAny(_ context.Context, in ...tensor.Any) (*tensor.Tensor[int64], error) {
	s := in[0].Shape()
	v := make([]int64, len(s))
	for i, d := range s {
		v[i] = int64(d)
	}
	return tensor.New([]int{len(v)}, v)
}
func (shapeOf) BackwardAny(context.Context, *tensor.Tensor[int64], ...tensor.Any) ([]*tensor.Tensor[int64], error) {
	return nil, errors.New("Shape has no gradient")
}

// reverse is a Node[int64] reversing a vector (shape arithmetic in int64).
type reverse struct{}

func (reverse) OpType() string                        { return "Reverse" }
func (reverse) Attributes() map[string]any            { return map[string]any{} }
func (reverse) OutputShape() []int                    { return []int{-1} }
func (reverse) Parameters() []*graph.Parameter[int64] { return nil }
func (reverse) Forward(_ context.Context, in ...*tensor.Tensor[int64]) (*tensor.Tensor[int64], error) {
	out := in[0].Copy()
	d := out.Data()
	for i, j := 0, len(d)-1; i < j; i, j = i+1, j-1 {
		d[i], d[j] = d[j], d[i]
	}
	return out, nil
}
func (reverse) Backward(context.Context, *tensor.Tensor[int64], ...*tensor.Tensor[int64]) ([]*tensor.Tensor[int64], error) {
	return nil, errors.New("Reverse has no gradient")
}

// reshape is a MixedNode[float32] taking (x float32, shape int64), like
// ONNX Reshape; it weights the output by position so gradients are
// distinguishable: y[i] = x[i]·(i+1).
type reshape struct{}

func (reshape) OpType() string                          { return "Reshape" }
func (reshape) Attributes() map[string]any              { return map[string]any{} }
func (reshape) OutputShape() []int                      { return nil }
func (reshape) Parameters() []*graph.Parameter[float32] { return nil }
func (reshape) InputDTypes() []numeric.DType {
	return []numeric.DType{numeric.Float32, numeric.Int64}
}
func (reshape) ForwardAny(_ context.Context, in ...tensor.Any) (f32, error) {
	x, s := in[0].(f32), in[1].(*tensor.Tensor[int64])
	dims := make([]int, s.Size())
	for i, d := range s.Data() {
		dims[i] = int(d)
	}
	out, err := x.Copy().Reshape(dims...)
	if err != nil {
		return nil, err
	}
	for i := range out.Data() {
		out.Data()[i] *= float32(i + 1)
	}
	return out, nil
}
func (reshape) BackwardAny(_ context.Context, g f32, in ...tensor.Any) ([]f32, error) {
	dx, err := g.Copy().Reshape(in[0].Shape()...)
	if err != nil {
		return nil, err
	}
	for i := range dx.Data() {
		dx.Data()[i] *= float32(i + 1)
	}
	return []f32{dx, nil}, nil
}
