package onnx

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/zerfoo/zerfoo/onnx/onnxpb"
)

func TestValidate(t *testing.T) {
	type build func(b *Builder)
	tests := []struct {
		name   string
		opsets []Opset
		build  build
		want   []string // substrings; empty means valid
	}{
		{"valid", nil, func(b *Builder) {
			b.Input("x", Float32, "n")
			b.AddNode(Node{Name: "r", Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}})
			b.Output("y", Float32, "n")
		}, nil},
		{"optional input", nil, func(b *Builder) {
			b.Input("x", Float32, 2)
			b.AddNode(Node{Name: "c", Op: "Clip", Inputs: []string{"x", "", ""}, Outputs: []string{"y"}})
			b.Output("y", Float32, 2)
		}, nil},
		{"undefined input", nil, func(b *Builder) {
			b.Input("x", Float32, 2)
			b.AddNode(Node{Name: "add", Op: "Add", Inputs: []string{"x", "bias"}, Outputs: []string{"y"}})
			b.Output("y", Float32, 2)
		}, []string{`node "add" (Add): tensor "bias": input is not a graph input, initializer or output of an earlier node`}},
		{"out of order", nil, func(b *Builder) {
			b.Input("x", Float32, 2)
			b.AddNode(Node{Name: "second", Op: "Relu", Inputs: []string{"h"}, Outputs: []string{"y"}})
			b.AddNode(Node{Name: "first", Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"h"}})
			b.Output("y", Float32, 2)
		}, []string{`node "second" (Relu): tensor "h": input is not`}},
		{"duplicate output", nil, func(b *Builder) {
			b.Input("x", Float32, 2)
			b.AddNode(Node{Name: "a", Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}})
			b.AddNode(Node{Op: "Neg", Inputs: []string{"x"}, Outputs: []string{"y"}})
			b.Output("y", Float32, 2)
		}, []string{`node #1 (Neg): tensor "y": output name is already defined`}},
		{"output shadows input", nil, func(b *Builder) {
			b.Input("x", Float32, 2)
			b.AddNode(Node{Name: "a", Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"x"}})
			b.Output("x", Float32, 2)
		}, []string{`node "a" (Relu): tensor "x": output name is already defined`}},
		{"unknown domain", nil, func(b *Builder) {
			b.Input("x", Float32, 2)
			b.AddNode(Node{Name: "q", Op: "MatMulNBits", Domain: MicrosoftDomain, Inputs: []string{"x"}, Outputs: []string{"y"}})
			b.Output("y", Float32, 2)
		}, []string{`node "q" (com.microsoft.MatMulNBits): domain "com.microsoft" is not imported`}},
		{"ms domain imported", []Opset{{"", 21}, {MicrosoftDomain, 1}}, func(b *Builder) {
			b.Input("x", Float32, 2)
			b.AddNode(Node{Name: "q", Op: "FastGelu", Domain: MicrosoftDomain, Inputs: []string{"x"}, Outputs: []string{"y"}})
			b.Output("y", Float32, 2)
		}, nil},
		{"no default opset", []Opset{{MicrosoftDomain, 1}}, func(b *Builder) {
			b.Input("x", Float32, 2)
			b.AddNode(Node{Name: "r", Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}})
			b.Output("y", Float32, 2)
		}, []string{`domain "" is not imported`}},
		{"duplicate opset", []Opset{{"", 21}, {"ai.onnx", 20}}, func(b *Builder) {}, []string{`opset_import lists domain "ai.onnx" twice`}},
		{"missing output", nil, func(b *Builder) {
			b.Input("x", Float32, 2)
			b.Output("nothing", Float32, 2)
		}, []string{`tensor "nothing": graph output is not produced`}},
		{"bad initializer", nil, func(b *Builder) {
			b.AddInitializer(&onnxpb.TensorProto{Name: proto.String("w"), Dims: []int64{3}, DataType: proto.Int32(int32(Float32)), RawData: make([]byte, 8)})
			b.Output("w", Float32, 3)
		}, []string{`tensor "w": raw_data has 8 bytes, want 12 for FLOAT [3]`}},
		{"bad constant tensor", nil, func(b *Builder) {
			bad := &onnxpb.TensorProto{Name: proto.String("v"), Dims: []int64{2}, DataType: proto.Int32(int32(Int64)), Int64Data: []int64{1}}
			b.AddNode(Node{Name: "c", Op: "Constant", Outputs: []string{"y"}, Attrs: []Attr{{"value", bad}}})
			b.Output("y", Int64, 2)
		}, []string{`node "c" (Constant): tensor "v": attribute "value": int64_data has 1 values, want 2`}},
		{"subgraph sees outer names", nil, func(b *Builder) {
			b.Input("x", Float32, 2)
			b.Input("cond", Bool)
			sub := NewBuilder("then", Opset{"", 21})
			sub.AddNode(Node{Name: "inner", Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"t"}})
			sub.Output("t", Float32, 2)
			b.AddNode(Node{Name: "if", Op: "If", Inputs: []string{"cond"}, Outputs: []string{"y"},
				Attrs: []Attr{{"then_branch", sub.graph}, {"else_branch", sub.graph}}})
			b.Output("y", Float32, 2)
		}, nil},
		{"subgraph undefined", nil, func(b *Builder) {
			b.Input("cond", Bool)
			sub := NewBuilder("then", Opset{"", 21})
			sub.AddNode(Node{Name: "inner", Op: "Relu", Inputs: []string{"ghost"}, Outputs: []string{"t"}})
			sub.Output("t", Float32, 2)
			b.AddNode(Node{Name: "if", Op: "If", Inputs: []string{"cond"}, Outputs: []string{"y"}, Attrs: []Attr{{"then_branch", sub.graph}}})
			b.Output("y", Float32, 2)
		}, []string{`node "inner" (Relu): tensor "ghost": subgraph "then": input is not`}},
		{"two problems", nil, func(b *Builder) {
			b.AddNode(Node{Name: "a", Op: "Relu", Inputs: []string{"p"}, Outputs: []string{"y"}})
			b.AddNode(Node{Name: "b", Op: "Relu", Inputs: []string{"q"}, Outputs: []string{"z"}})
		}, []string{`tensor "p"`, `tensor "q"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opsets := tc.opsets
			if opsets == nil {
				opsets = []Opset{{"", 21}}
			}
			b := NewBuilder("g", opsets...)
			tc.build(b)
			_, err := b.Model()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("got %v, want valid", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got valid, want errors %q", tc.want)
			}
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupported) {
				t.Errorf("error %v wraps neither ErrInvalid nor ErrUnsupported", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadBadFiles(t *testing.T) {
	p, _, _ := mlp(t)
	good, err := Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"truncated", good[:len(good)/2], "truncated, or not an ONNX model"},
		{"truncated by one", good[:len(good)-1], "truncated, or not an ONNX model"},
		{"random", random, "onnx: "},
		{"empty", nil, "model has no graph"},
		{"text", []byte("hello, this is not a model\n"), "onnx: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := write(tc.name+".onnx", tc.data)
			_, err := Load(path)
			if err == nil {
				t.Fatalf("Load(%s): got nil error", tc.name)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s and contain %q", err, path, tc.want)
			}
		})
	}
	if _, err := Load(filepath.Join(dir, "missing.onnx")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing): got %v, want a not-exist error", err)
	}
	m, err := Load(write("good.onnx", good))
	if err != nil {
		t.Fatalf("Load(good): %v", err)
	}
	if v, ok := m.OpsetVersion("ai.onnx"); !ok || v != 21 {
		t.Errorf("OpsetVersion(ai.onnx): got %d %v, want 21 true", v, ok)
	}
	if _, ok := m.OpsetVersion(MicrosoftDomain); ok {
		t.Errorf("OpsetVersion(com.microsoft): got imported, want not")
	}
}

func TestModelAccessors(t *testing.T) {
	b := NewBuilder("g", Opset{"", 21}, Opset{MicrosoftDomain, 1})
	b.Input("ids", Int64, "batch", "seq")
	b.Input("w", Float32, 2, 2) // also an initializer (IR < 4 style): not a real input
	Initializer(b, "w", Float32, []int64{2, 2}, []float32{1, 2, 3, 4})
	b.AddNode(Node{Name: "g", Op: "Gather", Inputs: []string{"w", "ids"}, Outputs: []string{"y"}})
	b.Output("y", Float32, "batch", "seq", nil)
	p, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	m := parseBack(t, p)
	if got := m.Opsets(); len(got) != 2 || got[0] != (Opset{"", 21}) || got[1] != (Opset{MicrosoftDomain, 1}) {
		t.Errorf("Opsets: got %v", got)
	}
	if in := m.Inputs(); len(in) != 1 || in[0].GetName() != "ids" {
		t.Errorf("Inputs: got %v, want only ids", in)
	}
	dt, shape, ok, err := TensorType(m.Outputs()[0])
	if err != nil || !ok || dt != Float32 || len(shape) != 3 || shape[0].Param != "batch" || shape[2].Value != -1 {
		t.Errorf("TensorType(y): got %v %v %v %v", dt, shape, ok, err)
	}
	if s := shape[0].String() + "," + shape[2].String(); s != "batch,?" {
		t.Errorf("Dim strings: got %q, want batch,?", s)
	}
	dt, shape, _, _ = TensorType(m.Graph().GetInput()[1])
	if dt != Float32 || len(shape) != 2 || shape[1].Value != 2 || shape[1].String() != "2" {
		t.Errorf("TensorType(w): got %v %v", dt, shape)
	}
	if m.Initializer("nope") != nil || len(m.Initializers()) != 1 {
		t.Errorf("Initializer lookups wrong")
	}
}
