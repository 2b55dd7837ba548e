package core

import (
	"context"
	"errors"
	"testing"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// checkConstant exercises one element type: introspection, Forward without
// copying and zero Backward gradients.
func checkConstant[T tensor.Numeric](t *testing.T, ops numeric.Arithmetic[T], data []T, shape []int, wantDType numeric.DType) {
	t.Helper()
	ctx := context.Background()
	c, err := NewConstantFromData("c", compute.NewCPUEngine[T](ops), ops, shape, data)
	if err != nil {
		t.Fatalf("%v: %v", wantDType, err)
	}
	if c.OpType() != "Constant" || c.Name() != "c" {
		t.Errorf("%v: OpType %q Name %q", wantDType, c.OpType(), c.Name())
	}
	if !tensor.SameShape(c.Shape(), shape) || !tensor.SameShape(c.OutputShape(), shape) {
		t.Errorf("%v: Shape %v OutputShape %v, want %v", wantDType, c.Shape(), c.OutputShape(), shape)
	}
	if c.DType() != wantDType || c.Size() != len(data) {
		t.Errorf("%v: DType %v Size %d, want %v %d", wantDType, c.DType(), c.Size(), wantDType, len(data))
	}
	if c.Parameters() != nil {
		t.Errorf("%v: Parameters = %v, want nil", wantDType, c.Parameters())
	}
	if v, ok := c.Attributes()["value"].(*tensor.Tensor[T]); !ok || v != c.Value() {
		t.Errorf("%v: Attributes()[value] = %v, want the value tensor", wantDType, c.Attributes()["value"])
	}
	in := tensor.Must(tensor.New[T]([]int{3, 2}, nil))
	y1, err := c.Forward(ctx)
	if err != nil {
		t.Fatal(err)
	}
	y2, err := c.Forward(ctx, in, in)
	if err != nil {
		t.Fatal(err)
	}
	// No copy per call: the same tensor, backed by the caller's data.
	if y1 != c.Value() || y2 != y1 || &y1.Data()[0] != &data[0] {
		t.Errorf("%v: Forward copied the value", wantDType)
	}
	for i, v := range y1.Data() {
		if v != data[i] {
			t.Errorf("%v: Forward()[%d] = %v, want %v", wantDType, i, v, data[i])
		}
	}
	grads, err := c.Backward(ctx, y1, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(grads) != 2 || grads[1] != nil || !tensor.SameShape(grads[0].Shape(), []int{3, 2}) {
		t.Fatalf("%v: Backward gradients %v, want one zero [3 2] tensor and nil", wantDType, grads)
	}
	var zero T
	for i, v := range grads[0].Data() {
		if v != zero {
			t.Errorf("%v: gradient[%d] = %v, want 0", wantDType, i, v)
		}
	}
	if g, err := c.Backward(ctx, y1); err != nil || len(g) != 0 {
		t.Errorf("%v: Backward without inputs = %v, %v; want none", wantDType, g, err)
	}
}

func TestConstantTypes(t *testing.T) {
	checkConstant(t, numeric.Uint8Ops{}, []uint8{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0}, []int{4, 2}, numeric.Uint8)
	checkConstant(t, numeric.Float32Ops{}, []float32{1.5, -2, 3}, []int{3}, numeric.Float32)
	checkConstant(t, numeric.Int64Ops{}, []int64{1 << 40, -7}, []int{1, 2}, numeric.Int64)
	checkConstant(t, numeric.Int32Ops{}, []int32{5}, []int{}, numeric.Int32)
	checkConstant(t, numeric.Float16Ops{}, []numeric.Float16{numeric.Float16FromFloat32(0.5), numeric.Float16FromFloat32(-3)}, []int{2, 1}, numeric.Float16Type)
	checkConstant(t, numeric.BFloat16Ops{}, []numeric.BFloat16{numeric.BFloat16FromFloat32(2)}, []int{1}, numeric.BFloat16Type)
	checkConstant(t, numeric.Float64Ops{}, []float64{1, 2, 3, 4, 5, 6}, []int{2, 3}, numeric.Float64)
	checkConstant(t, numeric.Int8Ops{}, []int8{-1, 1}, []int{2}, numeric.Int8)
}

func TestConstantErrors(t *testing.T) {
	if _, err := NewConstantFromData[float32]("c", f32eng, f32ops, []int{2, 2}, []float32{1, 2, 3}); !errors.Is(err, tensor.ErrShape) {
		t.Errorf("3 values for [2 2]: got %v, want ErrShape", err)
	}
	if _, err := NewConstantFromData[float32]("c", f32eng, f32ops, []int{-1}, []float32{}); !errors.Is(err, tensor.ErrShape) {
		t.Errorf("negative dimension: got %v, want ErrShape", err)
	}
	if _, err := NewConstantFromData[float32]("c", f32eng, f32ops, []int{2}, nil); !errors.Is(err, tensor.ErrShape) {
		t.Errorf("nil data: got %v, want ErrShape", err)
	}
	if _, err := NewConstant[float32]("c", f32eng, f32ops, nil); !errors.Is(err, tensor.ErrShape) {
		t.Errorf("nil value: got %v, want ErrShape", err)
	}
	v := tensor.Must(tensor.New([]int{2}, []float32{1, 2}))
	c, err := NewConstant("c", f32eng, f32ops, v)
	if err != nil || c.Value() != v {
		t.Fatalf("NewConstant: %v, %v", c, err)
	}
}

// A float32 Constant in a graph: its output feeds another node, and the
// graph's gradient flows to the graph input only.
func TestConstantInGraph(t *testing.T) {
	ctx := context.Background()
	w, _ := NewConstantFromData("w", f32eng, f32ops, []int{3, 2}, []float32{1, 2, 3, 4, 5, 6})
	b := graph.NewBuilder[float32]("g", f32ops)
	x := b.Input("x", []int{1, 3})
	wr := b.Add("w", w)
	b.Output(b.Add("mm", matMulNode{}, x, wr))
	g, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	out, err := g.Run(ctx, tensor.Must(tensor.New([]int{1, 3}, []float32{1, 1, 1})))
	if err != nil {
		t.Fatal(err)
	}
	y := out[0].(*tensor.Tensor[float32]).Data()
	if y[0] != 9 || y[1] != 12 {
		t.Errorf("x·w = %v, want [9 12]", y)
	}
}

// matMulNode is a minimal [1,k]·[k,n] node for the graph test.
type matMulNode struct{}

func (matMulNode) OpType() string                          { return "MatMul" }
func (matMulNode) Attributes() map[string]any              { return nil }
func (matMulNode) OutputShape() []int                      { return nil }
func (matMulNode) Parameters() []*graph.Parameter[float32] { return nil }
func (matMulNode) Forward(ctx context.Context, in ...*tensor.Tensor[float32]) (*tensor.Tensor[float32], error) {
	return f32eng.MatMul(ctx, in[0], in[1])
}
func (matMulNode) Backward(ctx context.Context, g *tensor.Tensor[float32], in ...*tensor.Tensor[float32]) ([]*tensor.Tensor[float32], error) {
	return []*tensor.Tensor[float32]{nil, nil}, nil
}
