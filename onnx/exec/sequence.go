package exec

import (
	"context"
	"fmt"
	"strings"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// Sequence is an ONNX sequence value: an ordered list of tensors of one
// element type. It travels through a Program where tensors do (feeds,
// outputs, kernel inputs), so it implements tensor.Any, but it is not a
// tensor: Shape is nil, Size 0 and DType numeric.Invalid. Kernels never
// modify a Sequence they are given; SequenceInsert and the others return a
// new one sharing the tensors.
type Sequence struct {
	Elem   numeric.DType // element type of the tensors (also of an empty sequence)
	Values []tensor.Any
}

// Shape implements tensor.Any: nil.
func (s *Sequence) Shape() []int { return nil }

// Dims implements tensor.Any: 0.
func (s *Sequence) Dims() int { return 0 }

// Size implements tensor.Any: 0 (use len(s.Values)).
func (s *Sequence) Size() int { return 0 }

// DType implements tensor.Any: numeric.Invalid (use s.Elem).
func (s *Sequence) DType() numeric.DType { return numeric.Invalid }

// String describes the sequence, for example "sequence<float32>[2 3] [4]".
func (s *Sequence) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sequence<%s>", s.Elem)
	for _, v := range s.Values {
		fmt.Fprintf(&b, " %v", v.Shape())
	}
	return b.String()
}

// Optional is an ONNX optional value: a tensor, a *Sequence, or nothing
// (Value nil). Like Sequence it implements tensor.Any without being a
// tensor.
type Optional struct {
	Value tensor.Any
}

// Shape implements tensor.Any: nil.
func (o *Optional) Shape() []int { return nil }

// Dims implements tensor.Any: 0.
func (o *Optional) Dims() int { return 0 }

// Size implements tensor.Any: 0.
func (o *Optional) Size() int { return 0 }

// DType implements tensor.Any: numeric.Invalid.
func (o *Optional) DType() numeric.DType { return numeric.Invalid }

// String describes the optional value.
func (o *Optional) String() string {
	if o.Value == nil {
		return "optional(none)"
	}
	return "optional(" + o.Value.String() + ")"
}

// isTensor reports whether v is a tensor (not a Sequence or an Optional).
func isTensor(v tensor.Any) bool {
	switch v.(type) {
	case *Sequence, *Optional:
		return false
	}
	return true
}

func init() {
	Register("", "SequenceEmpty", 11, 0, buildSequenceEmpty)
	Register("", "SequenceConstruct", 11, 0, func(*Node) (Kernel, error) { return one(sequenceConstruct), nil })
	Register("", "SequenceInsert", 11, 0, func(*Node) (Kernel, error) { return one(sequenceInsert), nil })
	Register("", "SequenceAt", 11, 0, func(*Node) (Kernel, error) { return one(sequenceAt), nil })
	Register("", "SequenceErase", 11, 0, func(*Node) (Kernel, error) { return one(sequenceErase), nil })
	Register("", "SequenceLength", 11, 0, func(*Node) (Kernel, error) { return one(sequenceLength), nil })
	Register("", "SplitToSequence", 11, 0, buildSplitToSequence)
	Register("", "ConcatFromSequence", 11, 0, buildConcatFromSequence)
	Register("", "Optional", 15, 0, buildOptional)
	Register("", "OptionalHasElement", 15, 0, func(*Node) (Kernel, error) { return one(optionalHasElement), nil })
	Register("", "OptionalGetElement", 15, 0, func(*Node) (Kernel, error) { return one(optionalGetElement), nil })
}

// present checks that input i is given.
func present(in []tensor.Any, i int) error {
	if i >= len(in) || in[i] == nil {
		return &Error{Msg: fmt.Sprintf("input %d is required", i), Err: ErrInput}
	}
	return nil
}

// seqArg returns input i as a sequence.
func seqArg(in []tensor.Any, i int) (*Sequence, error) {
	if err := present(in, i); err != nil {
		return nil, err
	}
	s, ok := in[i].(*Sequence)
	if !ok {
		return nil, typeErr("input %d is %s, want a sequence", i, valueKind(in[i]))
	}
	return s, nil
}

// tensorArg returns input i, which must be a tensor.
func tensorArg(in []tensor.Any, i int) (tensor.Any, error) {
	if err := present(in, i); err != nil {
		return nil, err
	}
	if !isTensor(in[i]) {
		return nil, typeErr("input %d is %s, want a tensor", i, valueKind(in[i]))
	}
	return in[i], nil
}

// valueKind names what v is, for errors.
func valueKind(v tensor.Any) string {
	switch v := v.(type) {
	case *Sequence:
		return "a sequence of " + v.Elem.String()
	case *Optional:
		return "an optional"
	case nil:
		return "absent"
	}
	return "a tensor of " + v.DType().String()
}

// scalarIndex reads a position input: an int32 or int64 scalar (or
// one-element tensor).
func scalarIndex(v tensor.Any, what string) (int64, error) {
	if !isTensor(v) || (v.DType() != numeric.Int64 && v.DType() != numeric.Int32) || v.Size() != 1 {
		return 0, typeErr("%s is %s%v, want an int32 or int64 scalar", what, valueKind(v), v.Shape())
	}
	d, err := ints(v)
	if err != nil {
		return 0, err
	}
	return d[0], nil
}

// seqPos maps position p (negative counts from the back) into [0, n)
// (into [0, n] when insert).
func seqPos(p int64, n int, insert bool) (int, error) {
	lim := int64(n)
	if insert {
		lim++
	}
	q := p
	if q < 0 {
		q += int64(n)
	}
	if q < 0 || q >= lim {
		return 0, &Error{Msg: fmt.Sprintf("position %d out of range for a sequence of %d", p, n), Err: tensor.ErrIndex}
	}
	return int(q), nil
}

func buildSequenceEmpty(n *Node) (Kernel, error) {
	dt := onnx.Float32
	if n.Has("dtype") {
		v, err := n.Int("dtype", 0)
		if err != nil {
			return nil, err
		}
		dt = onnx.DataType(v)
	}
	elem, err := dtypeOf(dt)
	if err != nil {
		return nil, attrErr("dtype = %d: %v", dt, err)
	}
	return one(func(context.Context, []tensor.Any) (tensor.Any, error) {
		return &Sequence{Elem: elem}, nil
	}), nil
}

func sequenceConstruct(_ context.Context, in []tensor.Any) (tensor.Any, error) {
	if err := need(in, 1); err != nil {
		return nil, err
	}
	s := &Sequence{Elem: in[0].DType(), Values: make([]tensor.Any, len(in))}
	for i := range in {
		x, err := tensorArg(in, i)
		if err != nil {
			return nil, err
		}
		if x.DType() != s.Elem {
			return nil, typeErr("input %d has element type %s, input 0 %s", i, x.DType(), s.Elem)
		}
		s.Values[i] = x
	}
	return s, nil
}

func sequenceInsert(_ context.Context, in []tensor.Any) (tensor.Any, error) {
	s, err := seqArg(in, 0)
	if err != nil {
		return nil, err
	}
	x, err := tensorArg(in, 1)
	if err != nil {
		return nil, err
	}
	if x.DType() != s.Elem {
		return nil, typeErr("tensor of %s inserted into a sequence of %s", x.DType(), s.Elem)
	}
	pos := len(s.Values)
	if p := opt(in, 2); p != nil {
		v, err := scalarIndex(p, "position")
		if err != nil {
			return nil, err
		}
		if pos, err = seqPos(v, len(s.Values), true); err != nil {
			return nil, err
		}
	}
	vals := make([]tensor.Any, 0, len(s.Values)+1)
	vals = append(vals, s.Values[:pos]...)
	vals = append(vals, x)
	vals = append(vals, s.Values[pos:]...)
	return &Sequence{Elem: s.Elem, Values: vals}, nil
}

func sequenceAt(_ context.Context, in []tensor.Any) (tensor.Any, error) {
	s, err := seqArg(in, 0)
	if err != nil {
		return nil, err
	}
	if err := need(in, 2); err != nil {
		return nil, err
	}
	v, err := scalarIndex(in[1], "position")
	if err != nil {
		return nil, err
	}
	pos, err := seqPos(v, len(s.Values), false)
	if err != nil {
		return nil, err
	}
	return s.Values[pos], nil
}

func sequenceErase(_ context.Context, in []tensor.Any) (tensor.Any, error) {
	s, err := seqArg(in, 0)
	if err != nil {
		return nil, err
	}
	pos := len(s.Values) - 1
	if p := opt(in, 1); p != nil {
		v, err := scalarIndex(p, "position")
		if err != nil {
			return nil, err
		}
		if pos, err = seqPos(v, len(s.Values), false); err != nil {
			return nil, err
		}
	} else if pos < 0 {
		return nil, &Error{Msg: "erase from an empty sequence", Err: tensor.ErrIndex}
	}
	vals := make([]tensor.Any, 0, len(s.Values)-1)
	vals = append(vals, s.Values[:pos]...)
	vals = append(vals, s.Values[pos+1:]...)
	return &Sequence{Elem: s.Elem, Values: vals}, nil
}

func sequenceLength(_ context.Context, in []tensor.Any) (tensor.Any, error) {
	s, err := seqArg(in, 0)
	if err != nil {
		return nil, err
	}
	return tensor.New([]int{}, []int64{int64(len(s.Values))})
}

// buildSplitToSequence: split (absent: pieces of 1 along axis, each
// squeezed unless keepdims = 0; a scalar: pieces of that length, the last
// one shorter; a 1-D tensor: those lengths).
func buildSplitToSequence(n *Node) (Kernel, error) {
	axis, err := n.Int("axis", 0)
	if err != nil {
		return nil, err
	}
	keep, err := n.Int("keepdims", 1)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		x, err := tensorArg(in, 0)
		if err != nil {
			return nil, err
		}
		shape := x.Shape()
		ax, err := normAxis(axis, len(shape))
		if err != nil {
			return nil, err
		}
		dim := shape[ax]
		var sizes []int
		squeeze := false
		if sp := opt(in, 1); sp != nil {
			v, err := ints(sp)
			if err != nil {
				return nil, err
			}
			switch {
			case sp.Dims() == 0:
				if v[0] <= 0 {
					return nil, shapeErr("split %d, want > 0", v[0])
				}
				for left := dim; left > 0; left -= int(v[0]) {
					sizes = append(sizes, min(left, int(v[0])))
				}
			case sp.Dims() == 1:
				total := 0
				for _, s := range v {
					if s < 0 || s > int64(dim) {
						return nil, shapeErr("split %v does not fit dim %d of %v", v, dim, shape)
					}
					sizes = append(sizes, int(s))
					total += int(s)
				}
				if total != dim {
					return nil, shapeErr("split %v sums to %d, want dim %d of %v", v, total, dim, shape)
				}
			default:
				return nil, shapeErr("split has rank %d, want 0 or 1", sp.Dims())
			}
		} else {
			sizes = make([]int, dim)
			for i := range sizes {
				sizes[i] = 1
			}
			squeeze = keep == 0
		}
		outer, inner := prod(shape[:ax]), prod(shape[ax+1:])
		seq := &Sequence{Elem: x.DType()}
		off := 0
		for _, sz := range sizes {
			os := append([]int(nil), shape...)
			os[ax] = sz
			start := off
			piece, err := move(ctx, []tensor.Any{x}, os, func(emit func(src, off, n int)) {
				for o := 0; o < outer; o++ {
					emit(0, (o*dim+start)*inner, sz*inner)
				}
			})
			if err != nil {
				return nil, err
			}
			if squeeze {
				os = append(os[:ax:ax], os[ax+1:]...)
				if piece, err = reshape(piece, os); err != nil {
					return nil, err
				}
			}
			seq.Values = append(seq.Values, piece)
			off += sz
		}
		return seq, nil
	}), nil
}

// buildConcatFromSequence concatenates a sequence's tensors along axis, or
// stacks them along a new axis when new_axis = 1.
func buildConcatFromSequence(n *Node) (Kernel, error) {
	if !n.Has("axis") {
		return nil, attrErr("attribute axis is required")
	}
	axis, err := n.Int("axis", 0)
	if err != nil {
		return nil, err
	}
	newAxis, err := n.Int("new_axis", 0)
	if err != nil {
		return nil, err
	}
	if newAxis != 0 && newAxis != 1 {
		return nil, attrErr("new_axis = %d, want 0 or 1", newAxis)
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		s, err := seqArg(in, 0)
		if err != nil {
			return nil, err
		}
		if len(s.Values) == 0 {
			return nil, shapeErr("concatenation of an empty sequence")
		}
		return concatValues(ctx, s.Values, axis, newAxis == 1)
	}), nil
}

// concatValues concatenates xs (one element type, equal shapes but along
// axis) along axis, or stacks them along a new axis at position axis.
func concatValues(ctx context.Context, xs []tensor.Any, axis int64, stack bool) (tensor.Any, error) {
	base := xs[0].Shape()
	rank := len(base)
	if stack {
		rank++
	}
	ax, err := normAxis(axis, rank)
	if err != nil {
		return nil, err
	}
	if stack {
		base = append(append(append([]int(nil), base[:ax]...), 1), base[ax:]...)
	}
	shapes := make([][]int, len(xs))
	total := 0
	for i, x := range xs {
		if x.DType() != xs[0].DType() {
			return nil, typeErr("element %d has element type %s, element 0 %s", i, x.DType(), xs[0].DType())
		}
		s := x.Shape()
		if stack {
			s = append(append(append([]int(nil), s[:ax]...), 1), s[ax:]...)
		}
		if len(s) != len(base) {
			return nil, shapeErr("element %d has shape %v, element 0 %v", i, x.Shape(), xs[0].Shape())
		}
		for d := range s {
			if d != ax && s[d] != base[d] {
				return nil, shapeErr("element %d has shape %v, element 0 %v", i, x.Shape(), xs[0].Shape())
			}
		}
		shapes[i] = s
		total += s[ax]
	}
	os := append([]int(nil), base...)
	os[ax] = total
	outer := prod(base[:ax])
	inner := prod(base[ax+1:])
	return move(ctx, xs, os, func(emit func(src, off, n int)) {
		for o := 0; o < outer; o++ {
			for i, s := range shapes {
				k := s[ax] * inner
				emit(i, o*k, k)
			}
		}
	})
}

func buildOptional(n *Node) (Kernel, error) {
	return one(func(_ context.Context, in []tensor.Any) (tensor.Any, error) {
		v := opt(in, 0)
		if _, ok := v.(*Optional); ok {
			return nil, typeErr("input is an optional, want a tensor or a sequence")
		}
		return &Optional{Value: v}, nil
	}), nil
}

// optionalHasElement: false for an empty optional or an absent input
// (opset 18), true for a full optional, a tensor or a sequence.
func optionalHasElement(_ context.Context, in []tensor.Any) (tensor.Any, error) {
	has := false
	switch v := opt(in, 0).(type) {
	case nil:
	case *Optional:
		has = v.Value != nil
	default:
		has = true
	}
	return tensor.New([]int{}, []uint8{b2u(has)})
}

// optionalGetElement returns what an optional holds (an error when it is
// empty); a tensor or sequence is returned as it is (opset 18).
func optionalGetElement(_ context.Context, in []tensor.Any) (tensor.Any, error) {
	if err := need(in, 1); err != nil {
		return nil, err
	}
	o, ok := in[0].(*Optional)
	if !ok {
		return in[0], nil
	}
	if o.Value == nil {
		return nil, &Error{Msg: "the optional input is empty", Err: ErrInput}
	}
	return o.Value, nil
}
