package hgemm_test

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/zerfoo/zerfoo/internal/hgemm"
	"github.com/zerfoo/zerfoo/numeric"
)

func ExampleMatrix_MatMul() {
	// W is 2×3 in float16 (as in a GGUF file): rows (1, 2, 3) and
	// (0.5, -1, 0.25).
	w := []float32{1, 2, 3, 0.5, -1, 0.25}
	data := make([]byte, 2*len(w))
	for i, v := range w {
		binary.LittleEndian.PutUint16(data[2*i:], numeric.Float16FromFloat32(v).Bits())
	}
	m, err := hgemm.New(hgemm.F16, 2, 3, data)
	if err != nil {
		panic(err)
	}
	// Two rows of activations; 1.0001 rounds to 1 in float16.
	x := []float32{
		1.0001, 1, 1,
		2, 0, 1,
	}
	y := make([]float32, 2*2)
	if err := m.MatMul(context.Background(), y, x, 2, 0); err != nil {
		panic(err)
	}
	fmt.Println(y)
	// Output: [6 -0.25 5 1.25]
}

func ExampleMatrix_Row() {
	data := []byte{0x80, 0x3f, 0x00, 0xc0} // bfloat16 1, -2
	m, err := hgemm.New(hgemm.BF16, 1, 2, data)
	if err != nil {
		panic(err)
	}
	row := make([]float32, 2)
	if err := m.Row(0, row); err != nil {
		panic(err)
	}
	fmt.Println(row)
	// Output: [1 -2]
}
