package onnx

import (
	"fmt"
	"unsafe"

	"google.golang.org/protobuf/proto"

	"github.com/zerfoo/zerfoo/onnx/onnxpb"
)

// IRVersion is the ONNX IR version Builder writes (10: ONNX 1.16, the first
// with INT4/UINT4).
const IRVersion = 10

// Producer is the producer_name Builder writes.
const Producer = "zerfoo"

// Builder assembles a model from Go. Its methods record the first error,
// which Model returns, so a model can be built without checking each call.
type Builder struct {
	model *onnxpb.ModelProto
	graph *onnxpb.GraphProto
	err   error
}

// NewBuilder starts a model whose main graph is called name and which
// imports the given operator sets (for example Opset{"", 21} and
// Opset{MicrosoftDomain, 1}).
func NewBuilder(name string, opsets ...Opset) *Builder {
	g := &onnxpb.GraphProto{Name: proto.String(name)}
	m := &onnxpb.ModelProto{
		IrVersion:    proto.Int64(IRVersion),
		ProducerName: proto.String(Producer),
		Graph:        g,
	}
	for _, o := range opsets {
		m.OpsetImport = append(m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: proto.String(o.Domain), Version: proto.Int64(o.Version)})
	}
	return &Builder{model: m, graph: g}
}

func (b *Builder) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// Input adds a graph input of element type dt. Each dim is an int or int64
// (a fixed size), a string (a symbolic size such as "batch") or nil (an
// unknown size); no dims means a scalar.
func (b *Builder) Input(name string, dt DataType, dims ...any) {
	b.graph.Input = append(b.graph.Input, b.valueInfo(name, dt, dims))
}

// Output adds a graph output; dims are as for Input.
func (b *Builder) Output(name string, dt DataType, dims ...any) {
	b.graph.Output = append(b.graph.Output, b.valueInfo(name, dt, dims))
}

// ValueInfo records the type of an intermediate value; dims are as for
// Input.
func (b *Builder) ValueInfo(name string, dt DataType, dims ...any) {
	b.graph.ValueInfo = append(b.graph.ValueInfo, b.valueInfo(name, dt, dims))
}

// ValueInfoProto builds a tensor ValueInfoProto; dims are as for
// Builder.Input.
func ValueInfoProto(name string, dt DataType, dims ...any) (*onnxpb.ValueInfoProto, error) {
	shape := &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{}}
	for _, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		switch v := d.(type) {
		case int:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(v)}
		case int64:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: v}
		case string:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: v}
		case nil:
		default:
			return nil, &Error{Tensor: name, Msg: fmt.Sprintf("dimension %v of type %T: want int, int64, string or nil", d, d), Err: ErrInvalid}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(dt)),
			Shape:    shape,
		}}},
	}, nil
}

func (b *Builder) valueInfo(name string, dt DataType, dims []any) *onnxpb.ValueInfoProto {
	vi, err := ValueInfoProto(name, dt, dims...)
	if err != nil {
		b.fail(err)
		return &onnxpb.ValueInfoProto{Name: proto.String(name)}
	}
	return vi
}

// Node describes one node for Builder.AddNode.
type Node struct {
	Name    string // optional but recommended: errors name nodes by it
	Op      string // op_type, such as "MatMul"
	Domain  string // "" for the default domain, or MicrosoftDomain, ...
	Inputs  []string
	Outputs []string
	Attrs   []Attr
}

// NodeProto converts n, checking its attribute values.
func NodeProto(n Node) (*onnxpb.NodeProto, error) {
	p := &onnxpb.NodeProto{
		Input:  append([]string{}, n.Inputs...),
		Output: append([]string{}, n.Outputs...),
		OpType: proto.String(n.Op),
	}
	if n.Name != "" {
		p.Name = proto.String(n.Name)
	}
	if n.Domain != "" {
		p.Domain = proto.String(n.Domain)
	}
	for _, a := range n.Attrs {
		ap, err := NewAttribute(a.Name, a.Value)
		if err != nil {
			e := err.(*Error)
			e.Node, e.Op = n.Name, n.Op
			return nil, e
		}
		p.Attribute = append(p.Attribute, ap)
	}
	return p, nil
}

// AddNode appends a node to the graph. Nodes must be added in topological
// order (inputs defined before use), as ONNX requires.
func (b *Builder) AddNode(n Node) {
	p, err := NodeProto(n)
	if err != nil {
		b.fail(err)
		return
	}
	b.graph.Node = append(b.graph.Node, p)
}

// AddInitializer appends a tensor (for example from NewTensor) to the
// graph's initializers.
func (b *Builder) AddInitializer(t *onnxpb.TensorProto) {
	b.graph.Initializer = append(b.graph.Initializer, t)
}

// Initializer adds an initializer built by NewTensor to b, recording any
// error in b.
func Initializer[T Element](b *Builder, name string, dt DataType, dims []int64, data []T) {
	t, err := NewTensor(name, dt, dims, data)
	if err != nil {
		b.fail(err)
		return
	}
	b.AddInitializer(t)
}

// Model returns the built model after validating it (see Model.Validate),
// or the first error recorded while building.
func (b *Builder) Model() (*onnxpb.ModelProto, error) {
	if b.err != nil {
		return nil, b.err
	}
	if err := New(b.model, ReadOptions{}).Validate(); err != nil {
		return nil, err
	}
	return b.model, nil
}

// NewTensor builds a TensorProto of data type dt and shape dims holding
// data in raw_data (little-endian). T must be the Go type for dt (see
// Element); for INT4/UINT4/FLOAT4E2M1 data holds one value per element,
// which must fit in 4 bits, and is packed two per byte, low nibble first.
// len(data) must equal the product of dims.
func NewTensor[T Element](name string, dt DataType, dims []int64, data []T) (*onnxpb.TensorProto, error) {
	t := &onnxpb.TensorProto{Name: proto.String(name), Dims: append([]int64{}, dims...), DataType: proto.Int32(int32(dt))}
	if !goTypeFits[T](dt) {
		return nil, &Error{Tensor: name, Msg: fmt.Sprintf("cannot store %s values as %v", goTypeName[T](), dt), Err: ErrInvalid}
	}
	n, err := NumElements(dims)
	if err != nil {
		return nil, &Error{Tensor: name, Msg: err.Error(), Err: ErrInvalid}
	}
	if len(data) != n {
		return nil, &Error{Tensor: name, Msg: fmt.Sprintf("%d values for shape %v (%d elements)", len(data), dims, n), Err: ErrInvalid}
	}
	if dt.Bits() == 4 {
		raw := make([]byte, dt.ByteSize(n))
		for i := range data {
			v := *(*uint8)(unsafe.Pointer(&data[i]))
			if dt == Int4 {
				if s := int8(v); s < -8 || s > 7 {
					return nil, &Error{Tensor: name, Msg: fmt.Sprintf("value %d at %d does not fit in INT4", s, i), Err: ErrInvalid}
				}
			} else if v > 15 {
				return nil, &Error{Tensor: name, Msg: fmt.Sprintf("value %d at %d does not fit in %v", v, i, dt), Err: ErrInvalid}
			}
			raw[i/2] |= (v & 0xf) << (4 * uint(i&1))
		}
		t.RawData = raw
		return t, nil
	}
	raw := append([]byte{}, asBytes(data)...)
	if !littleEndian {
		swapBytes(raw, int(unsafe.Sizeof(data[0])))
	}
	if raw == nil {
		raw = []byte{}
	}
	t.RawData = raw
	return t, nil
}
