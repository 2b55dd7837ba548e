// Package graph wires nodes into a directed acyclic graph, runs it forward
// and differentiates it in reverse mode.
//
// # Typed nodes, erased edges
//
// A node is typed: a Node[T] takes and returns *tensor.Tensor[T], and a
// MixedNode[T] takes inputs of any element type (as tensor.Any) and returns
// a *tensor.Tensor[T]. The edges between nodes are dtype-erased (tensor.Any),
// so one graph can carry several element types: a uint8 Constant feeding a
// float32 MatMulNBits, or int64 shape tensors passed between float ops as in
// ONNX.
//
// A Builder[T] is parameterized by the graph's trainable element type T:
//
//	b := graph.NewBuilder[float32]("mlp", numeric.Float32Ops{})
//	x := b.Input("x", []int{-1, 4})                  // -1: dynamic batch
//	w := graph.AddNode[float32, uint8](b, "w", codes)   // a Node[uint8]
//	y := b.AddMixed("y", matmulNBits, x, w)          // float32 out, float32+uint8 in
//	b.Output(y)
//	g, err := b.Build()
//
// Builder.Add takes a Node[T]; AddNode and AddMixedNode take nodes of
// another output type U. Build checks every edge: a Node[U]'s inputs must all
// have element type U, and a MixedNode that implements InputTyper gets each
// input checked against its declared type. A mismatch is an error naming
// both the consumer and the producer.
//
// # Build-time checks
//
// Wiring methods never fail; Build reports every problem at once
// (errors.Join of *NodeError values, each naming the node and its op type):
// duplicate and empty names (ErrDuplicate), references to names never
// defined, to another builder or empty Refs (ErrDangling), cycles (ErrCycle;
// only expressible through the late-bound Builder.Ref, and reported with the
// nodes on the cycle), element type mismatches (ErrDType), wrong input
// counts (ErrArity) and incompatible shapes (tensor.ErrShape). Static shapes
// propagate in topological order: graph inputs have declared shapes (-1 for a
// dynamic dimension, nil for an unknown rank); a node implementing
// ShapeInferer computes its shape from its inputs' shapes (and rejects
// incompatible ones); any other node contributes its OutputShape. At run
// time every value is checked against its static shape.
//
// # Tapes and autodiff
//
// Graph.Forward runs the nodes in topological order and returns a Tape, the
// per-call record of every intermediate value. Graph.Backward consumes a
// tape: it walks the nodes in reverse, calls each node's Backward with the
// summed gradient of its output and the inputs recorded on the tape, and
// sums input gradients over fan-out. Graph.Run is Forward for inference; it
// keeps no tape and drops intermediates after their last use.
//
// Gradients flow along edges of type T only. Nodes of another output type,
// and inputs of another type, are constants for autodiff: a MixedNode returns
// nil gradients for its non-T inputs, and nodes added with AddNode[T, U] for
// U ≠ T are never differentiated. Backward visits only nodes that lead from
// a parameter or a T input to an output.
//
// # Concurrency and who mutates what
//
// A Graph is immutable after Build and holds no per-call state, so Forward,
// Run and Backward may run concurrently from many goroutines. This relies on
// the node contract: Forward and Backward must be safe for concurrent use,
// must not modify their inputs or the output gradient (which the graph may
// share between consumers), and must not keep per-call state in the node.
// Values on a tape are never written after Forward returns.
//
// The only shared mutable state is parameters. Nodes add parameter gradients
// with Parameter.AccumulateGradient, which holds the parameter's mutex, so
// concurrent Backward calls sum their contributions. Optimizers write
// Parameter.Value (Parameter.Update) and reset gradients
// (Parameter.ZeroGradient) between steps; running them while a Forward reads
// the values is the caller's race to avoid.
//
// # Errors
//
// Run-time errors from a node come back as a *NodeError naming the graph,
// the node, its op type and the phase ("forward", "backward"), wrapping the
// node's error. A Backward without a tape from this graph's Forward wraps
// ErrNoTape; a cancelled context stops execution between nodes and the
// error wraps ctx.Err().
package graph
