package core_test

import (
	"context"
	"fmt"
	"math"

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

// A 4-bit layer keeps one repacked copy of its weights. At accuracy level
// 4 (int8 activations) its float32 scales are stored in 24 bits, which
// brings block size 32 under 0.6 bytes per weight; WithExactScales keeps
// them exact, as levels 0–3 do.
func ExampleMatMulNBits_Footprint() {
	ops := numeric.Float32Ops{}
	engine := compute.NewCPUEngine[float32](ops)
	const n, k = 64, 256
	w := make([]float32, n*k)
	for i := range w {
		w[i] = float32(math.Sin(float64(i))) * 0.37 // any float weights
	}
	q, _ := numeric.QuantizeBlockwise(w, n, k, numeric.BlockOptions{Bits: 4, BlockSize: 32, Symmetric: true})
	for _, c := range []struct {
		level int
		opts  []core.MatMulNBitsOption
	}{{0, nil}, {4, nil}, {4, []core.MatMulNBitsOption{core.WithExactScales()}}} {
		layer, err := core.NewMatMulNBitsQuantized("fc", engine, ops, q, c.level, nil, c.opts...)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("level %d, exact scales %v: %.5f bytes per weight\n", c.level, c.opts != nil, float64(layer.Footprint())/(n*k))
	}
	// Output:
	// level 0, exact scales false: 0.62500 bytes per weight
	// level 4, exact scales false: 0.59375 bytes per weight
	// level 4, exact scales true: 0.62500 bytes per weight
}
