package onnx

import (
	"errors"
	"fmt"

	"github.com/zerfoo/zerfoo/onnx/onnxpb"
)

// maxValidateErrors bounds how many problems Validate reports.
const maxValidateErrors = 20

// Validate checks the model's structure and returns every problem it finds
// (up to 20, joined with errors.Join; each an *Error wrapping ErrInvalid or
// ErrUnsupported):
//
//   - the model has a graph, an ir_version and opset imports without
//     duplicate domains; every node's domain is imported;
//   - every node input is empty (an absent optional input) or names a graph
//     input, an initializer or an output of an earlier node (nodes must be
//     in topological order), also inside subgraphs, which see outer names;
//   - no value is produced twice (duplicate node outputs, an output that
//     shadows an input or initializer, duplicate inputs or initializers);
//   - every graph output is defined;
//   - every initializer and tensor attribute has data that matches its dims
//     and data type, and external data files exist and are long enough;
//   - every such tensor decodes to no more than the model's budget
//     (ReadOptions.Budget; the error wraps budget.ErrExceeded).
func (m *Model) Validate() error {
	v := &validator{m: m}
	p := m.Proto
	if p.GetIrVersion() <= 0 {
		v.add(&Error{Msg: fmt.Sprintf("ir_version %d is missing or invalid", p.GetIrVersion()), Err: ErrInvalid})
	}
	v.domains = make(map[string]bool)
	for _, o := range p.GetOpsetImport() {
		d := normDomain(o.GetDomain())
		if v.domains[d] {
			v.add(&Error{Msg: fmt.Sprintf("opset_import lists domain %q twice", o.GetDomain()), Err: ErrInvalid})
		}
		v.domains[d] = true
		if o.GetVersion() <= 0 {
			v.add(&Error{Msg: fmt.Sprintf("opset_import of domain %q has version %d", o.GetDomain(), o.GetVersion()), Err: ErrInvalid})
		}
	}
	if len(p.GetOpsetImport()) == 0 {
		v.add(&Error{Msg: "no opset_import", Err: ErrInvalid})
	}
	if p.GetGraph() == nil {
		v.add(&Error{Msg: "model has no graph", Err: ErrInvalid})
	} else {
		v.graph(p.GetGraph(), nil, 0)
	}
	for _, e := range v.errs {
		if e, ok := e.(*Error); ok && e.File == "" {
			e.File = m.Name
		}
	}
	return errors.Join(v.errs...)
}

type validator struct {
	m       *Model
	domains map[string]bool
	errs    []error
}

func (v *validator) add(err error) {
	if len(v.errs) < maxValidateErrors {
		v.errs = append(v.errs, err)
	}
}

func (v *validator) full() bool { return len(v.errs) >= maxValidateErrors }

// scope is a set of defined value names with a link to the enclosing graph's.
type scope struct {
	names map[string]bool
	outer *scope
}

func (s *scope) has(name string) bool {
	for ; s != nil; s = s.outer {
		if s.names[name] {
			return true
		}
	}
	return false
}

// nodeLabel returns the node's name (or "#i") and "domain.op_type".
func nodeLabel(n *onnxpb.NodeProto, i int) (name, op string) {
	name = n.GetName()
	if name == "" {
		name = fmt.Sprintf("#%d", i)
	}
	op = n.GetOpType()
	if d := normDomain(n.GetDomain()); d != "" {
		op = d + "." + op
	}
	return name, op
}

// graph checks g; outer holds the names visible from enclosing graphs.
func (v *validator) graph(g *onnxpb.GraphProto, outer *scope, depth int) {
	where := ""
	if depth > 0 {
		where = fmt.Sprintf("subgraph %q: ", g.GetName())
	}
	s := &scope{names: make(map[string]bool), outer: outer}
	inputs := make(map[string]bool)
	for _, in := range g.GetInput() {
		if inputs[in.GetName()] {
			v.add(&Error{Tensor: in.GetName(), Msg: where + "graph input listed twice", Err: ErrInvalid})
		}
		inputs[in.GetName()] = true
		s.names[in.GetName()] = true
	}
	inits := make(map[string]bool)
	for _, t := range g.GetInitializer() {
		if inits[t.GetName()] {
			v.add(&Error{Tensor: t.GetName(), Msg: where + "initializer listed twice", Err: ErrInvalid})
		}
		inits[t.GetName()] = true
		s.names[t.GetName()] = true
		if t.GetName() == "" {
			v.add(&Error{Msg: where + "initializer without a name", Err: ErrInvalid})
		}
		if err := v.m.checkTensor(t); err != nil {
			v.add(err)
		}
	}
	for _, st := range g.GetSparseInitializer() {
		s.names[st.GetValues().GetName()] = true
	}
	for i, n := range g.GetNode() {
		if v.full() {
			return
		}
		v.node(n, i, s, where, depth)
	}
	for _, out := range g.GetOutput() {
		if !s.has(out.GetName()) {
			v.add(&Error{Tensor: out.GetName(), Msg: where + "graph output is not produced by any node, input or initializer", Err: ErrInvalid})
		}
	}
}

func (v *validator) node(n *onnxpb.NodeProto, i int, s *scope, where string, depth int) {
	name, op := nodeLabel(n, i)
	bad := func(tensor string, err error, format string, args ...any) {
		v.add(&Error{Node: name, Op: op, Tensor: tensor, Msg: where + fmt.Sprintf(format, args...), Err: err})
	}
	if n.GetOpType() == "" {
		bad("", ErrInvalid, "node has no op_type")
	}
	if d := normDomain(n.GetDomain()); !v.domains[d] {
		bad("", ErrUnsupported, "domain %q is not imported by the model's opset_import", n.GetDomain())
	}
	for _, in := range n.GetInput() {
		if in != "" && !s.has(in) {
			bad(in, ErrInvalid, "input is not a graph input, initializer or output of an earlier node")
		}
	}
	checkAttrTensor := func(a *onnxpb.AttributeProto, t *onnxpb.TensorProto) {
		err := v.m.checkTensor(t)
		if e, ok := err.(*Error); ok {
			e.Node, e.Op = name, op
			e.Msg = where + fmt.Sprintf("attribute %q: ", a.GetName()) + e.Msg
			v.add(e)
		} else if err != nil {
			bad("", err, "attribute %q", a.GetName())
		}
	}
	for _, a := range n.GetAttribute() {
		if t := a.GetT(); t != nil {
			checkAttrTensor(a, t)
		}
		for _, t := range a.GetTensors() {
			checkAttrTensor(a, t)
		}
		if sub := a.GetG(); sub != nil {
			v.graph(sub, s, depth+1)
		}
		for _, sub := range a.GetGraphs() {
			v.graph(sub, s, depth+1)
		}
	}
	for _, out := range n.GetOutput() {
		if out == "" {
			continue
		}
		if s.names[out] {
			bad(out, ErrInvalid, "output name is already defined (duplicate output, or an input or initializer of the same name)")
		}
		s.names[out] = true
	}
}
