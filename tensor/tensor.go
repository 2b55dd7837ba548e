// Package tensor provides a generic, dense, row-major N-dimensional array.
//
// A Tensor[T] is a shape and a contiguous slice of elements. Reshape and the
// Slice/Index views share the same storage as their source: writing through
// one is visible through the other. Copy makes an independent tensor. The
// tensor owns a private copy of its shape; Shape returns a copy the caller may
// keep or change.
//
// A Tensor is not safe for concurrent mutation; concurrent reads are fine.
package tensor

import (
	"errors"
	"fmt"
	"math"

	"github.com/zerfoo/zerfoo/numeric"
)

// Numeric is the constraint for tensor element types.
type Numeric = numeric.Number

// ErrShape is the sentinel for every shape-related error: a data length that
// does not match the shape, a negative dimension, an overflowing size,
// incompatible shapes in an operation. Test for it with errors.Is.
var ErrShape = errors.New("tensor: shape error")

// ErrIndex is the sentinel for out-of-range indices and axes.
var ErrIndex = errors.New("tensor: index out of range")

// Any is a tensor of any element type: what a dtype-erased graph edge
// carries. *Tensor[T] implements it for every T.
type Any interface {
	// Shape returns a copy of the dimensions.
	Shape() []int
	// Dims returns the number of dimensions (the rank).
	Dims() int
	// Size returns the number of elements.
	Size() int
	// DType returns the element type.
	DType() numeric.DType
	String() string
}

// Tensor is a dense row-major N-dimensional array of T.
// The zero value is not usable; create tensors with New.
type Tensor[T Numeric] struct {
	shape   []int
	strides []int
	data    []T
}

var _ Any = (*Tensor[float32])(nil)

// New returns a tensor of the given shape. If data is nil, the tensor is
// filled with zeros; otherwise len(data) must equal the product of shape and
// the tensor uses data as its storage (it does not copy it). A shape of
// length zero makes a scalar holding one element.
//
// New returns an error wrapping ErrShape for a negative dimension, a size
// that overflows int, or a data length that does not match.
func New[T Numeric](shape []int, data []T) (*Tensor[T], error) {
	size, err := SizeOf(shape)
	if err != nil {
		return nil, err
	}
	if data == nil {
		data = make([]T, size)
	} else if len(data) != size {
		return nil, fmt.Errorf("%w: data has %d elements, shape %v needs %d", ErrShape, len(data), shape, size)
	}
	s := append([]int(nil), shape...)
	return &Tensor[T]{shape: s, strides: Strides(s), data: data}, nil
}

// Must panics if err is non-nil and otherwise returns t. It is meant for
// tests and for shapes known to be valid.
func Must[T Numeric](t *Tensor[T], err error) *Tensor[T] {
	if err != nil {
		panic(err)
	}
	return t
}

// Scalar returns a rank-0 tensor holding v.
func Scalar[T Numeric](v T) *Tensor[T] {
	return &Tensor[T]{shape: []int{}, strides: []int{}, data: []T{v}}
}

// SizeOf returns the number of elements of shape, or an error wrapping
// ErrShape if a dimension is negative or the product overflows int.
func SizeOf(shape []int) (int, error) {
	size := 1
	for i, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("%w: negative dimension %d at axis %d of shape %v", ErrShape, d, i, shape)
		}
		if d != 0 && size > math.MaxInt/d {
			return 0, fmt.Errorf("%w: size of shape %v overflows int", ErrShape, shape)
		}
		size *= d
	}
	return size, nil
}

// Strides returns the row-major strides of shape (in elements).
func Strides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

// Shape returns a copy of t's dimensions; for a scalar it is empty, not nil.
func (t *Tensor[T]) Shape() []int { return append(make([]int, 0, len(t.shape)), t.shape...) }

// Strides returns a copy of t's row-major strides in elements.
func (t *Tensor[T]) Strides() []int { return append(make([]int, 0, len(t.strides)), t.strides...) }

// Dims returns the rank of t.
func (t *Tensor[T]) Dims() int { return len(t.shape) }

// Dim returns the size of axis i; negative i counts from the end. It panics
// if i is out of range.
func (t *Tensor[T]) Dim(i int) int {
	if i < 0 {
		i += len(t.shape)
	}
	return t.shape[i]
}

// Size returns the number of elements of t.
func (t *Tensor[T]) Size() int { return len(t.data) }

// DType returns the element type of t.
func (t *Tensor[T]) DType() numeric.DType { return numeric.DTypeOf[T]() }

// Data returns t's storage. It is shared, not copied: writes to it change t
// (and every view sharing t's storage).
func (t *Tensor[T]) Data() []T { return t.data }

// offset converts indices to a flat offset.
func (t *Tensor[T]) offset(idx []int) (int, error) {
	if len(idx) != len(t.shape) {
		return 0, fmt.Errorf("%w: %d indices for a tensor of shape %v", ErrIndex, len(idx), t.shape)
	}
	off := 0
	for i, x := range idx {
		if x < 0 || x >= t.shape[i] {
			return 0, fmt.Errorf("%w: index %d on axis %d of shape %v", ErrIndex, x, i, t.shape)
		}
		off += x * t.strides[i]
	}
	return off, nil
}

// At returns the element at the given indices, one per axis.
func (t *Tensor[T]) At(idx ...int) (T, error) {
	off, err := t.offset(idx)
	if err != nil {
		var z T
		return z, err
	}
	return t.data[off], nil
}

// Set stores v at the given indices, one per axis.
func (t *Tensor[T]) Set(v T, idx ...int) error {
	off, err := t.offset(idx)
	if err != nil {
		return err
	}
	t.data[off] = v
	return nil
}

// Reshape returns a view of t with a new shape and the same storage. One
// dimension may be -1, inferred from the others.
func (t *Tensor[T]) Reshape(shape ...int) (*Tensor[T], error) {
	s := append([]int(nil), shape...)
	infer := -1
	known := 1
	for i, d := range s {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			return nil, fmt.Errorf("%w: cannot reshape %v to %v", ErrShape, t.shape, shape)
		default:
			known *= d
		}
	}
	if infer >= 0 {
		if known == 0 || len(t.data)%known != 0 {
			return nil, fmt.Errorf("%w: cannot reshape %v to %v", ErrShape, t.shape, shape)
		}
		s[infer] = len(t.data) / known
	}
	n, err := SizeOf(s)
	if err != nil {
		return nil, err
	}
	if n != len(t.data) {
		return nil, fmt.Errorf("%w: cannot reshape %v (%d elements) to %v (%d elements)", ErrShape, t.shape, len(t.data), shape, n)
	}
	return &Tensor[T]{shape: s, strides: Strides(s), data: t.data}, nil
}

// Index returns a view of sub-tensor i along the first axis (rank one less),
// sharing storage with t.
func (t *Tensor[T]) Index(i int) (*Tensor[T], error) {
	if len(t.shape) == 0 {
		return nil, fmt.Errorf("%w: cannot index a scalar", ErrIndex)
	}
	if i < 0 || i >= t.shape[0] {
		return nil, fmt.Errorf("%w: index %d on axis 0 of shape %v", ErrIndex, i, t.shape)
	}
	st := t.strides[0]
	s := append([]int(nil), t.shape[1:]...)
	return &Tensor[T]{shape: s, strides: Strides(s), data: t.data[i*st : (i+1)*st : (i+1)*st]}, nil
}

// Slice returns a view of rows [lo, hi) along the first axis, sharing
// storage with t.
func (t *Tensor[T]) Slice(lo, hi int) (*Tensor[T], error) {
	if len(t.shape) == 0 {
		return nil, fmt.Errorf("%w: cannot slice a scalar", ErrIndex)
	}
	if lo < 0 || hi < lo || hi > t.shape[0] {
		return nil, fmt.Errorf("%w: range [%d, %d) on axis 0 of shape %v", ErrIndex, lo, hi, t.shape)
	}
	st := t.strides[0]
	s := append([]int(nil), t.shape...)
	s[0] = hi - lo
	return &Tensor[T]{shape: s, strides: Strides(s), data: t.data[lo*st : hi*st : hi*st]}, nil
}

// Copy returns a deep copy of t with its own storage.
func (t *Tensor[T]) Copy() *Tensor[T] {
	return &Tensor[T]{shape: t.Shape(), strides: t.Strides(), data: append([]T(nil), t.data...)}
}

// SameShape reports whether a and b have identical shapes.
func SameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
