package core_test

import (
	"context"
	"fmt"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/layers/core"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// The usage example of the quantization spec, unchanged apart from the
// final print. The [2, 2] packed tensor holds K = 2 rows of N = 4 four-bit
// codes (low nibble first): row k=0 is 0x12, 0x34 → codes 2, 1, 4, 3 and
// row k=1 is 0x56, 0x78 → 6, 5, 8, 7. With the symmetric zero point 8 and
// scale 0.1 the weights Wᵀ are
//
//	k=0: −0.6 −0.7 −0.4 −0.5
//	k=1: −0.2 −0.3  0.0 −0.1
//
// so the input [1, 2] gives 1·row0 + 2·row1 = [−1.0, −1.3, −0.4, −0.7].
func ExampleNewMatMulNBits() {
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
	fmt.Println(output.Shape())
	fmt.Printf("%.4f\n", result)
	// Output:
	// [1 4]
	// [-1.0000 -1.3000 -0.4000 -0.7000]
}

// A Constant returns its value, whatever the inputs.
func ExampleNewConstantFromData() {
	ops := numeric.Uint8Ops{}
	engine := compute.NewCPUEngine[uint8](ops)
	ctx := context.Background()

	quantizedData := []uint8{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0}
	constant, err := core.NewConstantFromData[uint8](
		"quantized_weights",
		engine,
		ops,
		[]int{4, 2}, // shape
		quantizedData,
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	output, _ := constant.Forward(ctx)
	fmt.Println(constant.OpType(), output.Shape(), constant.DType(), constant.Size(), output.Data()[7])
	// Output:
	// Constant [4 2] uint8 8 240
}
