package graph

import (
	"context"
	"fmt"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// Graph is a built, immutable DAG of nodes. Forward, Run and Backward may be
// called concurrently from several goroutines: all per-call state lives in
// the Tape that Forward returns, and parameter gradients are accumulated
// under each Parameter's mutex.
type Graph[T tensor.Numeric] struct {
	name    string
	ops     numeric.Arithmetic[T]
	nodes   []*gnode[T] // topological order: producers first
	inputs  []int       // node index of each graph input, in declaration order
	outputs []int       // node index of each graph output
	params  []*Parameter[T]
	byName  map[string]int
}

// gnode is one input or node of a built graph.
type gnode[T tensor.Numeric] struct {
	*entry[T]
	in        []int // node indices of the inputs
	static    []int // build-time output shape; nil if unknown
	needsGrad bool  // Backward visits it: a T input, or a differentiable node with parameters or a T input needing a gradient
	lastUse   int   // index of the last consumer; len(nodes) for outputs
}

// ValueInfo describes a graph input or output.
type ValueInfo struct {
	Name  string
	DType numeric.DType
	Shape []int // static shape; -1 for dynamic dimensions, nil if unknown
}

func (b *Builder[T]) assemble(order []int, ins [][]int, outs []int, shapes [][]int) *Graph[T] {
	// Keep the graph inputs and everything the outputs depend on.
	live := make([]bool, len(b.entries))
	var mark func(int)
	mark = func(i int) {
		if live[i] {
			return
		}
		live[i] = true
		for _, k := range ins[i] {
			mark(k)
		}
	}
	for i, e := range b.entries {
		if e.isInput {
			live[i] = true
		}
	}
	for _, k := range outs {
		mark(k)
	}
	g := &Graph[T]{name: b.name, ops: b.ops, byName: map[string]int{}}
	pos := make([]int, len(b.entries))
	for _, i := range order {
		if !live[i] {
			continue
		}
		pos[i] = len(g.nodes)
		g.byName[b.entries[i].name] = len(g.nodes)
		g.nodes = append(g.nodes, &gnode[T]{entry: b.entries[i], static: shapes[i]})
	}
	for _, i := range order {
		if !live[i] {
			continue
		}
		n := g.nodes[pos[i]]
		n.lastUse = -1
		n.in = make([]int, len(ins[i]))
		for j, k := range ins[i] {
			n.in[j] = pos[k]
		}
	}
	for i, e := range b.entries {
		if e.isInput {
			g.inputs = append(g.inputs, pos[i])
		}
	}
	for _, k := range outs {
		g.outputs = append(g.outputs, pos[k])
	}
	dt := numeric.DTypeOf[T]()
	seen := map[*Parameter[T]]bool{}
	for i, n := range g.nodes {
		for _, k := range n.in {
			g.nodes[k].lastUse = i
		}
		switch {
		case n.isInput:
			n.needsGrad = n.dtype == dt
		case n.backward != nil:
			ps := n.params()
			for _, p := range ps {
				if p != nil && !seen[p] {
					seen[p] = true
					g.params = append(g.params, p)
				}
			}
			n.needsGrad = len(ps) > 0
			for _, k := range n.in {
				if p := g.nodes[k]; p.dtype == dt && p.needsGrad {
					n.needsGrad = true
				}
			}
		}
	}
	for _, k := range g.outputs {
		g.nodes[k].lastUse = len(g.nodes)
	}
	return g
}

// Name returns the graph's name.
func (g *Graph[T]) Name() string { return g.name }

// Parameters returns the trainable parameters of the graph's nodes, each
// once, in topological order of the nodes.
func (g *Graph[T]) Parameters() []*Parameter[T] { return append([]*Parameter[T](nil), g.params...) }

// Inputs describes the graph inputs in the order Forward takes them.
func (g *Graph[T]) Inputs() []ValueInfo {
	return g.info(g.inputs)
}

// Outputs describes the graph outputs in order.
func (g *Graph[T]) Outputs() []ValueInfo {
	return g.info(g.outputs)
}

func (g *Graph[T]) info(idx []int) []ValueInfo {
	vi := make([]ValueInfo, len(idx))
	for j, k := range idx {
		n := g.nodes[k]
		vi[j] = ValueInfo{Name: n.name, DType: n.dtype, Shape: cloneShape(n.static)}
	}
	return vi
}

// Node returns the Node or MixedNode called name, or false if the graph
// has no such node (graph inputs are not nodes; nodes that no output
// depends on are dropped by Build).
func (g *Graph[T]) Node(name string) (any, bool) {
	i, ok := g.byName[name]
	if !ok || g.nodes[i].isInput {
		return nil, false
	}
	return g.nodes[i].node, true
}

// Tape is the record of one Forward call: the value of every input and
// node. Backward reads it; nothing writes it after Forward returns, so one
// tape may feed several concurrent Backward calls.
type Tape[T tensor.Numeric] struct {
	g      *Graph[T]
	values []tensor.Any
}

// Outputs returns the graph outputs of the Forward call, in order.
func (t *Tape[T]) Outputs() []tensor.Any {
	out := make([]tensor.Any, len(t.g.outputs))
	for j, k := range t.g.outputs {
		out[j] = t.values[k]
	}
	return out
}

// Output returns output i as a tensor of the graph's element type. It
// returns an error wrapping tensor.ErrIndex for a bad i and ErrDType if the
// output has another element type (use Outputs for those).
func (t *Tape[T]) Output(i int) (*tensor.Tensor[T], error) {
	if i < 0 || i >= len(t.g.outputs) {
		return nil, fmt.Errorf("graph %q: %w: output %d of %d", t.g.name, tensor.ErrIndex, i, len(t.g.outputs))
	}
	n := t.g.nodes[t.g.outputs[i]]
	v, ok := t.values[t.g.outputs[i]].(*tensor.Tensor[T])
	if !ok {
		return nil, fmt.Errorf("graph %q: output %d (%q) is %s: %w: want %s", t.g.name, i, n.name, n.dtype, ErrDType, numeric.DTypeOf[T]())
	}
	return v, nil
}

// Value returns the value that the input or node called name took in the
// Forward call.
func (t *Tape[T]) Value(name string) (tensor.Any, bool) {
	i, ok := t.g.byName[name]
	if !ok {
		return nil, false
	}
	return t.values[i], true
}

// Forward runs every node in topological order on inputs (one per graph
// input, in declaration order) and returns the tape of all values, which
// Backward needs. Errors from a node are *NodeErrors naming it; bad inputs
// wrap ErrInput, ErrDType or tensor.ErrShape. Forward checks ctx between
// nodes and returns ctx.Err() (wrapped) when it is cancelled.
func (g *Graph[T]) Forward(ctx context.Context, inputs ...tensor.Any) (*Tape[T], error) {
	vals, err := g.run(ctx, inputs, false)
	if err != nil {
		return nil, err
	}
	return &Tape[T]{g: g, values: vals}, nil
}

// Run is Forward for inference: it drops each intermediate value as soon as
// its last consumer has run and returns only the outputs.
func (g *Graph[T]) Run(ctx context.Context, inputs ...tensor.Any) ([]tensor.Any, error) {
	vals, err := g.run(ctx, inputs, true)
	if err != nil {
		return nil, err
	}
	out := make([]tensor.Any, len(g.outputs))
	for j, k := range g.outputs {
		out[j] = vals[k]
	}
	return out, nil
}

func (g *Graph[T]) run(ctx context.Context, inputs []tensor.Any, release bool) ([]tensor.Any, error) {
	if len(inputs) != len(g.inputs) {
		return nil, fmt.Errorf("graph %q: %w: got %d inputs, want %d (%v)", g.name, ErrInput, len(inputs), len(g.inputs), g.inputNames())
	}
	vals := make([]tensor.Any, len(g.nodes))
	for j, k := range g.inputs {
		n := g.nodes[k]
		v := inputs[j]
		if v == nil {
			return nil, g.nodeErr(n, "forward", fmt.Errorf("%w: input %d is nil", ErrInput, j))
		}
		if err := n.check(v); err != nil {
			return nil, g.nodeErr(n, "forward", err)
		}
		if !valueMatches(n.static, v) {
			return nil, g.nodeErr(n, "forward", fmt.Errorf("%w: got shape %v, want %s", tensor.ErrShape, v.Shape(), fmtShape(n.static)))
		}
		vals[k] = v
	}
	for i, n := range g.nodes {
		if n.isInput {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, g.nodeErr(n, "forward", err)
		}
		args := make([]tensor.Any, len(n.in))
		for j, k := range n.in {
			args[j] = vals[k]
		}
		out, err := n.forward(ctx, args)
		if err != nil {
			return nil, g.nodeErr(n, "forward", err)
		}
		if !valueMatches(n.static, out) {
			return nil, g.nodeErr(n, "forward", fmt.Errorf("%w: output has shape %v, the node declared %s", tensor.ErrShape, out.Shape(), fmtShape(n.static)))
		}
		vals[i] = out
		if release {
			for _, k := range n.in {
				if g.nodes[k].lastUse == i {
					vals[k] = nil
				}
			}
		}
	}
	return vals, nil
}

// Backward runs reverse-mode differentiation over the tape of a Forward
// call of this graph. outputGradients holds one gradient per graph output
// (nil for an output that does not contribute, and for outputs whose
// element type is not T); with none given, every output must be a
// one-element tensor of type T (a scalar loss) and is seeded with 1.
//
// Gradients reaching a value from several consumers are summed. Nodes add
// their parameter gradients to their Parameters (AccumulateGradient), so
// several Backward calls accumulate until the gradients are zeroed.
// Backward returns the gradient of each graph input (nil for inputs of
// another element type and inputs no output depends on).
//
// A nil tape or one from another graph gives an error wrapping ErrNoTape.
func (g *Graph[T]) Backward(ctx context.Context, tape *Tape[T], outputGradients ...*tensor.Tensor[T]) ([]*tensor.Tensor[T], error) {
	if tape == nil {
		return nil, fmt.Errorf("graph %q: %w: Backward got a nil tape; call Forward first", g.name, ErrNoTape)
	}
	if tape.g != g {
		return nil, fmt.Errorf("graph %q: %w: the tape comes from graph %q, not this one", g.name, ErrNoTape, tape.g.name)
	}
	dt := numeric.DTypeOf[T]()
	grads := make([]gradSum[T], len(g.nodes))
	switch {
	case len(outputGradients) == 0:
		for j, k := range g.outputs {
			n := g.nodes[k]
			v, ok := tape.values[k].(*tensor.Tensor[T])
			if !ok || v.Size() != 1 {
				return nil, fmt.Errorf("graph %q: %w: output %d (%q) is %s %v; Backward without output gradients needs scalar outputs of type %s",
					g.name, ErrInput, j, n.name, n.dtype, tape.values[k].Shape(), dt)
			}
			seed := tensor.Must(tensor.New[T](v.Shape(), []T{g.one()}))
			if err := grads[k].add(g.ops, seed); err != nil {
				return nil, err
			}
		}
	case len(outputGradients) == len(g.outputs):
		for j, k := range g.outputs {
			og := outputGradients[j]
			if og == nil {
				continue
			}
			n := g.nodes[k]
			if n.dtype != dt {
				return nil, fmt.Errorf("graph %q: %w: output %d (%q) is %s and cannot take a %s gradient", g.name, ErrDType, j, n.name, n.dtype, dt)
			}
			if vs := tape.values[k].Shape(); !tensor.SameShape(vs, og.Shape()) {
				return nil, fmt.Errorf("graph %q: %w: gradient of output %d (%q) has shape %v, the output has %v", g.name, tensor.ErrShape, j, n.name, og.Shape(), vs)
			}
			if err := grads[k].add(g.ops, og); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("graph %q: %w: got %d output gradients, want %d or none", g.name, ErrInput, len(outputGradients), len(g.outputs))
	}
	for i := len(g.nodes) - 1; i >= 0; i-- {
		n := g.nodes[i]
		og := grads[i].t
		if n.isInput || !n.needsGrad || og == nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, g.nodeErr(n, "backward", err)
		}
		args := make([]tensor.Any, len(n.in))
		for j, k := range n.in {
			args[j] = tape.values[k]
		}
		ig, err := n.backward(ctx, og, args)
		if err != nil {
			return nil, g.nodeErr(n, "backward", err)
		}
		if len(ig) != len(n.in) {
			return nil, g.nodeErr(n, "backward", fmt.Errorf("%w: Backward returned %d input gradients for %d inputs", ErrNode, len(ig), len(n.in)))
		}
		for j, k := range n.in {
			p := g.nodes[k]
			if ig[j] == nil || p.dtype != dt || !p.needsGrad {
				continue
			}
			if vs := tape.values[k].Shape(); !tensor.SameShape(vs, ig[j].Shape()) {
				return nil, g.nodeErr(n, "backward", fmt.Errorf("%w: gradient of input %d (%q) has shape %v, the input has %v",
					tensor.ErrShape, j, p.name, ig[j].Shape(), vs))
			}
			if err := grads[k].add(g.ops, ig[j]); err != nil {
				return nil, g.nodeErr(n, "backward", err)
			}
		}
		grads[i] = gradSum[T]{} // release
	}
	out := make([]*tensor.Tensor[T], len(g.inputs))
	for j, k := range g.inputs {
		out[j] = grads[k].t
	}
	return out, nil
}

// gradSum accumulates the gradient of one value. The first contribution is
// kept as is (it may be shared with a node); a second one makes a private
// copy to add into.
type gradSum[T tensor.Numeric] struct {
	t     *tensor.Tensor[T]
	owned bool
}

func (s *gradSum[T]) add(ops numeric.Arithmetic[T], g *tensor.Tensor[T]) error {
	if s.t == nil {
		s.t = g
		return nil
	}
	if !s.owned {
		s.t = s.t.Copy()
		s.owned = true
	}
	return addInto(s.t.Data(), g.Data(), ops)
}

func (g *Graph[T]) one() T {
	var one T
	switch p := any(&one).(type) {
	case *float32:
		*p = 1
	case *float64:
		*p = 1
	case *int8:
		*p = 1
	case *uint8:
		*p = 1
	case *int16:
		*p = 1
	case *int32:
		*p = 1
	case *int64:
		*p = 1
	default:
		one = g.ops.One()
	}
	return one
}

func (g *Graph[T]) nodeErr(n *gnode[T], op string, err error) error {
	return &NodeError{Graph: g.name, Node: n.name, OpType: n.opType, Op: op, Err: err}
}

func (g *Graph[T]) inputNames() []string {
	s := make([]string, len(g.inputs))
	for j, k := range g.inputs {
		s[j] = g.nodes[k].name
	}
	return s
}

// valueMatches is shapeMatches for a value, without copying its shape.
func valueMatches(want []int, v tensor.Any) bool {
	d, ok := v.(interface{ Dim(int) int })
	if want == nil || !ok {
		return want == nil || shapeMatches(want, v.Shape())
	}
	if v.Dims() != len(want) {
		return false
	}
	for i, w := range want {
		if w >= 0 && w != d.Dim(i) {
			return false
		}
	}
	return true
}

// shapeMatches reports whether got fits the static shape want (nil: any;
// -1: any size on that axis).
func shapeMatches(want, got []int) bool {
	if want == nil {
		return true
	}
	if len(want) != len(got) {
		return false
	}
	for i, d := range want {
		if d >= 0 && d != got[i] {
			return false
		}
	}
	return true
}
