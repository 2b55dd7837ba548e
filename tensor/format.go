package tensor

import (
	"fmt"
	"strings"
)

// maxPrint is the number of elements per axis shown before eliding.
const maxPrint = 6

// String formats t as nested brackets with its shape and dtype, eliding the
// middle of long axes, e.g. "Tensor[float32](2x3)[[1 2 3] [4 5 6]]".
func (t *Tensor[T]) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor[%s](", t.DType())
	for i, d := range t.shape {
		if i > 0 {
			b.WriteByte('x')
		}
		fmt.Fprint(&b, d)
	}
	b.WriteByte(')')
	t.format(&b, 0, 0)
	return b.String()
}

func (t *Tensor[T]) format(b *strings.Builder, axis, off int) {
	if axis == len(t.shape) {
		b.WriteString(formatElem(t.data[off]))
		return
	}
	n := t.shape[axis]
	b.WriteByte('[')
	for i := 0; i < n; i++ {
		if n > maxPrint && i == maxPrint/2 {
			b.WriteString(" ...")
			i = n - maxPrint/2
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		t.format(b, axis+1, off+i*t.strides[axis])
	}
	b.WriteByte(']')
}

func formatElem[T Numeric](v T) string {
	switch x := any(v).(type) {
	case float32, float64, int8, uint8, int16, int32, int64:
		return fmt.Sprint(x)
	case fmt.Stringer: // Float16, BFloat16, Float8E4M3FN, Float8E5M2: shortest round-trip decimal
		return x.String()
	}
	return fmt.Sprint(v)
}
