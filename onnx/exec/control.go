package exec

import (
	"context"
	"fmt"
	"slices"
	"unsafe"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// Control flow: If, Loop, Scan and SequenceMap run subgraphs (graph
// attributes). A subgraph is compiled with its node; it sees every value
// of the graphs around it that is defined before the node (outer-scope
// values), which the node receives after its own inputs, so that they live
// until it runs. Errors in a subgraph, at compile and at run time, name the
// node, the subgraph attribute and graph, and the inner node.

func init() {
	Register("", "If", 1, 0, buildIf)
	Register("", "Loop", 1, 0, buildLoop)
	Register("", "Scan", 8, 8, buildScan8)
	Register("", "Scan", 9, 0, buildScan)
	Register("", "SequenceMap", 17, 0, buildSequenceMap)
}

// subgraph is a compiled graph attribute of a node.
type subgraph struct {
	g    *graph
	attr string
	off  int // index in the node's inputs of the first value it captures
}

// subgraph compiles the graph attribute attr of n.
func (n *Node) subgraph(attr string) (*subgraph, error) {
	a := onnx.FindAttr(n.Proto, attr)
	if a == nil || a.GetG() == nil {
		return nil, attrErr("graph attribute %s is required", attr)
	}
	g, err := n.comp.graph(a.GetG(), n.scope, true)
	if err != nil {
		return nil, &Error{Msg: fmt.Sprintf("subgraph %s (%q)", attr, a.GetG().GetName()), Err: err}
	}
	sg := &subgraph{g: g, attr: attr, off: n.NumInputs() + len(n.captured)}
	n.captured = append(n.captured, g.capOuter...)
	return sg, nil
}

// run runs the subgraph on inputs; in are the node's inputs (with the
// captured values after its own).
func (s *subgraph) run(ctx context.Context, in, inputs []tensor.Any) ([]tensor.Any, error) {
	if len(inputs) != len(s.g.inputs) {
		return nil, s.err(fmt.Errorf("%d inputs given, the graph has %d: %w", len(inputs), len(s.g.inputs), ErrInput))
	}
	m, ok := ctx.Value(meterKey{}).(*meter)
	if !ok {
		m = &meter{limit: budget.Limit(0).Bytes(), refs: map[unsafe.Pointer]*held{}}
		ctx = withMeter(ctx, m)
	}
	var captured []tensor.Any
	if k := len(s.g.capSlot); k > 0 {
		if s.off+k > len(in) {
			return nil, s.err(fmt.Errorf("internal: %d captured values missing", k))
		}
		captured = in[s.off : s.off+k]
	}
	outs, err := s.g.run(ctx, m, inputs, captured)
	if err != nil {
		return nil, s.err(err)
	}
	return outs, nil
}

func (s *subgraph) err(err error) error {
	return &Error{Msg: fmt.Sprintf("subgraph %s (%q)", s.attr, s.g.name), Err: err}
}

// boolScalar reads a one-element bool tensor.
func boolScalar(v tensor.Any, what string) (bool, error) {
	b, ok := v.(*tensor.Tensor[uint8])
	if !ok || b.Size() != 1 {
		return false, typeErr("%s is %s%v, want a bool scalar", what, valueKind(v), v.Shape())
	}
	return b.Data()[0] != 0, nil
}

func buildIf(n *Node) (Kernel, error) {
	thenG, err := n.subgraph("then_branch")
	if err != nil {
		return nil, err
	}
	elseG, err := n.subgraph("else_branch")
	if err != nil {
		return nil, err
	}
	nout := len(n.Proto.GetOutput())
	for _, b := range []*subgraph{thenG, elseG} {
		if len(b.g.inputs) != 0 {
			return nil, attrErr("subgraph %s has %d inputs, want none", b.attr, len(b.g.inputs))
		}
		if len(b.g.outputs) != nout {
			return nil, attrErr("subgraph %s has %d outputs, the node %d", b.attr, len(b.g.outputs), nout)
		}
	}
	return func(ctx context.Context, in []tensor.Any) ([]tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		c, err := boolScalar(in[0], "cond")
		if err != nil {
			return nil, err
		}
		if c {
			return thenG.run(ctx, in, nil)
		}
		return elseG.run(ctx, in, nil)
	}, nil
}

// scalarTensor makes a rank-0 tensor.
func scalarTensor[T tensor.Numeric](v T) tensor.Any {
	return tensor.Must(tensor.New([]int{}, []T{v}))
}

// buildLoop: inputs M (trip count, optional), cond (optional) and the
// loop-carried values; body inputs (iteration, cond, carried...), outputs
// (cond, carried..., scan outputs...). The loop runs while i < M (when M is
// given) and cond (when cond is given; the body's cond output is ignored
// otherwise). Scan outputs are stacked along a new first axis.
func buildLoop(n *Node) (Kernel, error) {
	body, err := n.subgraph("body")
	if err != nil {
		return nil, err
	}
	nin := n.NumInputs()
	if nin < 2 {
		return nil, attrErr("%d inputs, want M, cond and the loop-carried values", nin)
	}
	carried := nin - 2
	if len(body.g.inputs) != carried+2 {
		return nil, attrErr("body has %d inputs, want %d (iteration, cond and %d loop-carried)", len(body.g.inputs), carried+2, carried)
	}
	scans := len(body.g.outputs) - 1 - carried
	if scans < 0 {
		return nil, attrErr("body has %d outputs, want at least %d (cond and %d loop-carried)", len(body.g.outputs), carried+1, carried)
	}
	if nout := len(n.Proto.GetOutput()); nout > carried+scans {
		return nil, attrErr("%d outputs, the body makes %d", nout, carried+scans)
	}
	scanTypes := make([]numeric.DType, scans)
	for k := range scanTypes {
		scanTypes[k], _ = dtypeOf(body.g.outputs[1+carried+k].Type)
	}
	return func(ctx context.Context, in []tensor.Any) ([]tensor.Any, error) {
		trips := int64(-1)
		if m := opt(in, 0); m != nil {
			v, err := scalarIndex(m, "M")
			if err != nil {
				return nil, err
			}
			trips = v
		}
		cond, useCond := true, false
		if c := opt(in, 1); c != nil {
			v, err := boolScalar(c, "cond")
			if err != nil {
				return nil, err
			}
			cond, useCond = v, true
		}
		state := slices.Clone(in[2 : 2+carried])
		for i, v := range state {
			if v == nil {
				return nil, typeErr("loop-carried input %d is absent", i)
			}
		}
		acc := make([][]tensor.Any, scans)
		var accBytes int64
		for i := int64(0); (trips < 0 || i < trips) && cond; i++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			args := append([]tensor.Any{scalarTensor(i), scalarTensor(b2u(cond))}, state...)
			outs, err := body.run(ctx, in, args)
			if err != nil {
				return nil, err
			}
			if useCond {
				if cond, err = boolScalar(outs[0], "the body's cond output"); err != nil {
					return nil, body.err(err)
				}
			}
			copy(state, outs[1:1+carried])
			for k := range acc {
				v := outs[1+carried+k]
				if !isTensor(v) {
					return nil, body.err(typeErr("scan output %d is %s, want a tensor", k, valueKind(v)))
				}
				acc[k] = append(acc[k], v)
				accBytes += int64(v.Size() * v.DType().Size())
			}
			if accBytes > 0 {
				if err := checkOut(ctx, numeric.Uint8, []int{int(min(accBytes, 1<<62))}); err != nil {
					return nil, &Error{Msg: fmt.Sprintf("scan outputs after %d iterations", i+1), Err: err}
				}
			}
		}
		res := append([]tensor.Any(nil), state...)
		for k, vs := range acc {
			v, err := stackScan(ctx, vs, 0, false, scanTypes[k])
			if err != nil {
				return nil, &Error{Msg: fmt.Sprintf("scan output %d", k), Err: err}
			}
			res = append(res, v)
		}
		return res, nil
	}, nil
}

// stackScan stacks the per-iteration values vs along a new axis (reversed
// first when reverse). No values make an empty [0] tensor of element type
// dt (float32 when unknown).
func stackScan(ctx context.Context, vs []tensor.Any, axis int64, reverse bool, dt numeric.DType) (tensor.Any, error) {
	if len(vs) == 0 {
		if dt == numeric.Invalid {
			dt = numeric.Float32
		}
		return newTensor(ctx, dt, []int{0})
	}
	if reverse {
		vs = slices.Clone(vs)
		slices.Reverse(vs)
	}
	return concatValues(ctx, vs, axis, true)
}

// sliceAxis returns x[..., i, ...] (index i along axis, which is removed).
func sliceAxis(ctx context.Context, x tensor.Any, axis, i int) (tensor.Any, error) {
	shape := x.Shape()
	outer, dim, inner := prod(shape[:axis]), shape[axis], prod(shape[axis+1:])
	os := append(append([]int(nil), shape[:axis]...), shape[axis+1:]...)
	return move(ctx, []tensor.Any{x}, os, func(emit func(src, off, n int)) {
		for o := 0; o < outer; o++ {
			emit(0, (o*dim+i)*inner, inner)
		}
	})
}

// scanSpec is a Scan node's attributes (opset 9 on; opset 8 maps to it).
type scanSpec struct {
	body              *subgraph
	states, scanIns   int
	inAxes, inRev     []int64
	outAxes, outRev   []int64
	scanOuts          int
	scanTypes         []numeric.DType
	inputsAfterStates int // index of the first scan input among the node's inputs
}

func readScanSpec(n *Node, first int, batch bool) (*scanSpec, error) {
	body, err := n.subgraph("body")
	if err != nil {
		return nil, err
	}
	m, err := n.Int("num_scan_inputs", 0)
	if err != nil {
		return nil, err
	}
	nin := n.NumInputs() - first
	if m < 1 || m > int64(nin) {
		return nil, attrErr("num_scan_inputs = %d, want 1 to %d", m, nin)
	}
	sp := &scanSpec{body: body, scanIns: int(m), states: nin - int(m), inputsAfterStates: first + nin - int(m)}
	if len(body.g.inputs) != nin {
		return nil, attrErr("body has %d inputs, want %d (%d states and %d scan inputs)", len(body.g.inputs), nin, sp.states, m)
	}
	sp.scanOuts = len(body.g.outputs) - sp.states
	if sp.scanOuts < 0 {
		return nil, attrErr("body has %d outputs, want at least the %d states", len(body.g.outputs), sp.states)
	}
	if nout := len(n.Proto.GetOutput()); nout > sp.states+sp.scanOuts {
		return nil, attrErr("%d outputs, the body makes %d", nout, sp.states+sp.scanOuts)
	}
	list := func(name string, k int, check func(int64) bool) ([]int64, error) {
		v, err := n.Ints(name, make([]int64, k))
		if err != nil {
			return nil, err
		}
		if len(v) != k {
			return nil, attrErr("%s has %d values, want %d", name, len(v), k)
		}
		for _, x := range v {
			if !check(x) {
				return nil, attrErr("%s = %v: bad value %d", name, v, x)
			}
		}
		return v, nil
	}
	dir := func(x int64) bool { return x == 0 || x == 1 }
	anyAxis := func(int64) bool { return true }
	if batch {
		if sp.inRev, err = list("directions", sp.scanIns, dir); err != nil {
			return nil, err
		}
		sp.inAxes = make([]int64, sp.scanIns)
		sp.outAxes, sp.outRev = make([]int64, sp.scanOuts), make([]int64, sp.scanOuts)
	} else {
		if sp.inAxes, err = list("scan_input_axes", sp.scanIns, anyAxis); err != nil {
			return nil, err
		}
		if sp.inRev, err = list("scan_input_directions", sp.scanIns, dir); err != nil {
			return nil, err
		}
		if sp.outAxes, err = list("scan_output_axes", sp.scanOuts, anyAxis); err != nil {
			return nil, err
		}
		if sp.outRev, err = list("scan_output_directions", sp.scanOuts, dir); err != nil {
			return nil, err
		}
	}
	sp.scanTypes = make([]numeric.DType, sp.scanOuts)
	for k := range sp.scanTypes {
		sp.scanTypes[k], _ = dtypeOf(body.g.outputs[sp.states+k].Type)
	}
	return sp, nil
}

// run scans: states are the initial state values, xs the scan inputs;
// in are the node's inputs (for the captured values).
func (sp *scanSpec) run(ctx context.Context, in, states, xs []tensor.Any) ([]tensor.Any, error) {
	steps := -1
	axes := make([]int, len(xs))
	for j, x := range xs {
		if x == nil || !isTensor(x) {
			return nil, typeErr("scan input %d is %s, want a tensor", j, valueKind(x))
		}
		ax, err := normAxis(sp.inAxes[j], x.Dims())
		if err != nil {
			return nil, &Error{Msg: fmt.Sprintf("scan input %d", j), Err: err}
		}
		axes[j] = ax
		l := x.Shape()[ax]
		if steps >= 0 && l != steps {
			return nil, shapeErr("scan input %d has %d steps along axis %d, scan input 0 %d", j, l, ax, steps)
		}
		steps = l
	}
	state := slices.Clone(states)
	acc := make([][]tensor.Any, sp.scanOuts)
	for t := 0; t < steps; t++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		args := slices.Clone(state)
		for j, x := range xs {
			i := t
			if sp.inRev[j] == 1 {
				i = steps - 1 - t
			}
			v, err := sliceAxis(ctx, x, axes[j], i)
			if err != nil {
				return nil, err
			}
			args = append(args, v)
		}
		outs, err := sp.body.run(ctx, in, args)
		if err != nil {
			return nil, err
		}
		copy(state, outs[:sp.states])
		for k := range acc {
			acc[k] = append(acc[k], outs[sp.states+k])
		}
	}
	res := state
	for k, vs := range acc {
		axis := sp.outAxes[k]
		if len(vs) > 0 && axis < 0 {
			axis += int64(vs[0].Dims() + 1)
		}
		v, err := stackScan(ctx, vs, axis, sp.outRev[k] == 1, sp.scanTypes[k])
		if err != nil {
			return nil, &Error{Msg: fmt.Sprintf("scan output %d", k), Err: err}
		}
		res = append(res, v)
	}
	return res, nil
}

// buildScan is Scan from opset 9: states then scan inputs, scan axes and
// directions per input and output.
func buildScan(n *Node) (Kernel, error) {
	sp, err := readScanSpec(n, 0, false)
	if err != nil {
		return nil, err
	}
	nin := n.NumInputs()
	return func(ctx context.Context, in []tensor.Any) ([]tensor.Any, error) {
		if err := need(in, nin); err != nil {
			return nil, err
		}
		return sp.run(ctx, in, in[:sp.states], in[sp.states:nin])
	}, nil
}

// buildScan8 is Scan-8: an optional sequence_lens input first, and a batch
// axis 0 on every input and output (the scan axis is 1). Each batch entry
// is scanned on its own; sequence lengths shorter than the scan axis are
// not supported.
func buildScan8(n *Node) (Kernel, error) {
	sp, err := readScanSpec(n, 1, true)
	if err != nil {
		return nil, err
	}
	nin := n.NumInputs()
	return func(ctx context.Context, in []tensor.Any) ([]tensor.Any, error) {
		for i := 1; i < nin; i++ {
			if _, err := tensorArg(in, i); err != nil {
				return nil, err
			}
		}
		batch := in[1].Shape()
		if len(batch) == 0 {
			return nil, shapeErr("input 1 is a scalar, want a batch axis")
		}
		b := batch[0]
		for i := 1; i < nin; i++ {
			if in[i].Dims() == 0 || in[i].Shape()[0] != b {
				return nil, shapeErr("input %d has shape %v, want batch size %d first", i, in[i].Shape(), b)
			}
		}
		if sl := in[0]; sl != nil {
			lens, err := ints(sl)
			if err != nil {
				return nil, err
			}
			for _, l := range lens {
				if x := in[sp.inputsAfterStates]; x.Dims() < 2 || l != int64(x.Shape()[1]) {
					return nil, &Error{Msg: fmt.Sprintf("sequence_lens %v shorter than the scan axis", lens), Err: onnx.ErrUnsupported}
				}
			}
		}
		per := make([][]tensor.Any, 0, b)
		for bi := 0; bi < b; bi++ {
			args := make([]tensor.Any, nin-1)
			for i := 1; i < nin; i++ {
				v, err := sliceAxis(ctx, in[i], 0, bi)
				if err != nil {
					return nil, err
				}
				args[i-1] = v
			}
			outs, err := sp.run(ctx, in, args[:sp.states], args[sp.states:])
			if err != nil {
				return nil, err
			}
			per = append(per, outs)
		}
		res := make([]tensor.Any, sp.states+sp.scanOuts)
		for k := range res {
			vs := make([]tensor.Any, b)
			for bi := range per {
				vs[bi] = per[bi][k]
			}
			dt := numeric.Float32
			if k >= sp.states {
				dt = sp.scanTypes[k-sp.states]
			}
			v, err := stackScan(ctx, vs, 0, false, dt)
			if err != nil {
				return nil, err
			}
			res[k] = v
		}
		return res, nil
	}, nil
}

// buildSequenceMap runs body once per element of the input sequence; the
// additional inputs are sequences (of the same length: their elements go
// with the iteration) or tensors (given to every iteration). Each body
// output makes one output sequence.
func buildSequenceMap(n *Node) (Kernel, error) {
	body, err := n.subgraph("body")
	if err != nil {
		return nil, err
	}
	nin := n.NumInputs()
	if len(body.g.inputs) != nin {
		return nil, attrErr("body has %d inputs, the node %d", len(body.g.inputs), nin)
	}
	if nout := len(n.Proto.GetOutput()); nout != len(body.g.outputs) {
		return nil, attrErr("%d outputs, the body makes %d", nout, len(body.g.outputs))
	}
	outTypes := make([]numeric.DType, len(body.g.outputs))
	for k := range outTypes {
		outTypes[k], _ = dtypeOf(body.g.outputs[k].Type)
	}
	return func(ctx context.Context, in []tensor.Any) ([]tensor.Any, error) {
		s, err := seqArg(in, 0)
		if err != nil {
			return nil, err
		}
		if err := need(in, nin); err != nil {
			return nil, err
		}
		steps := len(s.Values)
		for i := 1; i < nin; i++ {
			if o, ok := in[i].(*Sequence); ok && len(o.Values) != steps {
				return nil, shapeErr("input %d is a sequence of %d, input 0 of %d", i, len(o.Values), steps)
			}
		}
		res := make([]*Sequence, len(outTypes))
		for k := range res {
			res[k] = &Sequence{Elem: outTypes[k]}
		}
		for t := 0; t < steps; t++ {
			args := make([]tensor.Any, nin)
			for i := 0; i < nin; i++ {
				if o, ok := in[i].(*Sequence); ok {
					args[i] = o.Values[t]
				} else {
					args[i] = in[i]
				}
			}
			outs, err := body.run(ctx, in, args)
			if err != nil {
				return nil, err
			}
			for k, v := range outs {
				if !isTensor(v) {
					return nil, body.err(typeErr("output %d is %s, want a tensor", k, valueKind(v)))
				}
				if t == 0 || res[k].Elem == numeric.Invalid {
					res[k].Elem = v.DType()
				}
				res[k].Values = append(res[k].Values, v)
			}
		}
		out := make([]tensor.Any, len(res))
		for k, r := range res {
			out[k] = r
		}
		return out, nil
	}, nil
}
