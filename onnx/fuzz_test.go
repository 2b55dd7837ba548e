package onnx

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
)

// fuzzSeeds returns small valid models covering the data types, every
// attribute type, typed fields, a subgraph and external data (location
// "w.bin", 16 bytes).
func fuzzSeeds(t testing.TB) [][]byte {
	var out [][]byte
	add := func(p *onnxpb.ModelProto) {
		b, err := Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	b := NewBuilder("all", Opset{"", 21}, Opset{MicrosoftDomain, 1})
	b.Input("x", Float32, "batch", 2)
	Initializer(b, "f32", Float32, []int64{2}, []float32{1, -2})
	Initializer(b, "f16", Float16, []int64{1}, []numeric.Float16{numeric.Float16FromFloat32(1)})
	Initializer(b, "bf16", BFloat16, []int64{1}, []numeric.BFloat16{numeric.BFloat16FromFloat32(2)})
	Initializer(b, "i4", Int4, []int64{3}, []int8{-1, 2, 3})
	Initializer(b, "u4", Uint4, []int64{1, 2}, []uint8{7, 8})
	Initializer(b, "i64", Int64, []int64{2}, []int64{-5, 5})
	Initializer(b, "u8", Bool, []int64{1}, []uint8{1})
	b.AddInitializer(typed("t16", Float16, []int64{2}, func(p *onnxpb.TensorProto) { p.Int32Data = []int32{0x3c00, 0} }))
	b.AddInitializer(typed("t64", Int64, []int64{1}, func(p *onnxpb.TensorProto) { p.Int64Data = []int64{3} }))
	b.AddInitializer(typed("td", Float64, []int64{1}, func(p *onnxpb.TensorProto) { p.DoubleData = []float64{3} }))
	b.AddInitializer(typed("ts", String, []int64{1}, func(p *onnxpb.TensorProto) { p.StringData = [][]byte{[]byte("s")} }))
	sub := NewBuilder("body", Opset{"", 21})
	sub.AddNode(Node{Name: "inner", Op: "Identity", Inputs: []string{"x"}, Outputs: []string{"o"}})
	sub.Output("o", Float32, "batch", 2)
	cst, _ := NewTensor("c", Int64, []int64{1}, []int64{9})
	b.AddNode(Node{Name: "n", Op: "Custom", Domain: MicrosoftDomain, Inputs: []string{"x", "", "f32"}, Outputs: []string{"y"},
		Attrs: []Attr{{"i", 1}, {"f", 0.5}, {"s", "str"}, {"t", cst}, {"g", sub.graph}, {"is", []int{1, 2}},
			{"fs", []float32{1}}, {"ss", []string{"a"}}, {"ts", []*onnxpb.TensorProto{cst}}, {"gs", []*onnxpb.GraphProto{sub.graph}}}})
	b.Output("y", Float32, "batch", 2)
	p, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	add(p)
	p2, _, _ := mlp(t)
	add(p2)
	ext := &onnxpb.TensorProto{Name: proto.String("w"), Dims: []int64{2, 2}, DataType: proto.Int32(int32(Float32)),
		DataLocation: onnxpb.TensorProto_EXTERNAL.Enum(), ExternalData: []*onnxpb.StringStringEntryProto{
			{Key: proto.String("location"), Value: proto.String("w.bin")},
			{Key: proto.String("offset"), Value: proto.String("0")},
			{Key: proto.String("length"), Value: proto.String("16")}}}
	b = NewBuilder("ext", Opset{"", 21})
	b.AddInitializer(ext)
	b.Output("w", Float32, 2, 2)
	p3, err := b.Model()
	if err == nil {
		t.Fatal("external model validated without a directory")
	}
	add(b.model)
	_ = p3
	return out
}

// FuzzLoad feeds arbitrary bytes to the parser, validator and tensor
// decoders. It must never panic; whatever parses must re-serialize.
func FuzzLoad(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
		for _, n := range []int{1, len(s) / 3, len(s) / 2, len(s) - 1} {
			f.Add(s[:n])
		}
	}
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "w.bin"), make([]byte, 16), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if m, err := Parse(data, ReadOptions{Dir: dir, Name: "fuzz.onnx"}); err == nil {
			m.Close()
		}
		m, err := Parse(data, ReadOptions{Dir: dir, Name: "fuzz.onnx", NoValidate: true})
		if err != nil {
			return
		}
		defer m.Close()
		_ = m.Validate()
		m.Opsets()
		m.Inputs()
		for _, vi := range append(m.Graph().GetInput(), m.Graph().GetOutput()...) {
			TensorType(vi)
		}
		var visit func(g *onnxpb.GraphProto, depth int)
		visit = func(g *onnxpb.GraphProto, depth int) {
			if depth > 4 {
				return
			}
			for _, tp := range g.GetInitializer() {
				fuzzTensor(m, tp)
			}
			for _, n := range g.GetNode() {
				for _, a := range n.GetAttribute() {
					AttributeValue(a)
					AttrOr(n, a.GetName(), int64(0))
					if tp := a.GetT(); tp != nil {
						fuzzTensor(m, tp)
					}
					if sub := a.GetG(); sub != nil {
						visit(sub, depth+1)
					}
				}
			}
		}
		visit(m.Graph(), 0)
		out, err := proto.MarshalOptions{Deterministic: true}.Marshal(m.Proto)
		if err != nil {
			t.Fatalf("re-marshal of a parsed model failed: %v", err)
		}
		if _, err := Parse(out, ReadOptions{NoValidate: true}); err != nil {
			t.Fatalf("re-parse of a re-marshaled model failed: %v", err)
		}
	})
}

func fuzzTensor(m *Model, tp *onnxpb.TensorProto) {
	m.TensorBytes(tp)
	DecodeTensor(m, tp)
	TensorView[float32](m, tp)
	TensorView[int8](m, tp)
	ParseExternalData(tp)
}

func TestFuzzSeedsParse(t *testing.T) {
	seeds := fuzzSeeds(t)
	for i, s := range seeds[:2] {
		m, err := Parse(s, ReadOptions{})
		if err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		for _, tp := range m.Initializers() {
			if _, err := DecodeTensor(m, tp); err != nil {
				t.Errorf("seed %d: %v", i, err)
			}
		}
	}
	got, err := DecodeTensor(nil, typed("ts", String, []int64{1}, func(p *onnxpb.TensorProto) { p.StringData = [][]byte{[]byte("s")} }))
	if err != nil || string(got.([][]byte)[0]) != "s" {
		t.Errorf("DecodeTensor(STRING): got %v, %v", got, err)
	}
}
