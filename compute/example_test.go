package compute_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

func ExampleNewCPUEngine() {
	ops := numeric.Float32Ops{}
	engine := compute.NewCPUEngine[float32](ops)
	ctx := context.Background()

	x := tensor.Must(tensor.New([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6}))
	bias := tensor.Must(tensor.New([]int{3}, []float32{10, 20, 30}))
	y, _ := engine.Add(ctx, x, bias) // bias broadcasts over the rows
	fmt.Println(y)

	w := tensor.Must(tensor.New([]int{3, 2}, []float32{1, 0, 0, 1, 1, 1}))
	z, _ := engine.MatMul(ctx, y, w)
	fmt.Println(z)

	best, _ := engine.ArgMax(ctx, z, -1, false)
	fmt.Println(best)

	// Reuse a destination instead of allocating.
	if _, err := engine.Mul(ctx, y, y, y); err != nil {
		panic(err)
	}
	fmt.Println(y)

	_, err := engine.Add(ctx, x, w)
	fmt.Println(err)
	fmt.Println(errors.Is(err, tensor.ErrShape))
	// Output:
	// Tensor[float32](2x3)[[11 22 33] [14 25 36]]
	// Tensor[float32](2x2)[[44 55] [50 61]]
	// Tensor[int64](2)[1 1]
	// Tensor[float32](2x3)[[121 484 1089] [196 625 1296]]
	// compute: Add [2 3], [3 2]: shapes [2 3] and [3 2] do not broadcast
	// true
}
