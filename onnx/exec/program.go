package exec

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unsafe"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
	"github.com/zerfoo/zerfoo/tensor"
)

// Sentinel errors; errors from this package wrap one of them (or an error
// from package onnx or a kernel) in an *Error.
var (
	// ErrUnsupportedOp: no kernel is registered for a node's (domain,
	// op_type, opset version).
	ErrUnsupportedOp = errors.New("unsupported op")
	// ErrInput: a value fed to Run is missing or has the wrong element type
	// or shape.
	ErrInput = errors.New("bad input")
	// ErrAttribute: a node attribute is missing or out of range.
	ErrAttribute = errors.New("bad attribute")
)

// Error names the node (or graph value) a compile or run error is about.
// Its message reads "exec: node NAME (DOMAIN.OP): MSG".
type Error struct {
	Node  string // node name, or "#i" for an unnamed node; empty for graph inputs
	Op    string // op type, "domain.op" outside the default domain
	Value string // value name for input errors
	Msg   string
	Err   error
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("exec: ")
	if e.Node != "" || e.Op != "" {
		fmt.Fprintf(&b, "node %s (%s): ", e.Node, e.Op)
	}
	if e.Value != "" {
		fmt.Fprintf(&b, "value %q: ", e.Value)
	}
	b.WriteString(e.Msg)
	if e.Err != nil && !strings.Contains(e.Msg, e.Err.Error()) {
		if e.Msg != "" {
			b.WriteString(": ")
		}
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the wrapped error.
func (e *Error) Unwrap() error { return e.Err }

// ValueInfo describes a graph input or output: its name, kind, ONNX
// element type (of the tensors of a sequence or optional) and declared
// shape (nil when the rank is unknown, and for sequences and optionals).
type ValueInfo struct {
	Name  string
	Kind  ValueKind
	Elem  ValueKind // for an OptionalValue: what it holds, a TensorValue or a SequenceValue
	Type  onnx.DataType
	Shape []onnx.Dim
}

// step is one compiled node.
type step struct {
	name, op string
	kernel   Kernel
	inputs   []int   // value slots; -1 for an absent optional input; then the values its subgraphs capture
	outputs  []int   // value slots; -1 for an unused optional output
	free     []int   // slots whose last use is this step
	fuse     *fusion // ops later nodes may fuse into this step (fuse.go), or nil
}

// graph is a compiled graph: the main graph of a Program or a subgraph
// (the body of an If, Loop, Scan or SequenceMap node).
type graph struct {
	name    string
	steps   []step
	slots   int
	consts  map[int]tensor.Any
	ctypes  map[int]onnx.DataType
	inputs  []ValueInfo
	inSlot  []int
	outputs []ValueInfo
	outSlot []int
	keep    []bool // slots that are graph outputs or constants (never freed)
	// capSlot are the slots of the values a subgraph uses from enclosing
	// graphs, capOuter the slots they have in the enclosing graph: the
	// node that runs the subgraph passes them after its own inputs.
	capSlot, capOuter []int
}

// Program is a compiled ONNX model: its constants decoded (aliasing the
// model's memory where possible) and one kernel per node. A Program is
// immutable and safe for concurrent Run calls; it must not be used after the
// model it came from is closed.
type Program struct {
	model *onnx.Model
	main  *graph
	limit budget.Limit
	arena *arena // float32 buffers recycled between steps and runs (arena.go)
}

// Inputs returns the values Run needs, in graph order.
func (p *Program) Inputs() []ValueInfo { return append([]ValueInfo(nil), p.main.inputs...) }

// Outputs returns the values Run produces, in graph order.
func (p *Program) Outputs() []ValueInfo { return append([]ValueInfo(nil), p.main.outputs...) }

// CompileOption configures Compile.
type CompileOption func(*compileConfig)

type compileConfig struct {
	exactScales bool
	budget      budget.Limit
	noQDQ       bool
	noFold      bool
	noFuse      bool // fold constants but fuse nothing and pack no weights (tests, benchmarks)
}

// ExactScales makes accuracy-level-4 MatMulNBits nodes keep exact float32
// scales: their results then match ONNX Runtime's int8 path to float32
// rounding (≈1e-7 of Σ|a·w|) instead of ≈2⁻¹⁶, and a 4-bit block-32
// weight takes 0.625 instead of 0.59375 bytes.
func ExactScales() CompileOption { return func(c *compileConfig) { c.exactScales = true } }

// Compile turns a model's main graph into a Program. Initializers become
// constant tensors without copying their data when it is raw and aligned
// (onnx.TensorView); every node gets the kernel registered for its domain,
// op type and the model's opset version of that domain. An unknown op is an
// error wrapping ErrUnsupportedOp that names the op, its domain and the
// node; so are attribute errors (ErrAttribute). Subgraphs (If, Loop, Scan,
// SequenceMap bodies) are compiled with their node; they see the values of
// the graphs around them, and their errors name the node and the subgraph.
//
// Nodes whose inputs are all constants are evaluated once, at compile time
// (constant folding, as ONNX Runtime does; see NoConstantFolding): a
// ConstantOfShape, Cast or Reshape of weights then costs nothing per run,
// and the kernels after it see constants they can prepare. A node that
// would compute more than 16 MiB plus four times its inputs' bytes (a
// ConstantOfShape or Expand of a large shape) is left to the run. The
// BatchNormalization, per-channel Mul and Add, residual Add and Relu that
// alone read a Conv's output are fused into it (its weights, bias and last
// pass; fuse.go), and so are the per-channel ops and Relu after a
// BatchNormalization.
//
// By default accuracy-level-4 MatMulNBits nodes store their float32 scales
// in 24 bits (core.WithExactScales explains the trade); ExactScales keeps
// them exact.
//
// The model's opset imports must be ones this package knows: ai.onnx up
// to MaxOpset and com.microsoft version 1; a newer one is an error wrapping
// onnx.ErrUnsupported that names the domain and version. Constants larger
// than the budget (WithBudget) are errors wrapping budget.ErrExceeded.
func Compile(m *onnx.Model, opts ...CompileOption) (*Program, error) {
	var cfg compileConfig
	for _, o := range opts {
		o(&cfg)
	}
	g := m.Graph()
	if g == nil {
		return nil, &Error{Msg: "model has no graph", Err: onnx.ErrInvalid}
	}
	if err := checkOpsets(m); err != nil {
		return nil, err
	}
	c := &compiler{model: m, cfg: cfg}
	main, err := c.graph(g, nil, false)
	if err != nil {
		return nil, err
	}
	return &Program{model: m, main: main, limit: cfg.budget, arena: newArena(min(cfg.budget.Bytes()/4, 1<<30))}, nil
}

// compiler holds what every graph of one Compile shares.
type compiler struct {
	model   *onnx.Model
	cfg     compileConfig
	decoded int64 // bytes of constants the compile made: decoded from typed fields (copies, not views) and folded
}

// scope resolves value names while a graph compiles: the graph's own
// values, then (for a subgraph) those of the enclosing graphs, which it
// captures on first use. Constants of an enclosing graph become constants
// of the subgraph.
type scope struct {
	g     *graph
	slot  map[string]int
	outer *scope
}

func (s *scope) newSlot(name string) int {
	i := s.g.slots
	s.g.slots++
	s.slot[name] = i
	return i
}

func (s *scope) lookup(name string) (int, bool) {
	if i, ok := s.slot[name]; ok {
		return i, true
	}
	if s.outer == nil {
		return 0, false
	}
	o, ok := s.outer.lookup(name)
	if !ok {
		return 0, false
	}
	i := s.newSlot(name)
	if v, ok := s.outer.g.consts[o]; ok {
		s.g.consts[i] = v
		s.g.ctypes[i] = s.outer.g.ctypes[o]
	} else {
		s.g.capSlot = append(s.g.capSlot, i)
		s.g.capOuter = append(s.g.capOuter, o)
	}
	return i, true
}

// graph compiles g; outer is the scope of the enclosing graph for a
// subgraph (sub), whose inputs may lack types.
func (c *compiler) graph(g *onnxpb.GraphProto, outer *scope, sub bool) (*graph, error) {
	m, cfg := c.model, c.cfg
	p := &graph{name: g.GetName(), consts: map[int]tensor.Any{}, ctypes: map[int]onnx.DataType{}}
	sc := &scope{g: p, slot: map[string]int{}, outer: outer}
	for _, t := range g.GetInitializer() {
		v, err := decodeTensor(m, t, cfg.budget)
		if err != nil {
			return nil, &Error{Value: t.GetName(), Msg: "initializer", Err: err}
		}
		if t.RawData == nil && !onnx.IsExternal(t) {
			_, n := storage(v)
			if c.decoded += n; c.decoded > cfg.budget.Bytes() {
				return nil, &Error{Value: t.GetName(), Msg: "initializer",
					Err: &budget.Error{What: "the constants decoded from typed fields up to it", Bytes: uint64(c.decoded), Limit: cfg.budget.Bytes()}}
			}
		}
		s := sc.newSlot(t.GetName())
		p.consts[s] = v
		p.ctypes[s] = onnx.DataType(t.GetDataType())
	}
	ins := g.GetInput()
	if !sub {
		ins = m.Inputs()
	}
	for _, vi := range ins {
		if _, ok := sc.slot[vi.GetName()]; ok {
			continue
		}
		info, err := valueInfo(vi, sub)
		if err != nil {
			return nil, err
		}
		p.inputs = append(p.inputs, info)
		p.inSlot = append(p.inSlot, sc.newSlot(vi.GetName()))
	}
	graphOutputs := map[string]bool{}
	for _, vi := range g.GetOutput() {
		graphOutputs[vi.GetName()] = true
	}
	nodes := fuseQDQ(m, g, cfg)
	fz := &fuser{u: valueUses(nodes), outputs: graphOutputs, sites: map[int]site{}, producer: map[int]int{}}
	for i, n := range nodes {
		st, err := c.node(sc, n, i)
		if err != nil {
			return nil, err
		}
		if !cfg.noFold && (!cfg.noFuse && fz.fuse(p, sc, st, n) || c.fold(p, st, n, graphOutputs)) {
			continue
		}
		if cfg.noFold {
			st.fuse = nil
		}
		p.steps = append(p.steps, st)
		fz.added(st, len(p.steps)-1)
	}
	for i := range p.steps {
		if f := p.steps[i].fuse; f != nil && f.conv && !cfg.noFuse {
			c.packWeights(f)
		}
	}
	for _, vi := range g.GetOutput() {
		info, err := valueInfo(vi, sub)
		if err != nil {
			return nil, err
		}
		s, ok := sc.lookup(vi.GetName())
		if !ok {
			return nil, &Error{Value: vi.GetName(), Msg: "graph output is not defined", Err: onnx.ErrInvalid}
		}
		p.outputs = append(p.outputs, info)
		p.outSlot = append(p.outSlot, s)
	}
	p.keep = make([]bool, p.slots)
	for s := range p.consts {
		p.keep[s] = true
	}
	for _, s := range p.outSlot {
		p.keep[s] = true
	}
	// Free each intermediate after its last use.
	last := make([]int, p.slots)
	for i := range last {
		last[i] = -1
	}
	for i, st := range p.steps {
		for _, s := range st.inputs {
			if s >= 0 {
				last[s] = i
			}
		}
	}
	for s, i := range last {
		if i >= 0 && !p.keep[s] {
			p.steps[i].free = append(p.steps[i].free, s)
		}
	}
	return p, nil
}

// node compiles the i-th node n of the graph of scope sc.
func (c *compiler) node(sc *scope, n *onnxpb.NodeProto, i int) (step, error) {
	m := c.model
	name := n.GetName()
	if name == "" {
		name = fmt.Sprintf("#%d", i)
	}
	op := n.GetOpType()
	if n.GetDomain() != "" && n.GetDomain() != "ai.onnx" {
		op = n.GetDomain() + "." + op
	}
	nodeErr := func(err error) error {
		var e *Error
		if errors.As(err, &e) && e.Node == "" {
			e.Node, e.Op = name, op
			return e
		}
		return &Error{Node: name, Op: op, Err: err}
	}
	domain := n.GetDomain()
	if domain == "ai.onnx" {
		domain = ""
	}
	version, ok := m.OpsetVersion(domain)
	if !ok {
		return step{}, nodeErr(fmt.Errorf("domain %q is not imported: %w", domain, onnx.ErrInvalid))
	}
	build := lookup(domain, n.GetOpType(), version)
	if build == nil {
		return step{}, &Error{Node: name, Op: op,
			Msg: fmt.Sprintf("no kernel for op %q in domain %q at opset %d", n.GetOpType(), domainName(domain), version),
			Err: ErrUnsupportedOp}
	}
	st := step{name: name, op: op}
	nc := &Node{Proto: n, Name: name, Opset: version, Model: m, cfg: c.cfg, comp: c, scope: sc}
	for _, in := range n.GetInput() {
		if in == "" {
			st.inputs = append(st.inputs, -1)
			nc.consts = append(nc.consts, nil)
			nc.ctypes = append(nc.ctypes, onnx.Undefined)
			continue
		}
		s, ok := sc.lookup(in)
		if !ok {
			return step{}, nodeErr(fmt.Errorf("input %q is not defined: %w", in, onnx.ErrInvalid))
		}
		st.inputs = append(st.inputs, s)
		nc.consts = append(nc.consts, sc.g.consts[s])
		nc.ctypes = append(nc.ctypes, sc.g.ctypes[s])
	}
	k, err := build(nc)
	if err != nil {
		return step{}, nodeErr(err)
	}
	st.kernel, st.fuse = k, nc.fuse
	st.inputs = append(st.inputs, nc.captured...)
	for _, out := range n.GetOutput() {
		if out == "" {
			st.outputs = append(st.outputs, -1)
			continue
		}
		st.outputs = append(st.outputs, sc.newSlot(out))
	}
	return st, nil
}

func domainName(d string) string {
	if d == "" {
		return "ai.onnx"
	}
	return d
}

// ValueKind is what a graph input or output holds.
type ValueKind int

// The kinds of values.
const (
	TensorValue   ValueKind = iota // a tensor.Any of element type Type
	SequenceValue                  // a *Sequence of tensors of element type Type
	OptionalValue                  // an *Optional (of a tensor, or of a sequence when Elem is SequenceValue)
)

func valueInfo(vi *onnxpb.ValueInfoProto, sub bool) (ValueInfo, error) {
	t := vi.GetType()
	info := ValueInfo{Name: vi.GetName()}
	if t.GetSequenceType() != nil || t.GetOptionalType() != nil {
		inner := t
		if o := t.GetOptionalType(); o != nil {
			info.Kind = OptionalValue
			inner = o.GetElemType()
		}
		if s := inner.GetSequenceType(); s != nil {
			if info.Kind == OptionalValue {
				info.Elem = SequenceValue
			} else {
				info.Kind = SequenceValue
			}
			inner = s.GetElemType()
		}
		if tt := inner.GetTensorType(); tt != nil {
			info.Type = onnx.DataType(tt.GetElemType())
			return info, nil
		}
		if inner == nil && sub {
			return info, nil
		}
		return ValueInfo{}, &Error{Value: vi.GetName(), Msg: fmt.Sprintf("type %v is not supported", t), Err: onnx.ErrUnsupported}
	}
	if sub && t.GetTensorType() == nil {
		if t.GetValue() == nil { // a subgraph value of unspecified type
			return info, nil
		}
	}
	dt, shape, _, err := onnx.TensorType(vi)
	if err != nil {
		return ValueInfo{}, &Error{Value: vi.GetName(), Err: err}
	}
	info.Type, info.Shape = dt, shape
	return info, nil
}

// Run executes the program on feeds (one tensor per input of Inputs; BOOL
// inputs are uint8 tensors of 0 and 1; a *Sequence or an *Optional for
// inputs of those kinds) and returns every graph output by name. Inputs
// are checked against their declared element type and shape: fixed dims
// must match and a symbolic dim (dim_param) must have the same size
// wherever it appears. Errors name the node that failed.
//
// The values a run holds (intermediates until their last use, and the
// graph outputs) count against the Program's budget (WithBudget): each
// kernel checks what it is about to allocate against what is left, and a
// step whose outputs take the run over the budget fails. Those errors wrap
// budget.ErrExceeded.
func (p *Program) Run(ctx context.Context, feeds map[string]tensor.Any) (map[string]tensor.Any, error) {
	meter := &meter{limit: p.limit.Bytes(), refs: map[unsafe.Pointer]*held{}, arena: p.arena, given: map[unsafe.Pointer][]float32{}}
	ctx = withMeter(ctx, meter)
	g := p.main
	vals := make([]tensor.Any, len(g.inputs))
	syms := map[string]int{}
	for i, info := range g.inputs {
		v, ok := feeds[info.Name]
		if !ok || v == nil {
			return nil, &Error{Value: info.Name, Msg: "missing input", Err: ErrInput}
		}
		if err := checkInput(ctx, info, v, syms); err != nil {
			return nil, err
		}
		vals[i] = v
	}
	for name := range feeds {
		found := false
		for _, info := range g.inputs {
			found = found || info.Name == name
		}
		if !found {
			return nil, &Error{Value: name, Msg: "not an input of the model", Err: ErrInput}
		}
	}
	outs, err := g.run(ctx, meter, vals, nil)
	if err != nil {
		return nil, err
	}
	res := make(map[string]tensor.Any, len(g.outputs))
	for i, info := range g.outputs {
		res[info.Name] = outs[i]
	}
	return res, nil
}

// run executes g on its inputs (in order) and the values it captures from
// the enclosing graphs, and returns its outputs in order. The values it
// holds count in m until they are freed; its outputs are released from m
// when g is a subgraph (the node that ran it holds what it keeps).
func (g *graph) run(ctx context.Context, meter *meter, inputs, captured []tensor.Any) ([]tensor.Any, error) {
	vals := make([]tensor.Any, g.slots)
	ptrs := make([]unsafe.Pointer, g.slots) // counted storage per slot
	for s, v := range g.consts {
		vals[s] = v
	}
	for i, s := range g.inSlot {
		vals[s] = inputs[i]
	}
	for i, s := range g.capSlot {
		vals[s] = captured[i]
	}
	in := make([]tensor.Any, 0, 16)
	inPtr := make([]unsafe.Pointer, 0, 16)
	for _, st := range g.steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		in, inPtr = in[:0], inPtr[:0]
		for _, s := range st.inputs {
			if s < 0 {
				in, inPtr = append(in, nil), append(inPtr, nil)
			} else {
				in, inPtr = append(in, vals[s]), append(inPtr, ptrs[s])
			}
		}
		outs, err := st.kernel(ctx, in)
		if err != nil {
			var e *Error
			if errors.As(err, &e) && e.Node == "" {
				e.Node, e.Op = st.name, st.op
				return nil, e
			}
			return nil, &Error{Node: st.name, Op: st.op, Err: err}
		}
		for j, s := range st.outputs {
			if s < 0 {
				continue
			}
			if j >= len(outs) || outs[j] == nil {
				return nil, &Error{Node: st.name, Op: st.op, Msg: fmt.Sprintf("output %d was not produced", j), Err: ErrAttribute}
			}
			if isTensor(outs[j]) && outs[j].Size() == 0 { // a view may have no elements but huge dims
				if err := checkOut(ctx, outs[j].DType(), outs[j].Shape()); err != nil {
					return nil, &Error{Node: st.name, Op: st.op, Err: err}
				}
			}
			vals[s] = outs[j]
			ptrs[s] = meter.hold(outs[j], in, inPtr)
			meter.noteValue(outs[j])
		}
		// An output no node reads (an optional output the graph leaves
		// unnamed, such as EmbedLayerNormalization's embedding sum) goes
		// back to the arena now, unless it shares storage with a value the
		// run holds: otherwise every run would take a fresh buffer for it.
		for j, o := range outs {
			if j < len(st.outputs) && st.outputs[j] >= 0 || o == nil || !isTensor(o) {
				continue
			}
			meter.recycle(storagePtr(o))
		}
		if meter.live > meter.limit {
			return nil, &Error{Node: st.name, Op: st.op, Err: &budget.Error{What: "its outputs with the values held", Bytes: uint64(meter.live), Limit: meter.limit}}
		}
		for _, s := range st.free {
			meter.releaseFreed(ptrs[s])
			vals[s], ptrs[s] = nil, nil
		}
	}
	res := make([]tensor.Any, len(g.outSlot))
	for i, s := range g.outSlot {
		res[i] = vals[s]
	}
	for _, p := range ptrs { // the caller holds what it keeps of the outputs
		meter.release(p)
	}
	return res, nil
}

func checkInput(ctx context.Context, info ValueInfo, v tensor.Any, syms map[string]int) error {
	switch info.Kind {
	case SequenceValue:
		if _, ok := v.(*Sequence); !ok {
			return &Error{Value: info.Name, Msg: fmt.Sprintf("%T, want a *Sequence", v), Err: ErrInput}
		}
		return nil
	case OptionalValue:
		if _, ok := v.(*Optional); !ok {
			return &Error{Value: info.Name, Msg: fmt.Sprintf("%T, want an *Optional", v), Err: ErrInput}
		}
		return nil
	}
	if !isTensor(v) {
		return &Error{Value: info.Name, Msg: fmt.Sprintf("%T, want a tensor", v), Err: ErrInput}
	}
	if v.Size() == 0 {
		if err := checkOut(ctx, v.DType(), v.Shape()); err != nil {
			return &Error{Value: info.Name, Msg: fmt.Sprintf("shape %v has no elements, but its other dims exceed the memory budget", v.Shape()),
				Err: fmt.Errorf("%w: %w", ErrInput, budget.ErrExceeded)}
		}
	}
	want, ok := info.Type.NumericDType()
	if info.Type == onnx.Bool {
		want, ok = numeric.Uint8, true
	}
	if ok && v.DType() != want {
		return &Error{Value: info.Name, Msg: fmt.Sprintf("element type %s, want %s (%s)", v.DType(), want, info.Type), Err: ErrInput}
	}
	if info.Shape == nil {
		return nil
	}
	shape := v.Shape()
	if len(shape) != len(info.Shape) {
		return &Error{Value: info.Name, Msg: fmt.Sprintf("shape %v has rank %d, want %d (%v)", shape, len(shape), len(info.Shape), info.Shape),
			Err: fmt.Errorf("%w: %w", ErrInput, tensor.ErrShape)}
	}
	for i, d := range info.Shape {
		switch {
		case d.Param != "":
			if prev, ok := syms[d.Param]; ok && prev != shape[i] {
				return &Error{Value: info.Name, Msg: fmt.Sprintf("dim %d (%s) is %d, but %s is %d in another input", i, d.Param, shape[i], d.Param, prev),
					Err: fmt.Errorf("%w: %w", ErrInput, tensor.ErrShape)}
			}
			syms[d.Param] = shape[i]
		case d.Value >= 0 && int64(shape[i]) != d.Value:
			return &Error{Value: info.Name, Msg: fmt.Sprintf("shape %v, want %v", shape, info.Shape),
				Err: fmt.Errorf("%w: %w", ErrInput, tensor.ErrShape)}
		}
	}
	return nil
}

// OpCount is one entry of Ops: an op, its domain and how many nodes use it.
type OpCount struct {
	Domain, Op string
	Count      int
	Supported  bool // a kernel is registered at the model's opset
}

// Ops returns the op histogram of m's main graph, sorted by domain and op,
// and says which ops have a kernel.
func Ops(m *onnx.Model) []OpCount {
	g := m.Graph()
	if g == nil {
		return nil
	}
	idx := map[[2]string]int{}
	var res []OpCount
	for _, n := range g.GetNode() {
		d := n.GetDomain()
		if d == "ai.onnx" {
			d = ""
		}
		k := [2]string{d, n.GetOpType()}
		i, ok := idx[k]
		if !ok {
			v, _ := m.OpsetVersion(d)
			i = len(res)
			idx[k] = i
			res = append(res, OpCount{Domain: d, Op: n.GetOpType(), Supported: lookup(d, n.GetOpType(), v) != nil})
		}
		res[i].Count++
	}
	sort.Slice(res, func(i, j int) bool {
		if res[i].Domain != res[j].Domain {
			return res[i].Domain < res[j].Domain
		}
		return res[i].Op < res[j].Op
	})
	return res
}
