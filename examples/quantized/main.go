// Command quantized is the usage example of the quantization spec
// (shared/seed/quantization.md) as a program: it builds a 4-bit MatMulNBits
// layer from packed weights and runs it. The spec's lines are unchanged;
// Go rejects an unused variable, so the program prints result at the end.
//
//	go run ./examples/quantized
package main

import (
	"context"
	"fmt"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/layers/core"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

func main() {
	ops := numeric.Float32Ops{}
	engine := compute.NewCPUEngine[float32](ops)
	ctx := context.Background()

	// 1. Create quantized weights (4-bit packed in uint8)
	quantData := []uint8{0x12, 0x34, 0x56, 0x78} // Example packed weights
	quantWeights, _ := tensor.New[uint8]([]int{2, 2}, quantData)

	// 2. Create quantization scale
	scale, _ := tensor.New[float32]([]int{1}, []float32{0.1})

	// 3. Create quantized matrix multiplication layer
	layer, _ := core.NewMatMulNBits[float32](
		"quantized_layer", engine, ops, quantWeights, scale, nil, 4, true)

	// 4. Create input tensor
	input, _ := tensor.New[float32]([]int{1, 2}, []float32{1.0, 2.0})

	// 5. Run quantized inference
	output, _ := layer.Forward(ctx, input)

	// Output contains the result of quantized matrix multiplication
	result := output.Data()
	// Use result...
	fmt.Println(result)
}
