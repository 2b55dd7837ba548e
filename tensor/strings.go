package tensor

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/zerfoo/zerfoo/numeric"
)

// Strings is a dense row-major N-dimensional array of strings: what ONNX
// STRING tensors and NumPy string arrays hold. It implements Any with
// DType numeric.String; it is not a Tensor[T] because strings are not
// numbers.
type Strings struct {
	shape []int
	data  []string
}

// NewStrings wraps data (not copied) in a Strings of the given shape. It
// fails with ErrShape when len(data) does not match the shape.
func NewStrings(shape []int, data []string) (*Strings, error) {
	n, err := SizeOf(shape)
	if err != nil {
		return nil, err
	}
	if data == nil {
		data = make([]string, n)
	}
	if len(data) != n {
		return nil, fmt.Errorf("%w: %d strings for shape %v", ErrShape, len(data), shape)
	}
	return &Strings{shape: append([]int(nil), shape...), data: data}, nil
}

// Shape returns a copy of the dimensions.
func (s *Strings) Shape() []int { return append(make([]int, 0, len(s.shape)), s.shape...) }

// Dims returns the rank.
func (s *Strings) Dims() int { return len(s.shape) }

// Size returns the number of elements.
func (s *Strings) Size() int { return len(s.data) }

// DType returns numeric.String.
func (s *Strings) DType() numeric.DType { return numeric.String }

// Data returns the elements in row-major order (not a copy).
func (s *Strings) Data() []string { return s.data }

// Reshape returns a Strings with a new shape of the same size, sharing the
// elements.
func (s *Strings) Reshape(shape ...int) (*Strings, error) {
	n, err := SizeOf(shape)
	if err != nil {
		return nil, err
	}
	if n != len(s.data) {
		return nil, fmt.Errorf("%w: cannot reshape %v to %v", ErrShape, s.shape, shape)
	}
	return &Strings{shape: append([]int(nil), shape...), data: s.data}, nil
}

// String formats s like Tensor.String, each element quoted, e.g.
// `Strings(2)["a" "b"]`.
func (s *Strings) String() string {
	var b strings.Builder
	b.WriteString("Strings(")
	for i, d := range s.shape {
		if i > 0 {
			b.WriteByte('x')
		}
		fmt.Fprint(&b, d)
	}
	b.WriteString(")[")
	for i, v := range s.data {
		if i == maxPrint && len(s.data) > maxPrint {
			b.WriteString(" ...")
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Quote(v))
	}
	b.WriteByte(']')
	return b.String()
}
