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

// ValueInfo describes a graph input or output: its name, ONNX element type
// and declared shape (nil when the rank is unknown).
type ValueInfo struct {
	Name  string
	Type  onnx.DataType
	Shape []onnx.Dim
}

// step is one compiled node.
type step struct {
	name, op string
	kernel   Kernel
	inputs   []int // value slots; -1 for an absent optional input
	outputs  []int // value slots; -1 for an unused optional output
	free     []int // slots whose last use is this step
}

// Program is a compiled ONNX model: its constants decoded (aliasing the
// model's memory where possible) and one kernel per node. A Program is
// immutable and safe for concurrent Run calls; it must not be used after the
// model it came from is closed.
type Program struct {
	model   *onnx.Model
	steps   []step
	slots   int
	consts  map[int]tensor.Any
	ctypes  map[int]onnx.DataType
	inputs  []ValueInfo
	inSlot  []int
	outputs []ValueInfo
	outSlot []int
	keep    []bool // slots that are graph outputs or constants (never freed)
	limit   budget.Limit
}

// Inputs returns the values Run needs, in graph order.
func (p *Program) Inputs() []ValueInfo { return append([]ValueInfo(nil), p.inputs...) }

// Outputs returns the values Run produces, in graph order.
func (p *Program) Outputs() []ValueInfo { return append([]ValueInfo(nil), p.outputs...) }

// CompileOption configures Compile.
type CompileOption func(*compileConfig)

type compileConfig struct {
	exactScales bool
	budget      budget.Limit
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
// node; so are attribute errors (ErrAttribute).
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
	p := &Program{model: m, consts: map[int]tensor.Any{}, ctypes: map[int]onnx.DataType{}, limit: cfg.budget}
	slot := map[string]int{}
	newSlot := func(name string) int {
		s := p.slots
		p.slots++
		slot[name] = s
		return s
	}
	var decoded int64 // bytes of constants decoded from typed fields (copies, not views)
	for _, t := range g.GetInitializer() {
		v, err := decodeTensor(m, t, cfg.budget)
		if err != nil {
			return nil, &Error{Value: t.GetName(), Msg: "initializer", Err: err}
		}
		if t.RawData == nil && !onnx.IsExternal(t) {
			_, n := storage(v)
			if decoded += n; decoded > cfg.budget.Bytes() {
				return nil, &Error{Value: t.GetName(), Msg: "initializer",
					Err: &budget.Error{What: "the constants decoded from typed fields up to it", Bytes: uint64(decoded), Limit: cfg.budget.Bytes()}}
			}
		}
		s := newSlot(t.GetName())
		p.consts[s] = v
		p.ctypes[s] = onnx.DataType(t.GetDataType())
	}
	for _, vi := range m.Inputs() {
		info, err := valueInfo(vi)
		if err != nil {
			return nil, err
		}
		if _, ok := slot[vi.GetName()]; ok {
			continue
		}
		p.inputs = append(p.inputs, info)
		p.inSlot = append(p.inSlot, newSlot(vi.GetName()))
	}
	for i, n := range g.GetNode() {
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
			return nil, nodeErr(fmt.Errorf("domain %q is not imported: %w", domain, onnx.ErrInvalid))
		}
		build := lookup(domain, n.GetOpType(), version)
		if build == nil {
			return nil, &Error{Node: name, Op: op,
				Msg: fmt.Sprintf("no kernel for op %q in domain %q at opset %d", n.GetOpType(), domainName(domain), version),
				Err: ErrUnsupportedOp}
		}
		st := step{name: name, op: op}
		nc := &Node{Proto: n, Name: name, Opset: version, Model: m, cfg: cfg}
		for _, in := range n.GetInput() {
			if in == "" {
				st.inputs = append(st.inputs, -1)
				nc.consts = append(nc.consts, nil)
				nc.ctypes = append(nc.ctypes, onnx.Undefined)
				continue
			}
			s, ok := slot[in]
			if !ok {
				return nil, nodeErr(fmt.Errorf("input %q is not defined: %w", in, onnx.ErrInvalid))
			}
			st.inputs = append(st.inputs, s)
			nc.consts = append(nc.consts, p.consts[s])
			nc.ctypes = append(nc.ctypes, p.ctypes[s])
		}
		k, err := build(nc)
		if err != nil {
			return nil, nodeErr(err)
		}
		st.kernel = k
		for _, out := range n.GetOutput() {
			if out == "" {
				st.outputs = append(st.outputs, -1)
				continue
			}
			st.outputs = append(st.outputs, newSlot(out))
		}
		p.steps = append(p.steps, st)
	}
	p.keep = make([]bool, p.slots)
	for s := range p.consts {
		p.keep[s] = true
	}
	for _, vi := range g.GetOutput() {
		info, err := valueInfo(vi)
		if err != nil {
			return nil, err
		}
		s, ok := slot[vi.GetName()]
		if !ok {
			return nil, &Error{Value: vi.GetName(), Msg: "graph output is not defined", Err: onnx.ErrInvalid}
		}
		p.outputs = append(p.outputs, info)
		p.outSlot = append(p.outSlot, s)
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

func domainName(d string) string {
	if d == "" {
		return "ai.onnx"
	}
	return d
}

func valueInfo(vi *onnxpb.ValueInfoProto) (ValueInfo, error) {
	dt, shape, _, err := onnx.TensorType(vi)
	if err != nil {
		return ValueInfo{}, &Error{Value: vi.GetName(), Err: err}
	}
	return ValueInfo{Name: vi.GetName(), Type: dt, Shape: shape}, nil
}

// Run executes the program on feeds (one tensor per input of Inputs; BOOL
// inputs are uint8 tensors of 0 and 1) and returns every graph output by
// name. Inputs are checked against their declared element type and shape:
// fixed dims must match and a symbolic dim (dim_param) must have the same
// size wherever it appears. Errors name the node that failed.
//
// The values a run holds (intermediates until their last use, and the
// graph outputs) count against the Program's budget (WithBudget): each
// kernel checks what it is about to allocate against what is left, and a
// step whose outputs take the run over the budget fails. Those errors wrap
// budget.ErrExceeded.
func (p *Program) Run(ctx context.Context, feeds map[string]tensor.Any) (map[string]tensor.Any, error) {
	meter := &meter{limit: p.limit.Bytes(), refs: map[unsafe.Pointer]*held{}}
	ctx = withMeter(ctx, meter)
	vals := make([]tensor.Any, p.slots)
	ptrs := make([]unsafe.Pointer, p.slots) // counted storage per slot
	for s, v := range p.consts {
		vals[s] = v
	}
	syms := map[string]int{}
	for i, info := range p.inputs {
		v, ok := feeds[info.Name]
		if !ok || v == nil {
			return nil, &Error{Value: info.Name, Msg: "missing input", Err: ErrInput}
		}
		if err := checkInput(ctx, info, v, syms); err != nil {
			return nil, err
		}
		vals[p.inSlot[i]] = v
	}
	for name := range feeds {
		found := false
		for _, info := range p.inputs {
			found = found || info.Name == name
		}
		if !found {
			return nil, &Error{Value: name, Msg: "not an input of the model", Err: ErrInput}
		}
	}
	in := make([]tensor.Any, 0, 16)
	inPtr := make([]unsafe.Pointer, 0, 16)
	for _, st := range p.steps {
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
			if outs[j].Size() == 0 { // a view may have no elements but huge dims
				if err := checkOut(ctx, outs[j].DType(), outs[j].Shape()); err != nil {
					return nil, &Error{Node: st.name, Op: st.op, Err: err}
				}
			}
			vals[s] = outs[j]
			ptrs[s] = meter.hold(outs[j], in, inPtr)
		}
		if meter.live > meter.limit {
			return nil, &Error{Node: st.name, Op: st.op, Err: &budget.Error{What: "its outputs with the values held", Bytes: uint64(meter.live), Limit: meter.limit}}
		}
		for _, s := range st.free {
			meter.release(ptrs[s])
			vals[s], ptrs[s] = nil, nil
		}
	}
	res := make(map[string]tensor.Any, len(p.outputs))
	for i, info := range p.outputs {
		res[info.Name] = vals[p.outSlot[i]]
	}
	return res, nil
}

func checkInput(ctx context.Context, info ValueInfo, v tensor.Any, syms map[string]int) error {
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
