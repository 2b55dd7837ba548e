package ops_test

import (
	"context"
	"fmt"
	"log"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/layers/ops"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// Every node has a Forward and a Backward; a node can be used on its own,
// outside a graph. Softmax over the last axis and its input gradient.
func ExampleNewSoftmax() {
	ctx := context.Background()
	eng := compute.NewCPUEngine[float32](numeric.Float32Ops{})
	sm := ops.NewSoftmax(eng, -1)
	x := tensor.Must(tensor.New([]int{2, 3}, []float32{0, 0, 0, 1, 2, 3}))
	y, err := sm.Forward(ctx, x)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%.4f\n", y.Data())
	// The gradient of y[i][0]: dy0/dx0 = y0(1−y0), dy0/dxj = −y0·yj.
	g := tensor.Must(tensor.New([]int{2, 3}, []float32{1, 0, 0, 1, 0, 0}))
	dx, err := sm.Backward(ctx, g, x)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%.4f\n", dx[0].Data())
	// Output:
	// [0.3333 0.3333 0.3333 0.0900 0.2447 0.6652]
	// [0.2222 -0.1111 -0.1111 0.0819 -0.0220 -0.0599]
}

// MatMul broadcasts batch axes as NumPy does; Backward reduces the gradient
// of the broadcast operand back to its own shape.
func ExampleNewMatMul() {
	ctx := context.Background()
	eng := compute.NewCPUEngine[float32](numeric.Float32Ops{})
	mm := ops.NewMatMul(eng)
	a := tensor.Must(tensor.New([]int{2, 1, 2}, []float32{1, 2, 3, 4})) // two 1×2 batches
	b := tensor.Must(tensor.New([]int{2, 2}, []float32{1, 0, 0, 10}))   // shared 2×2
	c, err := mm.Forward(ctx, a, b)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Shape(), c.Data())
	g := tensor.Must(tensor.New([]int{2, 1, 2}, []float32{1, 1, 1, 1}))
	grads, err := mm.Backward(ctx, g, a, b)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(grads[0].Shape(), grads[1].Shape(), grads[1].Data())
	_, err = mm.Forward(ctx, a, tensor.Must(tensor.New[float32]([]int{3, 2}, nil)))
	fmt.Println(err)
	// Output:
	// [2 1 2] [1 20 3 40]
	// [2 1 2] [2 2] [4 4 6 6]
	// ops: MatMul: inner dimensions differ in [2 1 2] × [3 2]: tensor: shape error
}

// Shapes can be checked before any data exists: -1 is a dynamic dimension.
func ExampleTranspose_InferShape() {
	eng := compute.NewCPUEngine[float32](numeric.Float32Ops{})
	shape, err := ops.NewTranspose(eng, []int{0, 2, 1}).InferShape([]int{-1, 4, 8})
	fmt.Println(shape, err)
	// Output:
	// [-1 8 4] <nil>
}
