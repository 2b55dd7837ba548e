package onnx_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/zerfoo/zerfoo/onnx"
)

// ExampleWrite builds y = x·w + b with a symbolic batch size and writes it.
func ExampleWrite() {
	b := onnx.NewBuilder("linear", onnx.Opset{Domain: "", Version: 21})
	b.Input("x", onnx.Float32, "batch", 3)
	onnx.Initializer(b, "w", onnx.Float32, []int64{3, 2}, []float32{1, 0, 0, 1, 1, 1})
	onnx.Initializer(b, "b", onnx.Float32, []int64{2}, []float32{0.5, -0.5})
	b.AddNode(onnx.Node{Name: "mm", Op: "MatMul", Inputs: []string{"x", "w"}, Outputs: []string{"xw"}})
	b.AddNode(onnx.Node{Name: "add", Op: "Add", Inputs: []string{"xw", "b"}, Outputs: []string{"y"}})
	b.Output("y", onnx.Float32, "batch", 2)
	model, err := b.Model()
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "onnx-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	f, err := os.Create(filepath.Join(dir, "linear.onnx"))
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if err := onnx.Write(f, model); err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(model.GetGraph().GetNode()), "nodes,", len(model.GetGraph().GetInitializer()), "initializers")
	// Output: 2 nodes, 2 initializers
}

// ExampleLoad saves a model with its weights in an external data file,
// loads it back and reads an initializer.
func ExampleLoad() {
	b := onnx.NewBuilder("scale", onnx.Opset{Domain: "", Version: 21})
	b.Input("x", onnx.Float32, 4)
	onnx.Initializer(b, "s", onnx.Float32, []int64{4}, []float32{1, 2, 3, 4})
	b.AddNode(onnx.Node{Name: "mul", Op: "Mul", Inputs: []string{"x", "s"}, Outputs: []string{"y"}})
	b.Output("y", onnx.Float32, 4)
	model, err := b.Model()
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "onnx-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "scale.onnx")
	err = onnx.Save(path, model, onnx.WriteOptions{ExternalData: "scale.onnx.data", ExternalThreshold: 16})
	if err != nil {
		log.Fatal(err)
	}

	m, err := onnx.Load(path)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	v, _ := m.OpsetVersion(onnx.DefaultDomain)
	fmt.Println("opset", v)
	for _, in := range m.Inputs() {
		dt, shape, _, _ := onnx.TensorType(in)
		fmt.Println("input", in.GetName(), dt, shape)
	}
	s := m.Initializer("s")
	ed, _ := onnx.ParseExternalData(s)
	data, err := onnx.TensorData[float32](m, s)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.GetName(), "external:", onnx.IsExternal(s), ed.Location, data)
	// Output:
	// opset 21
	// input x FLOAT [4]
	// s external: true scale.onnx.data [1 2 3 4]
}
