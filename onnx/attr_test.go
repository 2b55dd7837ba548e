package onnx

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/zerfoo/zerfoo/onnx/onnxpb"
)

func TestAttributeRoundTrip(t *testing.T) {
	tensor, err := NewTensor("value", Float32, []int64{2}, []float32{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	sub := &onnxpb.GraphProto{Name: proto.String("body")}
	tests := []struct {
		name     string
		in       any
		wantType onnxpb.AttributeProto_AttributeType
		want     any // AttributeValue after a write/read round trip
	}{
		{"int", 7, onnxpb.AttributeProto_INT, int64(7)},
		{"int64", int64(-1 << 40), onnxpb.AttributeProto_INT, int64(-1 << 40)},
		{"bool", true, onnxpb.AttributeProto_INT, int64(1)},
		{"float32", float32(0.25), onnxpb.AttributeProto_FLOAT, float32(0.25)},
		{"float64", 1e-5, onnxpb.AttributeProto_FLOAT, float32(1e-5)},
		{"string", "tanh", onnxpb.AttributeProto_STRING, "tanh"},
		{"bytes", []byte{0xff, 0}, onnxpb.AttributeProto_STRING, "\xff\x00"},
		{"ints", []int{1, -2, 3}, onnxpb.AttributeProto_INTS, []int64{1, -2, 3}},
		{"ints64", []int64{4}, onnxpb.AttributeProto_INTS, []int64{4}},
		{"floats", []float32{0.5, -1}, onnxpb.AttributeProto_FLOATS, []float32{0.5, -1}},
		{"floats64", []float64{2}, onnxpb.AttributeProto_FLOATS, []float32{2}},
		{"strings", []string{"a", "", "b"}, onnxpb.AttributeProto_STRINGS, []string{"a", "", "b"}},
		{"byte strings", [][]byte{[]byte("x")}, onnxpb.AttributeProto_STRINGS, []string{"x"}},
		{"tensor", tensor, onnxpb.AttributeProto_TENSOR, tensor},
		{"tensors", []*onnxpb.TensorProto{tensor, tensor}, onnxpb.AttributeProto_TENSORS, []*onnxpb.TensorProto{tensor, tensor}},
		{"graph", sub, onnxpb.AttributeProto_GRAPH, sub},
		{"graphs", []*onnxpb.GraphProto{sub}, onnxpb.AttributeProto_GRAPHS, []*onnxpb.GraphProto{sub}},
	}
	b := NewBuilder("attrs", Opset{"", 21}, Opset{"test.domain", 1})
	b.Input("x", Float32, 2)
	var attrs []Attr
	for _, tc := range tests {
		attrs = append(attrs, Attr{tc.name, tc.in})
	}
	b.AddNode(Node{Name: "n", Op: "Anything", Domain: "test.domain", Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: attrs})
	b.Output("y", Float32, 2)
	p, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	m := parseBack(t, p)
	n := m.Graph().GetNode()[0]
	if n.GetDomain() != "test.domain" || n.GetOpType() != "Anything" || n.GetName() != "n" {
		t.Fatalf("node: got %q %q %q, want test.domain Anything n", n.GetDomain(), n.GetOpType(), n.GetName())
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := FindAttr(n, tc.name)
			if a == nil {
				t.Fatalf("attribute %q missing after round trip", tc.name)
			}
			if a.GetType() != tc.wantType {
				t.Errorf("type: got %v, want %v", a.GetType(), tc.wantType)
			}
			got, err := AttributeValue(a)
			if err != nil {
				t.Fatal(err)
			}
			if msg, ok := tc.want.(proto.Message); ok {
				if !proto.Equal(got.(proto.Message), msg) {
					t.Errorf("got %v, want %v", got, tc.want)
				}
				return
			}
			if ms, ok := tc.want.([]*onnxpb.TensorProto); ok {
				g := got.([]*onnxpb.TensorProto)
				if len(g) != len(ms) || !proto.Equal(g[0], ms[0]) {
					t.Errorf("got %v, want %v", got, tc.want)
				}
				return
			}
			if ms, ok := tc.want.([]*onnxpb.GraphProto); ok {
				g := got.([]*onnxpb.GraphProto)
				if len(g) != len(ms) || !proto.Equal(g[0], ms[0]) {
					t.Errorf("got %v, want %v", got, tc.want)
				}
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestAttrOr(t *testing.T) {
	n, err := NodeProto(Node{Name: "sm", Op: "Softmax", Attrs: []Attr{{"axis", -1}, {"mode", "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := AttrOr(n, "axis", int64(1)); err != nil || v != -1 {
		t.Errorf("AttrOr(axis): got %v, %v, want -1", v, err)
	}
	if v, err := AttrOr(n, "missing", float32(0.5)); err != nil || v != 0.5 {
		t.Errorf("AttrOr(missing): got %v, %v, want default 0.5", v, err)
	}
	_, err = AttrOr(n, "mode", int64(0))
	if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `node "sm" (Softmax): attribute "mode" has type STRING, want int64`) {
		t.Errorf("AttrOr(mode as int64): got %v, want a type error naming node and attribute", err)
	}
	_, err = NewAttribute("bad", struct{}{})
	if err == nil || !errors.Is(err, ErrUnsupported) {
		t.Errorf("NewAttribute(struct{}): got %v, want ErrUnsupported", err)
	}
	b := NewBuilder("g", Opset{"", 21})
	b.AddNode(Node{Name: "n", Op: "Relu", Attrs: []Attr{{"x", map[int]int{}}}})
	if _, err := b.Model(); err == nil || !strings.Contains(err.Error(), `node "n" (Relu): attribute "x": unsupported Go type map[int]int`) {
		t.Errorf("Builder with a bad attribute: got %v", err)
	}
}
