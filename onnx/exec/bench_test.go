package exec

import (
	"context"
	"testing"

	"github.com/zerfoo/zerfoo/onnx/onnxpb"
	"github.com/zerfoo/zerfoo/tensor"
)

// benchKernel builds the kernel of a default-domain op with no attributes.
func benchKernel(b *testing.B, op string, opset int64) Kernel {
	b.Helper()
	build := lookup("", op, opset)
	if build == nil {
		b.Fatalf("no kernel for %s opset %d", op, opset)
	}
	k, err := build(&Node{Proto: &onnxpb.NodeProto{OpType: &op}, Name: op, Opset: opset})
	if err != nil {
		b.Fatal(err)
	}
	return k
}

// benchRun times k on in, reporting the bytes moved (every input element
// read once, every output element written once) as GB/s and the input
// elements as Melem/s.
func benchRun(b *testing.B, k Kernel, in []tensor.Any, outElems int) {
	b.Helper()
	ctx := context.Background()
	n := in[0].Size()
	b.SetBytes(int64(4 * (n + outElems)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := k(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(4*(n+outElems))/sec/1e9, "GB/s")
	b.ReportMetric(float64(n)/sec/1e6, "Melem/s")
}

// BenchmarkUnary runs float32 unary ops on a 2048x2048 (4M element) tensor.
func BenchmarkUnary(b *testing.B) {
	x := randF32(rnd(1), 2048, 2048)
	for _, op := range []string{"Relu", "Sigmoid"} {
		b.Run(op, func(b *testing.B) {
			benchRun(b, benchKernel(b, op, 21), []tensor.Any{x}, x.Size())
		})
	}
}

// BenchmarkReduce runs float32 reductions over the last axis of a 2048x2048
// (4M element) tensor, and Softmax along it.
func BenchmarkReduce(b *testing.B) {
	x := randF32(rnd(2), 2048, 2048)
	axes := i64s([]int{1}, -1)
	for _, op := range []string{"ReduceSum", "ReduceMax"} {
		b.Run(op, func(b *testing.B) {
			benchRun(b, benchKernel(b, op, 21), []tensor.Any{x, axes}, 2048)
		})
	}
	b.Run("Softmax", func(b *testing.B) {
		benchRun(b, benchKernel(b, "Softmax", 21), []tensor.Any{x}, x.Size())
	})
}
