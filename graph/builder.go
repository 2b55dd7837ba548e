package graph

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// opInput is the op type reported for graph inputs.
const opInput = "Input"

// Ref refers to the output of one input or node of a Builder. The zero Ref
// refers to nothing; Build reports it as dangling.
type Ref struct {
	owner *builderID
	id    int // index into the builder's entries; -1 for a late-bound name
	name  string
}

// Name returns the name of the input or node r refers to.
func (r Ref) Name() string { return r.name }

// builderID gives each Builder an identity that Refs compare against.
type builderID struct{ _ byte }

// entry is one input or node recorded by a Builder, with its element types
// erased behind closures.
type entry[T tensor.Numeric] struct {
	name     string
	opType   string
	node     any // the Node[U] or MixedNode[U]; nil for inputs
	isInput  bool
	dtype    numeric.DType   // element type of the output
	inDTypes []numeric.DType // element type each input must have; nil: unchecked
	refs     []Ref
	shape    []int // declared shape of an input

	check    func(tensor.Any) error // inputs only: checks a run-time value
	forward  func(context.Context, []tensor.Any) (tensor.Any, error)
	backward func(context.Context, *tensor.Tensor[T], []tensor.Any) ([]*tensor.Tensor[T], error) // nil: constant for autodiff
	params   func() []*Parameter[T]
	outShape func() []int
	inferer  ShapeInferer
}

// Builder wires inputs and nodes into a graph whose trainable element type
// is T. Nodes of other element types join through AddNode and
// AddMixedNode. Wiring methods never fail; problems (duplicate names,
// dangling references, cycles, element type and shape mismatches) are
// collected and reported by Build, each naming the nodes involved.
//
// A Builder is not safe for concurrent use. The Graph it builds is.
type Builder[T tensor.Numeric] struct {
	id      *builderID
	name    string
	ops     numeric.Arithmetic[T]
	entries []*entry[T]
	byName  map[string]int
	outputs []Ref
	errs    []error
}

// NewBuilder returns an empty builder for a graph called name. ops is the
// element arithmetic of T; the graph uses it to sum gradients and to seed
// the gradient of a scalar loss. It may be nil when T is a built-in Go type
// (float32, float64 or an integer type), whose arithmetic the graph does
// natively.
func NewBuilder[T tensor.Numeric](name string, ops numeric.Arithmetic[T]) *Builder[T] {
	return &Builder[T]{id: new(builderID), name: name, ops: ops, byName: map[string]int{}}
}

// Input declares a graph input of element type T. shape gives the static
// dimensions; -1 marks a dynamic one and a nil shape leaves even the rank
// open. Forward takes the inputs in the order they were declared.
func (b *Builder[T]) Input(name string, shape []int) Ref {
	return InputOf[T, T](b, name, shape)
}

// InputOf declares a graph input of element type U, such as int64 token ids
// in a float32 graph. See Builder.Input.
func InputOf[T, U tensor.Numeric](b *Builder[T], name string, shape []int) Ref {
	var s []int
	if shape != nil {
		s = append([]int{}, shape...)
	}
	return b.add(&entry[T]{
		name:    name,
		opType:  opInput,
		isInput: true,
		dtype:   numeric.DTypeOf[U](),
		shape:   s,
		check: func(v tensor.Any) error {
			t, ok := v.(*tensor.Tensor[U])
			if !ok {
				return fmt.Errorf("%w: got %s, want %s", ErrDType, describe(v), numeric.DTypeOf[U]())
			}
			if t == nil {
				return fmt.Errorf("%w: nil tensor", ErrInput)
			}
			return nil
		},
	})
}

// Add adds a node of the graph's element type T fed by inputs and returns a
// reference to its output. Gradients flow through it.
func (b *Builder[T]) Add(name string, node Node[T], inputs ...Ref) Ref {
	return AddNode[T, T](b, name, node, inputs...)
}

// AddNode adds a node of element type U to a graph of element type T, such
// as a uint8 Constant or an int64 shape computation in a float32 graph. Its
// inputs must all have element type U. When U is T the node is
// differentiable (as with Builder.Add); otherwise it is a constant for
// autodiff: gradients do not flow through it and it has no trainable
// parameters in this graph.
func AddNode[T, U tensor.Numeric](b *Builder[T], name string, node Node[U], inputs ...Ref) Ref {
	if node == nil {
		b.errs = append(b.errs, fmt.Errorf("graph %q: node %q: %w: nil Node", b.name, name, ErrInput))
		return Ref{}
	}
	du := numeric.DTypeOf[U]()
	in := make([]numeric.DType, len(inputs))
	for i := range in {
		in[i] = du
	}
	e := &entry[T]{
		name:     name,
		opType:   node.OpType(),
		node:     node,
		dtype:    du,
		inDTypes: in,
		refs:     append([]Ref(nil), inputs...),
		outShape: node.OutputShape,
		forward: func(ctx context.Context, vals []tensor.Any) (tensor.Any, error) {
			args, err := typed[U](vals)
			if err != nil {
				return nil, err
			}
			out, err := node.Forward(ctx, args...)
			if err != nil {
				return nil, err
			}
			if out == nil {
				return nil, fmt.Errorf("%w: Forward returned a nil tensor", ErrNode)
			}
			return out, nil
		},
	}
	if tn, ok := any(node).(Node[T]); ok {
		e.params = tn.Parameters
		e.backward = func(ctx context.Context, g *tensor.Tensor[T], vals []tensor.Any) ([]*tensor.Tensor[T], error) {
			args, err := typed[T](vals)
			if err != nil {
				return nil, err
			}
			return tn.Backward(ctx, g, args...)
		}
	}
	if si, ok := any(node).(ShapeInferer); ok {
		e.inferer = si
	}
	return b.add(e)
}

// AddMixed adds a node of output element type T whose inputs may have
// several element types. Gradients flow to its inputs of type T.
func (b *Builder[T]) AddMixed(name string, node MixedNode[T], inputs ...Ref) Ref {
	return AddMixedNode[T, T](b, name, node, inputs...)
}

// AddMixedNode adds a MixedNode whose output element type U may differ from
// the graph's T (e.g. an ONNX Shape op: float input, int64 output). When U
// is not T the node is a constant for autodiff.
func AddMixedNode[T, U tensor.Numeric](b *Builder[T], name string, node MixedNode[U], inputs ...Ref) Ref {
	if node == nil {
		b.errs = append(b.errs, fmt.Errorf("graph %q: node %q: %w: nil MixedNode", b.name, name, ErrInput))
		return Ref{}
	}
	e := &entry[T]{
		name:     name,
		opType:   node.OpType(),
		node:     node,
		dtype:    numeric.DTypeOf[U](),
		refs:     append([]Ref(nil), inputs...),
		outShape: node.OutputShape,
		forward: func(ctx context.Context, vals []tensor.Any) (tensor.Any, error) {
			out, err := node.ForwardAny(ctx, vals...)
			if err != nil {
				return nil, err
			}
			if out == nil {
				return nil, fmt.Errorf("%w: ForwardAny returned a nil tensor", ErrNode)
			}
			return out, nil
		},
	}
	if it, ok := any(node).(InputTyper); ok {
		e.inDTypes = it.InputDTypes()
		if len(e.inDTypes) != len(inputs) {
			b.errs = append(b.errs, &NodeError{Graph: b.name, Node: name, OpType: e.opType, Op: "build",
				Err: fmt.Errorf("%w: takes %d inputs, wired to %d", ErrArity, len(e.inDTypes), len(inputs))})
		}
	}
	if tn, ok := any(node).(MixedNode[T]); ok {
		e.params = tn.Parameters
		e.backward = func(ctx context.Context, g *tensor.Tensor[T], vals []tensor.Any) ([]*tensor.Tensor[T], error) {
			return tn.BackwardAny(ctx, g, vals...)
		}
	}
	if si, ok := any(node).(ShapeInferer); ok {
		e.inferer = si
	}
	return b.add(e)
}

// Ref returns a reference to the input or node called name, which may be
// added later: Build resolves it (and reports it as dangling if nothing of
// that name exists). Late binding is what lets a builder express edges in
// any order, as ONNX files do, and so also cycles, which Build rejects.
func (b *Builder[T]) Ref(name string) Ref {
	return Ref{owner: b.id, id: -1, name: name}
}

// Output marks values as graph outputs, in order. It may be called more
// than once; the outputs accumulate.
func (b *Builder[T]) Output(refs ...Ref) {
	b.outputs = append(b.outputs, refs...)
}

func (b *Builder[T]) add(e *entry[T]) Ref {
	if prev, dup := b.byName[e.name]; dup {
		p := b.entries[prev]
		b.errs = append(b.errs, &NodeError{Graph: b.name, Node: e.name, OpType: e.opType, Op: "build",
			Err: fmt.Errorf("%w: %q is already the name of a %s", ErrDuplicate, e.name, p.opType)})
	} else {
		b.byName[e.name] = len(b.entries)
	}
	if e.name == "" {
		b.errs = append(b.errs, &NodeError{Graph: b.name, Node: e.name, OpType: e.opType, Op: "build",
			Err: fmt.Errorf("%w: empty name", ErrInput)})
	}
	b.entries = append(b.entries, e)
	return Ref{owner: b.id, id: len(b.entries) - 1, name: e.name}
}

// resolve returns the entry index r refers to.
func (b *Builder[T]) resolve(r Ref) (int, error) {
	switch {
	case r.owner == nil:
		return 0, fmt.Errorf("%w: empty Ref (a node that failed to be added?)", ErrDangling)
	case r.owner != b.id:
		return 0, fmt.Errorf("%w: %q is a Ref from another builder", ErrDangling, r.name)
	case r.id >= 0:
		return r.id, nil
	}
	i, ok := b.byName[r.name]
	if !ok {
		return 0, fmt.Errorf("%w: no input or node is named %q", ErrDangling, r.name)
	}
	return i, nil
}

// Build checks the wiring and returns the immutable graph. The error joins
// every problem found (errors.Join); each is a *NodeError naming the node,
// and wraps ErrDuplicate, ErrDangling, ErrCycle, ErrDType, ErrArity or
// tensor.ErrShape. Checks run in that order; a later class of check is
// skipped when an earlier one fails.
func (b *Builder[T]) Build() (*Graph[T], error) {
	errs := append([]error(nil), b.errs...)
	ne := func(e *entry[T], err error) error {
		return &NodeError{Graph: b.name, Node: e.name, OpType: e.opType, Op: "build", Err: err}
	}
	// Resolve references.
	ins := make([][]int, len(b.entries))
	for i, e := range b.entries {
		ins[i] = make([]int, len(e.refs))
		for j, r := range e.refs {
			k, err := b.resolve(r)
			if err != nil {
				errs = append(errs, ne(e, fmt.Errorf("input %d: %w", j, err)))
				continue
			}
			ins[i][j] = k
		}
	}
	outs := make([]int, len(b.outputs))
	for j, r := range b.outputs {
		k, err := b.resolve(r)
		if err != nil {
			errs = append(errs, fmt.Errorf("graph %q: output %d: %w", b.name, j, err))
			continue
		}
		outs[j] = k
	}
	if len(b.outputs) == 0 {
		errs = append(errs, fmt.Errorf("graph %q: %w: no outputs", b.name, ErrInput))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	order, err := b.topoSort(ins)
	if err != nil {
		return nil, err
	}
	// Element types.
	for i, e := range b.entries {
		for j, k := range ins[i] {
			if e.inDTypes == nil || j >= len(e.inDTypes) || e.inDTypes[j] == numeric.Invalid {
				continue
			}
			if p := b.entries[k]; p.dtype != e.inDTypes[j] {
				errs = append(errs, ne(e, fmt.Errorf("%w: input %d from %q (%s) has element type %s, want %s",
					ErrDType, j, p.name, p.opType, p.dtype, e.inDTypes[j])))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// Static shapes, in topological order.
	shapes := make([][]int, len(b.entries))
	for _, i := range order {
		e := b.entries[i]
		s, err := b.staticShape(e, ins[i], shapes)
		if err != nil {
			errs = append(errs, ne(e, err))
			continue
		}
		shapes[i] = s
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return b.assemble(order, ins, outs, shapes), nil
}

// staticShape returns the build-time output shape of e (nil if unknown).
func (b *Builder[T]) staticShape(e *entry[T], in []int, shapes [][]int) ([]int, error) {
	if e.isInput {
		return e.shape, nil
	}
	if e.inferer == nil {
		return cloneShape(e.outShape()), nil
	}
	args := make([][]int, len(in))
	for j, k := range in {
		args[j] = cloneShape(shapes[k])
	}
	s, err := e.inferer.InferShape(args...)
	if err != nil {
		desc := ""
		for j, k := range in {
			if j > 0 {
				desc += ", "
			}
			p := b.entries[k]
			desc += fmt.Sprintf("%q (%s) %s", p.name, p.opType, fmtShape(shapes[k]))
		}
		if !errors.Is(err, tensor.ErrShape) {
			err = fmt.Errorf("%w: %w", tensor.ErrShape, err)
		}
		return nil, fmt.Errorf("inputs [%s]: %w", desc, err)
	}
	return cloneShape(s), nil
}

// topoSort orders all entries so that producers come before consumers
// (ties broken by insertion order) or reports a cycle, naming its nodes.
func (b *Builder[T]) topoSort(ins [][]int) ([]int, error) {
	n := len(b.entries)
	indeg := make([]int, n)
	users := make([][]int, n)
	for i, in := range ins {
		indeg[i] = len(in)
		for _, k := range in {
			users[k] = append(users[k], i)
		}
	}
	order := make([]int, 0, n)
	for i := range n {
		if indeg[i] == 0 {
			order = append(order, i)
		}
	}
	for h := 0; h < len(order); h++ {
		for _, u := range users[order[h]] {
			if indeg[u]--; indeg[u] == 0 {
				order = append(order, u)
			}
		}
	}
	if len(order) == n {
		return order, nil
	}
	// Every node left has a producer that is also left: walk producers from
	// the first one until a node repeats; the repeat closes a cycle.
	start := 0
	for indeg[start] == 0 {
		start++
	}
	seen := map[int]int{}
	var path []int
	for cur := start; ; {
		if at, ok := seen[cur]; ok {
			path = path[at:]
			break
		}
		seen[cur] = len(path)
		path = append(path, cur)
		for _, k := range ins[cur] {
			if indeg[k] > 0 {
				cur = k
				break
			}
		}
	}
	// path runs consumer to producer; print it in data-flow order, starting
	// from the node added first.
	slices.Reverse(path)
	lo := 0
	for j, k := range path {
		if k < path[lo] {
			lo = j
		}
	}
	path = append(path[lo:], path[:lo]...)
	desc := ""
	for _, k := range path {
		e := b.entries[k]
		desc += fmt.Sprintf("%q (%s) -> ", e.name, e.opType)
	}
	first := b.entries[path[0]]
	desc += fmt.Sprintf("%q (%s)", first.name, first.opType)
	return nil, &NodeError{Graph: b.name, Node: first.name, OpType: first.opType, Op: "build",
		Err: fmt.Errorf("%w: %s", ErrCycle, desc)}
}

// typed asserts every value to *tensor.Tensor[U].
func typed[U tensor.Numeric](vals []tensor.Any) ([]*tensor.Tensor[U], error) {
	args := make([]*tensor.Tensor[U], len(vals))
	for j, v := range vals {
		t, ok := v.(*tensor.Tensor[U])
		if !ok {
			return nil, fmt.Errorf("%w: input %d is %s, want %s", ErrDType, j, describe(v), numeric.DTypeOf[U]())
		}
		args[j] = t
	}
	return args, nil
}

func describe(v tensor.Any) string {
	if v == nil {
		return "nil"
	}
	return v.DType().String()
}

func cloneShape(s []int) []int {
	if s == nil {
		return nil
	}
	return append([]int{}, s...)
}

func fmtShape(s []int) string {
	if s == nil {
		return "[?]"
	}
	return fmt.Sprint(s)
}
