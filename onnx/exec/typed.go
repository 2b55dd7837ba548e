package exec

import (
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// typed holds the kernels whose bodies are generic over one real element
// type T (see kernelsOf). Its methods take tensors of element type T and
// return results of element type T unless they say otherwise.
type typed[T num] struct{}

// num are the element types with typed kernels: the real element types
// tensors hold.
type num interface {
	float32 | float64 | int8 | uint8 | int16 | uint16 | int32 | uint32 | int64 | uint64
}

// kernels are the typed kernels, one instance per real element type; the
// methods are declared on typed[T] in the files of the ops that use them.
type kernels interface {
	signK(x tensor.Any) (tensor.Any, error)
	modK(a, b tensor.Any, os []int, fmod bool) (tensor.Any, error)
	clipK(x, lo, hi tensor.Any) (tensor.Any, error)
	minMaxK(a, b tensor.Any, os []int, isMax bool) (tensor.Any, error)
	powIntK(a, b tensor.Any, os []int) (tensor.Any, error)
	shiftK(a, b tensor.Any, os []int, left bool) (tensor.Any, error)
	shrinkK(x tensor.Any, bias, lambd float64) (tensor.Any, error)
	preluK(x, slope tensor.Any, os []int) (tensor.Any, error)
	scatterK(data tensor.Any, at []int, upd tensor.Any, reduction string) (tensor.Any, error)
	argK(x tensor.Any, outer, n, inner int, isMax, last bool) []int64
	topKK(x tensor.Any, os []int, outer, n, inner, k int, largest bool) (tensor.Any, []int64, error)
	cumSumK(x tensor.Any, outer, n, inner int, exclusive, reverse bool) (tensor.Any, error)
	cmpK(x tensor.Any) func(i, j int) int
	extremaK(x tensor.Any, oi []int, n int, os []int, isMax bool) (tensor.Any, error)
}

// kernelsOf maps an element type to its typed kernels. The half-precision
// floats have none: they are widened to float32 (see typedArgs) and rounded
// back (narrow), as the engine does for them.
var kernelsOf = map[numeric.DType]kernels{
	numeric.Float32: typed[float32]{},
	numeric.Float64: typed[float64]{},
	numeric.Int8:    typed[int8]{},
	numeric.Uint8:   typed[uint8]{},
	numeric.Int16:   typed[int16]{},
	numeric.Int32:   typed[int32]{},
	numeric.Int64:   typed[int64]{},
	numeric.Uint16:  typed[uint16]{},
	numeric.Uint32:  typed[uint32]{},
	numeric.Uint64:  typed[uint64]{},
}

// isHalf reports whether dt is one of the 16-bit float types computed in
// float32.
func isHalf(dt numeric.DType) bool {
	return dt == numeric.Float16Type || dt == numeric.BFloat16Type
}

// typedArgs returns the typed kernels for the element type of the non-nil
// tensors in, which must all have the same one, and the tensors with
// float16 and bfloat16 widened to float32. Call narrow with the returned
// dtype on a result of the widened type.
func typedArgs(op string, in ...tensor.Any) (kernels, []tensor.Any, numeric.DType, error) {
	dt := numeric.Invalid
	for _, x := range in {
		if x == nil {
			continue
		}
		if dt == numeric.Invalid {
			dt = x.DType()
		} else if x.DType() != dt {
			return nil, nil, dt, typeErr("%s of %s and %s: element types differ", op, dt, x.DType())
		}
	}
	if !isHalf(dt) {
		k, ok := kernelsOf[dt]
		if !ok {
			return nil, nil, dt, typeErr("%s of element type %s is not supported", op, dt)
		}
		return k, in, dt, nil
	}
	out := make([]tensor.Any, len(in))
	for i, x := range in {
		if x == nil {
			continue
		}
		f, err := floats(x)
		if err != nil {
			return nil, nil, dt, err
		}
		if out[i], err = tensor.New(x.Shape(), f); err != nil {
			return nil, nil, dt, err
		}
	}
	return kernelsOf[numeric.Float32], out, dt, nil
}

// narrow rounds v, a float32 result computed for element type dt by the
// kernels typedArgs returned, back to dt. Other results are returned as they
// are.
func narrow(dt numeric.DType, v tensor.Any, err error) (tensor.Any, error) {
	if err != nil || !isHalf(dt) {
		return v, err
	}
	f, ok := v.(*tensor.Tensor[float32])
	if !ok {
		return v, nil
	}
	return fromFloats(dt, f.Shape(), f.Data())
}

// elemsOf returns the elements of x, a tensor of element type T.
func elemsOf[T num](x tensor.Any) []T {
	return x.(*tensor.Tensor[T]).Data()
}

// isFloatT reports whether T is a float type.
func isFloatT[T num]() bool {
	var z T
	switch any(z).(type) {
	case float32, float64:
		return true
	}
	return false
}

// isSignedT reports whether T can hold negative values.
func isSignedT[T num]() bool {
	var z T
	return z-1 < z
}
