package ops

import (
	"context"
	"math"
	"slices"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/tensor"
)

// insertAt copies src into dst with src's element [i0, i1, ...] landing on
// dst's element [starts[0]+i0, starts[1]+i1, ...]. The caller has checked
// that the region fits.
func insertAt[T tensor.Numeric](dst, src *tensor.Tensor[T], starts []int) {
	ss := src.Shape()
	r := len(ss)
	sd, dd := src.Data(), dst.Data()
	if len(sd) == 0 {
		return
	}
	if r == 0 {
		dd[0] = sd[0]
		return
	}
	ds := dst.Strides()
	inner := ss[r-1]
	idx := make([]int, r-1)
	for row := 0; row < len(sd)/inner; row++ {
		off := starts[r-1]
		for i, x := range idx {
			off += (x + starts[i]) * ds[i]
		}
		copy(dd[off:off+inner], sd[row*inner:(row+1)*inner])
		for i := r - 2; i >= 0; i-- {
			idx[i]++
			if idx[i] < ss[i] {
				break
			}
			idx[i] = 0
		}
	}
}

// Slice is the ONNX Slice node with steps of 1 and its starts, ends and axes
// fixed at construction. Negative starts and ends count from the end of the
// axis; both are clamped to the axis. It takes one input.
type Slice[T tensor.Numeric] struct {
	base[T]
	starts, ends, axes []int
}

var (
	_ graph.Node[float32] = (*Slice[float32])(nil)
	_ graph.ShapeInferer  = (*Slice[float32])(nil)
)

// NewSlice returns a node taking x[starts[i]:ends[i]] on axis axes[i] (axes
// nil: 0, 1, ...). Axes not listed are kept whole. Use math.MaxInt as an end
// meaning "to the end".
func NewSlice[T tensor.Numeric](e compute.Engine[T], starts, ends, axes []int) *Slice[T] {
	return &Slice[T]{base: base[T]{e: e, op: "Slice"}, starts: slices.Clone(starts), ends: slices.Clone(ends), axes: slices.Clone(axes)}
}

// Attributes returns "starts", "ends" and "axes" (when given).
func (n *Slice[T]) Attributes() map[string]any {
	m := map[string]any{"starts": slices.Clone(n.starts), "ends": slices.Clone(n.ends)}
	if n.axes != nil {
		m["axes"] = slices.Clone(n.axes)
	}
	return m
}

// resolve returns per-axis starts and ends for an input of shape in.
func (n *Slice[T]) resolve(in []int) (lo, hi []int, err error) {
	if len(n.starts) != len(n.ends) || (n.axes != nil && len(n.axes) != len(n.starts)) {
		return nil, nil, n.errf(tensor.ErrShape, "starts %v, ends %v and axes %v differ in length", n.starts, n.ends, n.axes)
	}
	lo = make([]int, len(in))
	hi = slices.Clone(in)
	seen := make([]bool, len(in))
	for i := range n.starts {
		a := i
		if n.axes != nil {
			a = n.axes[i]
		}
		if a, err = n.normAxis(a, len(in)); err != nil {
			return nil, nil, err
		}
		if seen[a] {
			return nil, nil, n.errf(tensor.ErrIndex, "axis %d repeated in axes %v", a, n.axes)
		}
		seen[a] = true
		d := in[a]
		if d < 0 { // dynamic axis (shape inference only)
			lo[a], hi[a] = 0, -1
			continue
		}
		s, e := clampIndex(n.starts[i], d), clampIndex(n.ends[i], d)
		lo[a], hi[a] = s, max(s, e)
	}
	return lo, hi, nil
}

// clampIndex maps a possibly negative index into [0, d].
func clampIndex(i, d int) int {
	if i < 0 {
		if i < math.MinInt/2 {
			return 0
		}
		i += d
	}
	return min(max(i, 0), d)
}

// InferShape returns the sliced shape.
func (n *Slice[T]) InferShape(in ...[]int) ([]int, error) {
	if len(in) != 1 {
		return nil, n.errf(graph.ErrArity, "got %d input shapes, want 1", len(in))
	}
	if in[0] == nil {
		return nil, nil
	}
	lo, hi, err := n.resolve(in[0])
	if err != nil {
		return nil, err
	}
	out := make([]int, len(lo))
	for i := range out {
		out[i] = hi[i] - lo[i]
	}
	return out, nil
}

// Forward copies the slice.
func (n *Slice[T]) Forward(ctx context.Context, inputs ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	if err := n.arity(inputs, 1); err != nil {
		return nil, err
	}
	lo, hi, err := n.resolve(inputs[0].Shape())
	if err != nil {
		return nil, err
	}
	y, err := n.e.Slice(ctx, inputs[0], lo, hi)
	return y, n.wrap(err)
}

// Backward places the output gradient at the slice position in a zero
// tensor of the input's shape.
func (n *Slice[T]) Backward(ctx context.Context, g *tensor.Tensor[T], inputs ...*tensor.Tensor[T]) ([]*tensor.Tensor[T], error) {
	if err := n.arity(inputs, 1); err != nil {
		return nil, err
	}
	if err := n.checkGrad(n, g, inputs); err != nil {
		return nil, err
	}
	lo, _, _ := n.resolve(inputs[0].Shape())
	gx, err := tensor.New[T](inputs[0].Shape(), nil)
	if err != nil {
		return nil, n.wrap(err)
	}
	insertAt(gx, g, lo)
	return []*tensor.Tensor[T]{gx}, nil
}

// Split is output Index of the ONNX Split node: a cut of its one input
// along Axis into pieces of the given sizes. A Split with k outputs is k
// Split nodes differing only in Index.
type Split[T tensor.Numeric] struct {
	base[T]
	axis  int
	sizes []int
	index int
}

var (
	_ graph.Node[float32] = (*Split[float32])(nil)
	_ graph.ShapeInferer  = (*Split[float32])(nil)
)

// NewSplit returns the node yielding piece index of x cut along axis into
// pieces of the given sizes (which must sum to the axis length).
func NewSplit[T tensor.Numeric](e compute.Engine[T], axis int, sizes []int, index int) *Split[T] {
	return &Split[T]{base: base[T]{e: e, op: "Split"}, axis: axis, sizes: slices.Clone(sizes), index: index}
}

// Attributes returns "axis", "split" (the sizes) and "index" (which output
// this node is).
func (n *Split[T]) Attributes() map[string]any {
	return map[string]any{"axis": n.axis, "split": slices.Clone(n.sizes), "index": n.index}
}

// resolve returns the normalized axis and the piece's start and end on it.
func (n *Split[T]) resolve(in []int) (axis, lo, hi int, err error) {
	if axis, err = n.normAxis(n.axis, len(in)); err != nil {
		return 0, 0, 0, err
	}
	if n.index < 0 || n.index >= len(n.sizes) {
		return 0, 0, 0, n.errf(tensor.ErrIndex, "output index %d of %d pieces", n.index, len(n.sizes))
	}
	sum := 0
	for i, s := range n.sizes {
		if s < 0 {
			return 0, 0, 0, n.errf(tensor.ErrShape, "negative size in split %v", n.sizes)
		}
		if i == n.index {
			lo, hi = sum, sum+s
		}
		sum += s
	}
	if in[axis] >= 0 && sum != in[axis] {
		return 0, 0, 0, n.errf(tensor.ErrShape, "split %v sums to %d, axis %d of %v has %d", n.sizes, sum, axis, in, in[axis])
	}
	return axis, lo, hi, nil
}

// InferShape returns the shape of the piece.
func (n *Split[T]) InferShape(in ...[]int) ([]int, error) {
	if len(in) != 1 {
		return nil, n.errf(graph.ErrArity, "got %d input shapes, want 1", len(in))
	}
	if in[0] == nil {
		return nil, nil
	}
	axis, lo, hi, err := n.resolve(in[0])
	if err != nil {
		return nil, err
	}
	out := slices.Clone(in[0])
	out[axis] = hi - lo
	return out, nil
}

// Forward copies the piece.
func (n *Split[T]) Forward(ctx context.Context, inputs ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	if err := n.arity(inputs, 1); err != nil {
		return nil, err
	}
	shape := inputs[0].Shape()
	axis, lo, hi, err := n.resolve(shape)
	if err != nil {
		return nil, err
	}
	starts, ends := make([]int, len(shape)), shape
	starts[axis], ends[axis] = lo, hi
	y, err := n.e.Slice(ctx, inputs[0], starts, ends)
	return y, n.wrap(err)
}

// Backward places the output gradient at the piece's position in a zero
// tensor of the input's shape.
func (n *Split[T]) Backward(ctx context.Context, g *tensor.Tensor[T], inputs ...*tensor.Tensor[T]) ([]*tensor.Tensor[T], error) {
	if err := n.arity(inputs, 1); err != nil {
		return nil, err
	}
	if err := n.checkGrad(n, g, inputs); err != nil {
		return nil, err
	}
	shape := inputs[0].Shape()
	axis, lo, _, _ := n.resolve(shape)
	gx, err := tensor.New[T](shape, nil)
	if err != nil {
		return nil, n.wrap(err)
	}
	starts := make([]int, len(shape))
	starts[axis] = lo
	insertAt(gx, g, starts)
	return []*tensor.Tensor[T]{gx}, nil
}

// Concat is the ONNX Concat node: it joins its inputs (one or more) along
// an axis.
type Concat[T tensor.Numeric] struct {
	base[T]
	axis int
}

var (
	_ graph.Node[float32] = (*Concat[float32])(nil)
	_ graph.ShapeInferer  = (*Concat[float32])(nil)
)

// NewConcat returns a node joining its inputs along axis.
func NewConcat[T tensor.Numeric](e compute.Engine[T], axis int) *Concat[T] {
	return &Concat[T]{base: base[T]{e: e, op: "Concat"}, axis: axis}
}

// Attributes returns "axis".
func (n *Concat[T]) Attributes() map[string]any { return map[string]any{"axis": n.axis} }

// InferShape returns the joined shape.
func (n *Concat[T]) InferShape(in ...[]int) ([]int, error) {
	if len(in) == 0 {
		return nil, n.errf(graph.ErrArity, "no inputs")
	}
	if anyUnknown(in) {
		return nil, nil
	}
	axis, err := n.normAxis(n.axis, len(in[0]))
	if err != nil {
		return nil, err
	}
	out := slices.Clone(in[0])
	for _, s := range in[1:] {
		if len(s) != len(out) {
			return nil, n.errf(tensor.ErrShape, "inputs %v differ in rank", in)
		}
		for i := range s {
			switch {
			case i == axis || s[i] == out[i] || s[i] < 0:
			case out[i] < 0:
				out[i] = s[i]
			default:
				return nil, n.errf(tensor.ErrShape, "inputs %v differ off axis %d", in, axis)
			}
		}
		if out[axis] < 0 || s[axis] < 0 {
			out[axis] = -1
		} else {
			out[axis] += s[axis]
		}
	}
	return out, nil
}

// Forward joins the inputs.
func (n *Concat[T]) Forward(ctx context.Context, inputs ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	if err := n.notNil(inputs); err != nil {
		return nil, err
	}
	if _, err := n.InferShape(shapes(inputs)...); err != nil {
		return nil, err
	}
	y, err := n.e.Concat(ctx, inputs, n.axis)
	return y, n.wrap(err)
}

// Backward splits the output gradient into the inputs' sizes.
func (n *Concat[T]) Backward(ctx context.Context, g *tensor.Tensor[T], inputs ...*tensor.Tensor[T]) ([]*tensor.Tensor[T], error) {
	if err := n.notNil(inputs); err != nil {
		return nil, err
	}
	if err := n.checkGrad(n, g, inputs); err != nil {
		return nil, err
	}
	axis, _ := n.normAxis(n.axis, inputs[0].Dims())
	sizes := make([]int, len(inputs))
	for i, in := range inputs {
		sizes[i] = in.Dim(axis)
	}
	gs, err := n.e.Split(ctx, g, axis, sizes)
	if err != nil {
		return nil, n.wrap(err)
	}
	return gs, nil
}

// Reshape is the ONNX Reshape node with its target shape fixed at
// construction: a 0 copies the input's dimension at that position and one
// −1 is inferred. It takes one input and copies it (the output does not
// share the input's storage).
type Reshape[T tensor.Numeric] struct {
	base[T]
	shape []int
}

var (
	_ graph.Node[float32] = (*Reshape[float32])(nil)
	_ graph.ShapeInferer  = (*Reshape[float32])(nil)
)

// NewReshape returns a node reshaping its input to shape.
func NewReshape[T tensor.Numeric](e compute.Engine[T], shape []int) *Reshape[T] {
	return &Reshape[T]{base: base[T]{e: e, op: "Reshape"}, shape: slices.Clone(shape)}
}

// Attributes returns "shape".
func (n *Reshape[T]) Attributes() map[string]any {
	return map[string]any{"shape": slices.Clone(n.shape)}
}

// OutputShape returns the target shape when it has no 0 or −1 entries, and
// nil otherwise.
func (n *Reshape[T]) OutputShape() []int {
	for _, d := range n.shape {
		if d <= 0 {
			return nil
		}
	}
	return slices.Clone(n.shape)
}

// InferShape resolves the target shape for an input of the given shape.
func (n *Reshape[T]) InferShape(in ...[]int) ([]int, error) {
	if len(in) != 1 {
		return nil, n.errf(graph.ErrArity, "got %d input shapes, want 1", len(in))
	}
	if in[0] == nil || slices.ContainsFunc(in[0], func(d int) bool { return d < 0 }) {
		return n.inferDynamic(in[0])
	}
	size, err := tensor.SizeOf(in[0])
	if err != nil {
		return nil, n.wrap(err)
	}
	out := slices.Clone(n.shape)
	infer, known := -1, 1
	for i, d := range out {
		switch {
		case d == 0:
			if i >= len(in[0]) {
				return nil, n.errf(tensor.ErrShape, "0 at position %d of %v copies a missing axis of %v", i, n.shape, in[0])
			}
			out[i] = in[0][i]
		case d == -1 && infer < 0:
			infer = i
			continue
		case d < 0:
			return nil, n.errf(tensor.ErrShape, "bad target shape %v", n.shape)
		}
		known *= out[i]
	}
	if infer >= 0 {
		if known == 0 || size%known != 0 {
			return nil, n.errf(tensor.ErrShape, "cannot reshape %v to %v", in[0], n.shape)
		}
		out[infer] = size / known
	} else if known != size {
		return nil, n.errf(tensor.ErrShape, "cannot reshape %v (%d elements) to %v", in[0], size, n.shape)
	}
	return out, nil
}

// inferDynamic resolves the target shape as far as possible for an input
// shape with dynamic dimensions (or unknown rank).
func (n *Reshape[T]) inferDynamic(in []int) ([]int, error) {
	out := slices.Clone(n.shape)
	for i, d := range out {
		switch {
		case d == 0 && in == nil:
			return nil, nil
		case d == 0 && i >= len(in):
			return nil, n.errf(tensor.ErrShape, "0 at position %d of %v copies a missing axis of %v", i, n.shape, in)
		case d == 0:
			out[i] = in[i]
		case d < -1:
			return nil, n.errf(tensor.ErrShape, "bad target shape %v", n.shape)
		}
	}
	return out, nil
}

// Forward copies the input into a tensor of the target shape.
func (n *Reshape[T]) Forward(ctx context.Context, inputs ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	if err := n.arity(inputs, 1); err != nil {
		return nil, err
	}
	out, err := n.InferShape(shapes(inputs)...)
	if err != nil {
		return nil, err
	}
	y, err := tensor.New[T](out, nil)
	if err != nil {
		return nil, n.wrap(err)
	}
	return y, n.wrap(n.e.Copy(ctx, y, inputs[0]))
}

// Backward reshapes (a copy of) the output gradient to the input's shape.
func (n *Reshape[T]) Backward(ctx context.Context, g *tensor.Tensor[T], inputs ...*tensor.Tensor[T]) ([]*tensor.Tensor[T], error) {
	if err := n.arity(inputs, 1); err != nil {
		return nil, err
	}
	if err := n.checkGrad(n, g, inputs); err != nil {
		return nil, err
	}
	gx, err := tensor.New[T](inputs[0].Shape(), nil)
	if err != nil {
		return nil, n.wrap(err)
	}
	if err := n.e.Copy(ctx, gx, g); err != nil {
		return nil, n.wrap(err)
	}
	return []*tensor.Tensor[T]{gx}, nil
}
