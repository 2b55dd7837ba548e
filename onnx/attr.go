package onnx

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/zerfoo/zerfoo/onnx/onnxpb"
)

// Attr is a node attribute for Builder.AddNode: a name and a Go value of
// one of the types NewAttribute accepts.
type Attr struct {
	Name  string
	Value any
}

// NewAttribute converts a Go value to an AttributeProto:
//
//	int, int64, bool (0 or 1)    INT      []int, []int64        INTS
//	float32, float64             FLOAT    []float32, []float64  FLOATS
//	string, []byte               STRING   []string, [][]byte    STRINGS
//	*onnxpb.TensorProto          TENSOR   []*onnxpb.TensorProto TENSORS
//	*onnxpb.GraphProto           GRAPH    []*onnxpb.GraphProto  GRAPHS
//
// Other types are an error.
func NewAttribute(name string, value any) (*onnxpb.AttributeProto, error) {
	a := &onnxpb.AttributeProto{Name: proto.String(name)}
	typ := func(t onnxpb.AttributeProto_AttributeType) { a.Type = t.Enum() }
	switch v := value.(type) {
	case int:
		a.I = proto.Int64(int64(v))
		typ(onnxpb.AttributeProto_INT)
	case int64:
		a.I = proto.Int64(v)
		typ(onnxpb.AttributeProto_INT)
	case bool:
		a.I = proto.Int64(0)
		if v {
			a.I = proto.Int64(1)
		}
		typ(onnxpb.AttributeProto_INT)
	case float32:
		a.F = proto.Float32(v)
		typ(onnxpb.AttributeProto_FLOAT)
	case float64:
		a.F = proto.Float32(float32(v))
		typ(onnxpb.AttributeProto_FLOAT)
	case string:
		a.S = []byte(v)
		typ(onnxpb.AttributeProto_STRING)
	case []byte:
		a.S = append([]byte{}, v...)
		typ(onnxpb.AttributeProto_STRING)
	case *onnxpb.TensorProto:
		a.T = v
		typ(onnxpb.AttributeProto_TENSOR)
	case *onnxpb.GraphProto:
		a.G = v
		typ(onnxpb.AttributeProto_GRAPH)
	case []int:
		a.Ints = make([]int64, len(v))
		for i, x := range v {
			a.Ints[i] = int64(x)
		}
		typ(onnxpb.AttributeProto_INTS)
	case []int64:
		a.Ints = append([]int64{}, v...)
		typ(onnxpb.AttributeProto_INTS)
	case []float32:
		a.Floats = append([]float32{}, v...)
		typ(onnxpb.AttributeProto_FLOATS)
	case []float64:
		a.Floats = make([]float32, len(v))
		for i, x := range v {
			a.Floats[i] = float32(x)
		}
		typ(onnxpb.AttributeProto_FLOATS)
	case []string:
		a.Strings = make([][]byte, len(v))
		for i, x := range v {
			a.Strings[i] = []byte(x)
		}
		typ(onnxpb.AttributeProto_STRINGS)
	case [][]byte:
		a.Strings = make([][]byte, len(v))
		for i, x := range v {
			a.Strings[i] = append([]byte{}, x...)
		}
		typ(onnxpb.AttributeProto_STRINGS)
	case []*onnxpb.TensorProto:
		a.Tensors = v
		typ(onnxpb.AttributeProto_TENSORS)
	case []*onnxpb.GraphProto:
		a.Graphs = v
		typ(onnxpb.AttributeProto_GRAPHS)
	default:
		return nil, &Error{Msg: fmt.Sprintf("attribute %q: unsupported Go type %T", name, value), Err: ErrUnsupported}
	}
	return a, nil
}

// AttributeValue returns the value of a as a Go value chosen by its type:
// INT int64, FLOAT float32, STRING string, TENSOR *onnxpb.TensorProto,
// GRAPH *onnxpb.GraphProto, SPARSE_TENSOR *onnxpb.SparseTensorProto,
// TYPE_PROTO *onnxpb.TypeProto, INTS []int64, FLOATS []float32, STRINGS
// []string, TENSORS []*onnxpb.TensorProto, GRAPHS []*onnxpb.GraphProto,
// SPARSE_TENSORS []*onnxpb.SparseTensorProto, TYPE_PROTOS []*onnxpb.TypeProto.
func AttributeValue(a *onnxpb.AttributeProto) (any, error) {
	switch a.GetType() {
	case onnxpb.AttributeProto_INT:
		return a.GetI(), nil
	case onnxpb.AttributeProto_FLOAT:
		return a.GetF(), nil
	case onnxpb.AttributeProto_STRING:
		return string(a.GetS()), nil
	case onnxpb.AttributeProto_TENSOR:
		return a.GetT(), nil
	case onnxpb.AttributeProto_GRAPH:
		return a.GetG(), nil
	case onnxpb.AttributeProto_SPARSE_TENSOR:
		return a.GetSparseTensor(), nil
	case onnxpb.AttributeProto_TYPE_PROTO:
		return a.GetTp(), nil
	case onnxpb.AttributeProto_INTS:
		return a.GetInts(), nil
	case onnxpb.AttributeProto_FLOATS:
		return a.GetFloats(), nil
	case onnxpb.AttributeProto_STRINGS:
		out := make([]string, len(a.GetStrings()))
		for i, s := range a.GetStrings() {
			out[i] = string(s)
		}
		return out, nil
	case onnxpb.AttributeProto_TENSORS:
		return a.GetTensors(), nil
	case onnxpb.AttributeProto_GRAPHS:
		return a.GetGraphs(), nil
	case onnxpb.AttributeProto_SPARSE_TENSORS:
		return a.GetSparseTensors(), nil
	case onnxpb.AttributeProto_TYPE_PROTOS:
		return a.GetTypeProtos(), nil
	}
	return nil, &Error{Msg: fmt.Sprintf("attribute %q has type %v", a.GetName(), a.GetType()), Err: ErrUnsupported}
}

// FindAttr returns the attribute of n called name, or nil.
func FindAttr(n *onnxpb.NodeProto, name string) *onnxpb.AttributeProto {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

// AttrOr returns the value of n's attribute name as a T (one of the types
// AttributeValue returns), or def when n has no such attribute. An
// attribute of another type is an error naming the node and attribute.
func AttrOr[T any](n *onnxpb.NodeProto, name string, def T) (T, error) {
	a := FindAttr(n, name)
	if a == nil {
		return def, nil
	}
	v, err := AttributeValue(a)
	if err != nil {
		return def, attrErr(n, name, err.(*Error).Msg)
	}
	t, ok := v.(T)
	if !ok {
		return def, attrErr(n, name, fmt.Sprintf("attribute %q has type %v, want %T", name, a.GetType(), def))
	}
	return t, nil
}

func attrErr(n *onnxpb.NodeProto, name, msg string) error {
	node, op := nodeLabel(n, -1)
	if n.GetName() == "" {
		node = ""
	}
	return &Error{Node: node, Op: op, Msg: msg, Err: ErrInvalid}
}
