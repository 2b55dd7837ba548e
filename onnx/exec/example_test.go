package exec_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/exec"
	"github.com/zerfoo/zerfoo/tensor"
)

// Compile a model and run it: y = softmax(x·w + b) over a symbolic batch.
// A model read from a file (onnx.Load) runs the same way.
func Example() {
	b := onnx.NewBuilder("classifier", onnx.Opset{Domain: "", Version: 21})
	b.Input("x", onnx.Float32, "batch", 3)
	onnx.Initializer(b, "w", onnx.Float32, []int64{3, 2}, []float32{1, 0, 0, 1, 1, 1})
	onnx.Initializer(b, "b", onnx.Float32, []int64{2}, []float32{0, 1})
	b.AddNode(onnx.Node{Name: "mm", Op: "MatMul", Inputs: []string{"x", "w"}, Outputs: []string{"xw"}})
	b.AddNode(onnx.Node{Name: "add", Op: "Add", Inputs: []string{"xw", "b"}, Outputs: []string{"logits"}})
	b.AddNode(onnx.Node{Name: "sm", Op: "Softmax", Inputs: []string{"logits"}, Outputs: []string{"y"},
		Attrs: []onnx.Attr{{Name: "axis", Value: int64(-1)}}})
	b.Output("y", onnx.Float32, "batch", 2)
	proto, err := b.Model()
	if err != nil {
		log.Fatal(err)
	}
	m := onnx.New(proto, onnx.ReadOptions{})
	defer m.Close()

	p, err := exec.Compile(m)
	if err != nil {
		log.Fatal(err)
	}
	for _, in := range p.Inputs() {
		fmt.Println("input", in.Name, in.Type, in.Shape)
	}
	x := tensor.Must(tensor.New([]int{2, 3}, []float32{1, 2, 3, 0, 0, 0}))
	out, err := p.Run(context.Background(), map[string]tensor.Any{"x": x})
	if err != nil {
		log.Fatal(err)
	}
	y := out["y"].(*tensor.Tensor[float32])
	fmt.Printf("y %v %.4f\n", y.Shape(), y.Data())

	// Inputs are checked against the declared shapes.
	_, err = p.Run(context.Background(), map[string]tensor.Any{"x": tensor.Must(tensor.New[float32]([]int{2, 4}, nil))})
	fmt.Println(err)
	fmt.Println(errors.Is(err, exec.ErrInput))
	// Output:
	// input x FLOAT [batch 3]
	// y [2 2] [0.1192 0.8808 0.2689 0.7311]
	// exec: value "x": shape [2 4], want [batch 3]: bad input: tensor: shape error
	// true
}

// An op without a kernel is reported at compile time, naming the node.
func ExampleCompile_unsupported() {
	b := onnx.NewBuilder("odd", onnx.Opset{Domain: "", Version: 21}, onnx.Opset{Domain: "com.example", Version: 1})
	b.Input("x", onnx.Float32, 4)
	b.AddNode(onnx.Node{Name: "warp", Op: "Warp", Domain: "com.example", Inputs: []string{"x"}, Outputs: []string{"y"}})
	b.Output("y", onnx.Float32, 4)
	proto, err := b.Model()
	if err != nil {
		log.Fatal(err)
	}
	_, err = exec.Compile(onnx.New(proto, onnx.ReadOptions{}))
	fmt.Println(err)
	fmt.Println(errors.Is(err, exec.ErrUnsupportedOp))
	// Output:
	// exec: node warp (com.example.Warp): no kernel for op "Warp" in domain "com.example" at opset 1: unsupported op
	// true
}
