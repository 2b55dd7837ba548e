package quantize_test

import (
	"bytes"
	"context"
	"fmt"
	"log"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/quantize"
)

// Quantize a GGUF model to llama.cpp's Q8_0 file type: the matrix becomes
// Q8_0, the norm is copied as it is, and general.file_type says what the file
// now is. quantize.File does the same from file to file.
func ExampleGGUF() {
	const k, n = 64, 4
	w := make([]float32, k*n)
	for i := range w {
		w[i] = float32(i%13-6) / 8
	}
	norm := make([]float32, k)
	for i := range norm {
		norm[i] = 1
	}
	in := gguf.NewBuilder()
	for _, kv := range []struct {
		key string
		v   any
	}{{gguf.KeyArchitecture, "llama"}, {"llama.block_count", uint32(1)}} {
		if err := in.Set(kv.key, kv.v); err != nil {
			log.Fatal(err)
		}
	}
	if err := in.AddFloat32("blk.0.attn_q.weight", quant.F32, []uint64{k, n}, w); err != nil {
		log.Fatal(err)
	}
	if err := in.AddFloat32("blk.0.attn_norm.weight", quant.F32, []uint64{k}, norm); err != nil {
		log.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := in.WriteTo(&buf); err != nil {
		log.Fatal(err)
	}
	f, err := gguf.Read(buf.Bytes())
	if err != nil {
		log.Fatal(err)
	}

	out := gguf.NewBuilder()
	r, err := quantize.GGUF(context.Background(), f, out, quantize.Options{Type: quantize.Q8_0})
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range r.Tensors {
		if t.Quantized {
			fmt.Printf("%s → %s, %d → %d bytes, max error %.4f\n", t.Name, t.Type, t.Before, t.After, t.MaxAbs)
		} else {
			fmt.Printf("%s kept as %s: %s\n", t.Name, t.Type, t.Skipped)
		}
	}
	buf.Reset()
	if _, err := out.WriteTo(&buf); err != nil {
		log.Fatal(err)
	}
	g, err := gguf.Read(buf.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	ft, _ := g.Uint(gguf.KeyFileType)
	fmt.Println("general.file_type", ft)
	// Output:
	// blk.0.attn_norm.weight kept as F32: rank 1 (kept F32)
	// blk.0.attn_q.weight → Q8_0, 1024 → 272 bytes, max error 0.0029
	// general.file_type 7
}

// Rewrite an ONNX model's MatMul with a float weight as a 4-bit MatMulNBits
// node, as ONNX Runtime's quantizer does.
func ExampleONNX() {
	const k, n = 32, 2
	w := make([]float32, k*n)
	for i := range w {
		w[i] = float32(i%9-4) / 4
	}
	b := onnx.NewBuilder("linear", onnx.Opset{Domain: "", Version: 21})
	b.Input("x", onnx.Float32, 1, k)
	onnx.Initializer(b, "w", onnx.Float32, []int64{k, n}, w)
	b.AddNode(onnx.Node{Name: "mm", Op: "MatMul", Inputs: []string{"x", "w"}, Outputs: []string{"y"}})
	b.Output("y", onnx.Float32, 1, n)
	proto, err := b.Model()
	if err != nil {
		log.Fatal(err)
	}
	m := onnx.New(proto, onnx.ReadOptions{})
	r, err := quantize.ONNX(context.Background(), m, quantize.Options{Type: quantize.MNB4})
	if err != nil {
		log.Fatal(err)
	}
	t := r.Tensors[0]
	fmt.Printf("%s %v → %s, %d → %d bytes\n", t.Name, t.Shape, t.Type, t.Before, t.After)
	for _, node := range m.Graph().GetNode() {
		fmt.Println(node.GetName(), node.GetDomain(), node.GetOpType(), node.GetInput())
	}
	// Output:
	// w [32 2] → MatMulNBits 4-bit, 256 → 40 bytes
	// mm_Q4 com.microsoft MatMulNBits [x w_Q4 w_scales]
}

// The per-tensor rules of a llama.cpp mix: Q4_K_M gives the output matrix
// and the first layers' attn_v more bits and leaves norms alone.
func ExampleMix_TensorType() {
	mix, _ := quantize.LookupMix(quantize.Q4_K_M)
	g := quantize.Geometry{Layers: 8, AttnV: 8}
	for _, name := range []string{"blk.0.attn_q.weight", "blk.0.attn_v.weight", "blk.0.attn_norm.weight", "output.weight"} {
		dims := []uint64{4096, 4096}
		if name == "blk.0.attn_norm.weight" {
			dims = dims[:1]
		}
		t, ok := mix.TensorType(name, dims, g, 0)
		fmt.Println(name, t, ok)
	}
	// Output:
	// blk.0.attn_q.weight Q4_K true
	// blk.0.attn_v.weight Q6_K true
	// blk.0.attn_norm.weight F32 false
	// output.weight Q6_K true
}
