package qat_test

import (
	"context"
	"fmt"
	"log"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/layers/core"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/qat"
	"github.com/zerfoo/zerfoo/tensor"
)

// FakeQuantize rounds a weight matrix to the 4-bit block-wise grid it will be
// exported to: here one output feature whose 16 weights share one scale.
func ExampleFakeQuantize() {
	const k, n = 16, 1
	w := make([]float32, k*n)
	for i := range w {
		w[i] = float32(i*i) / 50
	}
	dst := make([]float32, len(w))
	q, err := qat.FakeQuantize(dst, w, k, n, qat.LayoutKN, qat.Config{Bits: 4, BlockSize: 16})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("w   %.2f\n", w[:6])
	fmt.Printf("fq  %.2f\n", dst[:6])
	fmt.Printf("scale %.4f, zero point %d\n", q.Scale(0, 0), q.ZeroPoint(0, 0))
	// Output:
	// w   [0.00 0.02 0.08 0.18 0.32 0.50]
	// fq  [0.00 0.00 0.00 0.30 0.30 0.60]
	// scale 0.3000, zero point 0
}

// A Linear layer trained through fake quantization, then exported as the
// MatMulNBits layer that computes exactly its forward pass.
func ExampleNewLinear() {
	ctx := context.Background()
	ops := numeric.Float32Ops{}
	engine := compute.NewCPUEngine[float32](ops)
	w := make([]float32, 16*2) // [in, out] = [16, 2]
	for i := range w {
		w[i] = float32(i%7-3) / 5
	}
	base, err := core.NewLinearFromWeights("fc", engine, ops, tensor.Must(tensor.New([]int{16, 2}, w)), nil)
	if err != nil {
		log.Fatal(err)
	}
	l, err := qat.NewLinear(engine, base, qat.Config{Bits: 4, BlockSize: 16, Symmetric: true})
	if err != nil {
		log.Fatal(err)
	}
	x := make([]float32, 16)
	for i := range x {
		x[i] = 1
	}
	in := tensor.Must(tensor.New([]int{1, 16}, x))
	f, err := base.Forward(ctx, in)
	if err != nil {
		log.Fatal(err)
	}
	y, err := l.Forward(ctx, in)
	if err != nil {
		log.Fatal(err)
	}
	m, err := l.Export(0)
	if err != nil {
		log.Fatal(err)
	}
	z, err := m.Forward(ctx, in)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("float weights %.4f\n", f.Data())
	fmt.Printf("QAT forward   %.4f\n", y.Data())
	fmt.Printf("MatMulNBits   %.4f\n", z.Data())
	// Output:
	// float weights [-0.8000 -0.4000]
	// QAT forward   [-0.9750 -0.5250]
	// MatMulNBits   [-0.9750 -0.5250]
}
