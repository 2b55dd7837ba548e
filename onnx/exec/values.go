package exec

import (
	"context"
	"fmt"
	"math"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
	"github.com/zerfoo/zerfoo/tensor"
)

// elem is an element type that both ONNX files and Zerfoo tensors know.
type elem interface {
	onnx.Element
	tensor.Numeric
}

func viewTensor[T elem](m *onnx.Model, t *onnxpb.TensorProto, shape []int) (tensor.Any, error) {
	d, err := onnx.TensorView[T](m, t)
	if err != nil {
		return nil, err
	}
	return tensor.New(shape, d)
}

// decodeTensor turns a TensorProto into a tensor, aliasing the model's
// memory when onnx.TensorView can. BOOL becomes uint8, INT4 int8 and UINT4
// uint8 (one element per value). A tensor that would decode to more than
// limit (counting a tensor without elements as if its zero dims were 1) is
// an error wrapping budget.ErrExceeded.
func decodeTensor(m *onnx.Model, t *onnxpb.TensorProto, limit budget.Limit) (tensor.Any, error) {
	shape := make([]int, len(t.GetDims()))
	extent := make([]int, len(t.GetDims()))
	for i, d := range t.GetDims() {
		if d < 0 || d > 1<<40 {
			return nil, fmt.Errorf("exec: tensor %q: bad dim %d: %w", t.GetName(), d, onnx.ErrInvalid)
		}
		shape[i], extent[i] = int(d), max(int(d), 1)
	}
	if _, err := onnx.NumElements(t.GetDims()); err != nil {
		return nil, err
	}
	dt := onnx.DataType(t.GetDataType())
	if err := limit.CheckElems(fmt.Sprintf("tensor %q (%s%v)", t.GetName(), dt, shape), max(1, dt.Bits()/8), extent...); err != nil {
		return nil, err
	}
	switch dt {
	case onnx.Float32:
		return viewTensor[float32](m, t, shape)
	case onnx.Float64:
		return viewTensor[float64](m, t, shape)
	case onnx.Float16:
		return viewTensor[numeric.Float16](m, t, shape)
	case onnx.BFloat16:
		return viewTensor[numeric.BFloat16](m, t, shape)
	case onnx.Int8, onnx.Int4:
		return viewTensor[int8](m, t, shape)
	case onnx.Uint8, onnx.Bool, onnx.Uint4:
		return viewTensor[uint8](m, t, shape)
	case onnx.Int16:
		return viewTensor[int16](m, t, shape)
	case onnx.Int32:
		return viewTensor[int32](m, t, shape)
	case onnx.Int64:
		return viewTensor[int64](m, t, shape)
	case onnx.Uint16:
		return viewTensor[uint16](m, t, shape)
	case onnx.Uint32:
		return viewTensor[uint32](m, t, shape)
	case onnx.Uint64:
		return viewTensor[uint64](m, t, shape)
	case onnx.String:
		b, err := m.TensorStrings(t)
		if err != nil {
			return nil, err
		}
		s := make([]string, len(b))
		for i, v := range b {
			s[i] = string(v)
		}
		return tensor.NewStrings(shape, s)
	default:
		return nil, fmt.Errorf("exec: tensor %q: element type %s: %w", t.GetName(), dt, onnx.ErrUnsupported)
	}
}

// dtypeOf maps an ONNX element type to the Zerfoo element type used for it.
func dtypeOf(dt onnx.DataType) (numeric.DType, error) {
	if dt == onnx.Bool {
		return numeric.Uint8, nil
	}
	d, ok := dt.NumericDType()
	if !ok {
		return numeric.Invalid, fmt.Errorf("element type %s: %w", dt, onnx.ErrUnsupported)
	}
	return d, nil
}

func isFloat(d numeric.DType) bool {
	switch d {
	case numeric.Float32, numeric.Float64, numeric.Float16Type, numeric.BFloat16Type:
		return true
	}
	return false
}

// floats returns t's elements as float32. For a float32 tensor it returns
// the tensor's own slice, which must not be modified.
func floats(t tensor.Any) ([]float32, error) {
	switch v := t.(type) {
	case *tensor.Tensor[float32]:
		return v.Data(), nil
	case *tensor.Tensor[numeric.Float16]:
		d := make([]float32, v.Size())
		numeric.Float16SliceToFloat32(d, v.Data())
		return d, nil
	case *tensor.Tensor[numeric.BFloat16]:
		d := make([]float32, v.Size())
		numeric.BFloat16SliceToFloat32(d, v.Data())
		return d, nil
	case *tensor.Tensor[float64]:
		return convSlice[float64, float32](v.Data()), nil
	case *tensor.Tensor[int64]:
		return convSlice[int64, float32](v.Data()), nil
	case *tensor.Tensor[int32]:
		return convSlice[int32, float32](v.Data()), nil
	case *tensor.Tensor[int16]:
		return convSlice[int16, float32](v.Data()), nil
	case *tensor.Tensor[int8]:
		return convSlice[int8, float32](v.Data()), nil
	case *tensor.Tensor[uint8]:
		return convSlice[uint8, float32](v.Data()), nil
	case *tensor.Tensor[uint16]:
		return convSlice[uint16, float32](v.Data()), nil
	case *tensor.Tensor[uint32]:
		return convSlice[uint32, float32](v.Data()), nil
	case *tensor.Tensor[uint64]:
		return convSlice[uint64, float32](v.Data()), nil
	}
	return nil, typeErr("element type %s is not numeric here", t.DType())
}

// fromFloats builds a tensor of float element type dt from float32 values
// (rounding to nearest even for float16 and bfloat16). d may be kept.
func fromFloats(dt numeric.DType, shape []int, d []float32) (tensor.Any, error) {
	switch dt {
	case numeric.Float32:
		return tensor.New(shape, d)
	case numeric.Float16Type:
		h := make([]numeric.Float16, len(d))
		numeric.Float32SliceToFloat16(h, d)
		return tensor.New(shape, h)
	case numeric.BFloat16Type:
		h := make([]numeric.BFloat16, len(d))
		numeric.Float32SliceToBFloat16(h, d)
		return tensor.New(shape, h)
	case numeric.Float64:
		return tensor.New(shape, convSlice[float32, float64](d))
	}
	return nil, typeErr("element type %s is not a float type", dt)
}

type real interface {
	~int8 | ~uint8 | ~int16 | ~uint16 | ~int32 | ~uint32 | ~int64 | ~uint64 | ~float32 | ~float64
}

func convSlice[S, D real](s []S) []D {
	d := make([]D, len(s))
	for i, v := range s {
		d[i] = D(v)
	}
	return d
}

// ints returns t's elements as int64 (for shapes, axes, indices, and the
// integer arithmetic). For an int64 tensor it returns the tensor's own
// slice. uint64 elements keep their bits: values from 2⁶³ up become
// negative, which addition, subtraction, multiplication and the conversion
// back by intsAs preserve; kernels whose result depends on the order of
// the values (division, comparison) treat uint64 apart (flipSign,
// binaryUint64) or use the typed kernels.
func ints(t tensor.Any) ([]int64, error) {
	switch v := t.(type) {
	case *tensor.Tensor[int64]:
		return v.Data(), nil
	case *tensor.Tensor[int32]:
		return convSlice[int32, int64](v.Data()), nil
	case *tensor.Tensor[int16]:
		return convSlice[int16, int64](v.Data()), nil
	case *tensor.Tensor[int8]:
		return convSlice[int8, int64](v.Data()), nil
	case *tensor.Tensor[uint8]:
		return convSlice[uint8, int64](v.Data()), nil
	case *tensor.Tensor[uint16]:
		return convSlice[uint16, int64](v.Data()), nil
	case *tensor.Tensor[uint32]:
		return convSlice[uint32, int64](v.Data()), nil
	case *tensor.Tensor[uint64]:
		return convSlice[uint64, int64](v.Data()), nil
	}
	return nil, typeErr("element type %s, want an integer type", t.DType())
}

// newTensor makes a zero tensor of element type dt, checked against the
// run's budget.
func newTensor(ctx context.Context, dt numeric.DType, shape []int) (tensor.Any, error) {
	if err := checkOut(ctx, dt, shape); err != nil {
		return nil, err
	}
	n, err := tensor.SizeOf(shape)
	if err != nil {
		return nil, err
	}
	switch dt {
	case numeric.Float32:
		return tensor.New(shape, make([]float32, n))
	case numeric.Float64:
		return tensor.New(shape, make([]float64, n))
	case numeric.Float16Type:
		return tensor.New(shape, make([]numeric.Float16, n))
	case numeric.BFloat16Type:
		return tensor.New(shape, make([]numeric.BFloat16, n))
	case numeric.Int8:
		return tensor.New(shape, make([]int8, n))
	case numeric.Uint8:
		return tensor.New(shape, make([]uint8, n))
	case numeric.Int16:
		return tensor.New(shape, make([]int16, n))
	case numeric.Int32:
		return tensor.New(shape, make([]int32, n))
	case numeric.Int64:
		return tensor.New(shape, make([]int64, n))
	case numeric.Uint16:
		return tensor.New(shape, make([]uint16, n))
	case numeric.Uint32:
		return tensor.New(shape, make([]uint32, n))
	case numeric.Uint64:
		return tensor.New(shape, make([]uint64, n))
	}
	return nil, typeErr("element type %s is not supported", dt)
}

// move builds a tensor of the given shape from runs of consecutive elements
// of srcs (which share an element type): plan calls emit(src, off, n) for
// each run, in output order. The output is checked against the run's
// budget first; plan is not called for an output without elements.
func move(ctx context.Context, srcs []tensor.Any, shape []int, plan func(emit func(src, off, n int))) (tensor.Any, error) {
	if err := checkOut(ctx, srcs[0].DType(), shape); err != nil {
		return nil, err
	}
	switch srcs[0].(type) {
	case *tensor.Strings:
		return moveStrings(srcs, shape, plan)
	case *tensor.Tensor[float32]:
		return moveT[float32](srcs, shape, plan)
	case *tensor.Tensor[float64]:
		return moveT[float64](srcs, shape, plan)
	case *tensor.Tensor[numeric.Float16]:
		return moveT[numeric.Float16](srcs, shape, plan)
	case *tensor.Tensor[numeric.BFloat16]:
		return moveT[numeric.BFloat16](srcs, shape, plan)
	case *tensor.Tensor[int8]:
		return moveT[int8](srcs, shape, plan)
	case *tensor.Tensor[uint8]:
		return moveT[uint8](srcs, shape, plan)
	case *tensor.Tensor[int16]:
		return moveT[int16](srcs, shape, plan)
	case *tensor.Tensor[int32]:
		return moveT[int32](srcs, shape, plan)
	case *tensor.Tensor[int64]:
		return moveT[int64](srcs, shape, plan)
	case *tensor.Tensor[uint16]:
		return moveT[uint16](srcs, shape, plan)
	case *tensor.Tensor[uint32]:
		return moveT[uint32](srcs, shape, plan)
	case *tensor.Tensor[uint64]:
		return moveT[uint64](srcs, shape, plan)
	}
	return nil, typeErr("element type %s is not supported", srcs[0].DType())
}

func moveT[T tensor.Numeric](srcs []tensor.Any, shape []int, plan func(emit func(src, off, n int))) (tensor.Any, error) {
	ss := make([][]T, len(srcs))
	for i, s := range srcs {
		t, ok := s.(*tensor.Tensor[T])
		if !ok {
			return nil, typeErr("input %d has element type %s, input 0 %s", i, s.DType(), srcs[0].DType())
		}
		ss[i] = t.Data()
	}
	out, err := moveData(ss, shape, plan)
	if err != nil {
		return nil, err
	}
	return tensor.New(shape, out)
}

// moveData runs plan over the sources' element slices ss, collecting the
// runs it emits into one slice of shape's size.
func moveData[T any](ss [][]T, shape []int, plan func(emit func(src, off, n int))) ([]T, error) {
	n, err := tensor.SizeOf(shape)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, n)
	if n > 0 {
		plan(func(src, off, k int) { out = append(out, ss[src][off:off+k]...) })
	}
	if len(out) != n {
		return nil, shapeErr("internal: produced %d elements for shape %v", len(out), shape)
	}
	return out, nil
}

// flipSign maps uint64 values held in int64 (as ints returns them) to int64
// values in the same order, in place: x ↦ x − 2⁶³. It is its own inverse.
func flipSign(v []int64) {
	for i := range v {
		v[i] ^= math.MinInt64
	}
}

// binaryUint64 is binaryArith's integer path for uint64, whose elements x
// and y hold as ints returns them: addition, subtraction and
// multiplication keep their bits in int64; division divides unsigned.
// (Max, Min and Pow have typed kernels.)
func binaryUint64(name string, op arith, x, y []int64, as, bs, os []int) (tensor.Any, error) {
	switch name {
	case "Div":
		u, v := convSlice[int64, uint64](x), convSlice[int64, uint64](y)
		return tensor.New(os, binLoop(u, v, as, bs, os, func(p, q uint64) uint64 { return p / q }))
	}
	return tensor.New(os, convSlice[int64, uint64](binLoop(x, y, as, bs, os, op.i64)))
}

// moveStrings is moveT for string tensors.
func moveStrings(srcs []tensor.Any, shape []int, plan func(emit func(src, off, n int))) (tensor.Any, error) {
	ss := make([][]string, len(srcs))
	for i, s := range srcs {
		t, ok := s.(*tensor.Strings)
		if !ok {
			return nil, typeErr("input %d has element type %s, input 0 %s", i, s.DType(), srcs[0].DType())
		}
		ss[i] = t.Data()
	}
	out, err := moveData(ss, shape, plan)
	if err != nil {
		return nil, err
	}
	return tensor.NewStrings(shape, out)
}

// reshape returns t with a new shape, sharing its data.
func reshape(t tensor.Any, shape []int) (tensor.Any, error) {
	switch v := t.(type) {
	case *tensor.Strings:
		return v.Reshape(shape...)
	case *tensor.Tensor[float32]:
		return v.Reshape(shape...)
	case *tensor.Tensor[float64]:
		return v.Reshape(shape...)
	case *tensor.Tensor[numeric.Float16]:
		return v.Reshape(shape...)
	case *tensor.Tensor[numeric.BFloat16]:
		return v.Reshape(shape...)
	case *tensor.Tensor[int8]:
		return v.Reshape(shape...)
	case *tensor.Tensor[uint8]:
		return v.Reshape(shape...)
	case *tensor.Tensor[int16]:
		return v.Reshape(shape...)
	case *tensor.Tensor[int32]:
		return v.Reshape(shape...)
	case *tensor.Tensor[int64]:
		return v.Reshape(shape...)
	case *tensor.Tensor[uint16]:
		return v.Reshape(shape...)
	case *tensor.Tensor[uint32]:
		return v.Reshape(shape...)
	case *tensor.Tensor[uint64]:
		return v.Reshape(shape...)
	}
	return nil, typeErr("element type %s is not supported", t.DType())
}

func prod(s []int) int {
	p := 1
	for _, d := range s {
		p *= d
	}
	return p
}

// normAxis maps a possibly negative axis into [0, rank).
func normAxis(axis int64, rank int) (int, error) {
	a := axis
	if a < 0 {
		a += int64(rank)
	}
	if a < 0 || a >= int64(rank) {
		return 0, shapeErr("axis %d out of range for rank %d", axis, rank)
	}
	return int(a), nil
}
