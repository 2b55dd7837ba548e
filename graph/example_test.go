package graph_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/layers/ops"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// Build y = Σ (x⊙x + x), run it, and differentiate it: dy/dx = 2x + 1. The
// input x feeds three edges; Backward sums their gradients.
func ExampleBuilder() {
	ctx := context.Background()
	eng := compute.NewCPUEngine[float32](numeric.Float32Ops{})
	b := graph.NewBuilder[float32]("square-plus", numeric.Float32Ops{})
	x := b.Input("x", []int{-1})
	sq := b.Add("sq", ops.NewMul(eng), x, x)
	s := b.Add("s", ops.NewAdd(eng), sq, x)
	b.Output(b.Add("y", ops.NewReduceSum(eng, nil, false), s))
	g, err := b.Build()
	if err != nil {
		panic(err)
	}
	tape, err := g.Forward(ctx, tensor.Must(tensor.New([]int{3}, []float32{1, 2, 3})))
	if err != nil {
		panic(err)
	}
	y, _ := tape.Output(0)
	grads, err := g.Backward(ctx, tape) // scalar output: seeded with 1
	if err != nil {
		panic(err)
	}
	fmt.Println("y =", y.Data()[0])
	fmt.Println("dy/dx =", grads[0].Data())
	// Output:
	// y = 20
	// dy/dx = [3 5 7]
}

// Build errors name the nodes involved. A late-bound Ref can close a
// cycle, which Build rejects.
func ExampleBuilder_Build_cycle() {
	eng := compute.NewCPUEngine[float32](numeric.Float32Ops{})
	b := graph.NewBuilder[float32]("loop", numeric.Float32Ops{})
	x := b.Input("x", []int{2})
	a := b.Add("a", ops.NewAdd(eng), x, b.Ref("c"))
	c := b.Add("c", ops.NewNeg(eng), a)
	b.Output(c)
	_, err := b.Build()
	fmt.Println(err)
	fmt.Println(errors.Is(err, graph.ErrCycle))
	// Output:
	// graph "loop": build: node "a" (Add): graph: cycle: "a" (Add) -> "c" (Neg) -> "a" (Add)
	// true
}

// A float32 graph can carry other element types: here an int64 input of
// class labels feeds a MixedNode that gathers rows of a float32 table.
func ExampleInputOf() {
	ctx := context.Background()
	b := graph.NewBuilder[float32]("mixed", nil)
	ids := graph.InputOf[float32, int64](b, "ids", []int{-1})
	table := b.Input("table", []int{3, 2})
	b.Output(b.AddMixed("rows", pick{}, table, ids))
	g, err := b.Build()
	if err != nil {
		panic(err)
	}
	out, err := g.Run(ctx,
		tensor.Must(tensor.New([]int{3}, []int64{2, 0, 2})),
		tensor.Must(tensor.New([]int{3, 2}, []float32{1, 2, 3, 4, 5, 6})))
	fmt.Println(out[0], err)
	_, err = g.Run(ctx, tensor.Must(tensor.New([]int{1}, []float32{0})), tensor.Must(tensor.New[float32]([]int{3, 2}, nil)))
	fmt.Println(err)
	// Output:
	// Tensor[float32](3x2)[[5 6] [1 2] [5 6]] <nil>
	// graph "mixed": forward: node "ids" (Input): graph: element type mismatch: got float32, want int64
}

// pick is a MixedNode[float32] gathering rows of a float32 table by int64
// ids (its gradient is omitted for brevity).
type pick struct{}

func (pick) OpType() string                          { return "Pick" }
func (pick) Attributes() map[string]any              { return nil }
func (pick) OutputShape() []int                      { return []int{-1, 2} }
func (pick) Parameters() []*graph.Parameter[float32] { return nil }
func (pick) InputDTypes() []numeric.DType            { return []numeric.DType{numeric.Float32, numeric.Int64} }
func (pick) ForwardAny(_ context.Context, in ...tensor.Any) (*tensor.Tensor[float32], error) {
	table, ids := in[0].(*tensor.Tensor[float32]), in[1].(*tensor.Tensor[int64])
	out := tensor.Must(tensor.New[float32]([]int{ids.Size(), 2}, nil))
	for i, id := range ids.Data() {
		copy(out.Data()[2*i:2*i+2], table.Data()[2*id:2*id+2])
	}
	return out, nil
}
func (pick) BackwardAny(context.Context, *tensor.Tensor[float32], ...tensor.Any) ([]*tensor.Tensor[float32], error) {
	return []*tensor.Tensor[float32]{nil, nil}, nil
}
