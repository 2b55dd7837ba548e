package npy_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/zerfoo/zerfoo/npy"
	"github.com/zerfoo/zerfoo/tensor"
)

// A tensor written as .npy and read back: the file starts with NumPy's magic
// and a Python-dict header that numpy.load understands.
func Example() {
	x := tensor.Must(tensor.New([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6}))
	var buf bytes.Buffer
	if err := npy.Write(&buf, x, false); err != nil {
		log.Fatal(err)
	}
	header := buf.Bytes()[10:]
	fmt.Printf("%q\n", header[:bytes.IndexByte(header, '}')+1])

	a, err := npy.Read(&buf)
	if err != nil {
		log.Fatal(err)
	}
	y := a.Tensor.(*tensor.Tensor[float32])
	fmt.Println(a.Tensor.DType(), y.Shape(), y.Data())
	// Output:
	// "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
	// float32 [2 3] [1 2 3 4 5 6]
}

// NumPy bool arrays are read as uint8 tensors of 0 and 1 with Bool set.
func ExampleRead_bool() {
	mask := tensor.Must(tensor.New([]int{4}, []uint8{1, 0, 0, 1}))
	var buf bytes.Buffer
	if err := npy.Write(&buf, mask, true); err != nil {
		log.Fatal(err)
	}
	a, err := npy.Read(&buf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Bool, a.Tensor.(*tensor.Tensor[uint8]).Data())
	// Output:
	// true [1 0 0 1]
}
