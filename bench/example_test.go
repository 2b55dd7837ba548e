package bench_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/zerfoo/zerfoo/bench"
	"github.com/zerfoo/zerfoo/gguf/quant"
)

// Time a float32 matmul through the CPU engine. The result's String is what
// `zerfoo bench` prints; times vary by machine, so this prints only the parts
// that do not.
func ExampleMatMul() {
	r, err := bench.MatMul(context.Background(), 64, 64, 64, 0)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Name)
	fmt.Println(r.Reps >= 1, r.GFLOPS > 0, strings.HasPrefix(r.Checked, "16 entries match float64"))
	// Output:
	// matmul 64x64x64 f32
	// true true true
}

// Time the fused 4-bit kernel (ONNX MatMulNBits layout) for one decode step:
// M = 1 row of activations against a 64×256 weight.
func ExampleMatMulNBits() {
	r, err := bench.MatMulNBits(context.Background(), bench.NBitsConfig{
		M: 1, K: 256, N: 64, Bits: 4, BlockSize: 32, Threads: 1,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Name)
	fmt.Println(r.Reps >= 5, r.MedianNs > 0, r.Bytes > 64*256/2)
	// Output:
	// matmulnbits m1 k256 n64 b4 bs32 L0 t1
	// true true true
}

// Time one GGUF weight type the way Zerfoo runs GGUF models.
func ExampleGGUF() {
	r, err := bench.GGUF(context.Background(), bench.GGUFConfig{
		Type: quant.Q4_0, M: 1, K: 256, N: 64, Threads: 1,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Name, r.Type, r.FileBytes)
	fmt.Println(r.Reps >= 5, r.MedianNs > 0)
	// Output:
	// gguf Q4_0 m1 k256 n64 t1 Q4_0 9216
	// true true
}
