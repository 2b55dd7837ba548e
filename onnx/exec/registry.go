package exec

import (
	"context"
	"errors"
	"fmt"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
	"github.com/zerfoo/zerfoo/tensor"
)

// Kernel computes a node's outputs from its inputs. An absent optional input
// is nil. Kernels must not modify their inputs (they may alias the model's
// read-only memory) and must be safe for concurrent use.
type Kernel func(ctx context.Context, in []tensor.Any) ([]tensor.Any, error)

// BuildFunc makes the kernel for one node, reading and checking its
// attributes once, at compile time.
type BuildFunc func(n *Node) (Kernel, error)

// Node is what a BuildFunc sees of a node.
type Node struct {
	Proto *onnxpb.NodeProto
	Name  string      // node name, or "#i"
	Opset int64       // the model's opset version of the node's domain
	Model *onnx.Model // for tensor attributes with external data

	cfg    compileConfig
	consts []tensor.Any    // per input: the initializer, or nil
	ctypes []onnx.DataType // per input: the initializer's ONNX type, or Undefined

	comp     *compiler
	scope    *scope
	captured []int   // enclosing-graph slots its subgraphs use, passed after its inputs
	fuse     *fusion // set by a builder whose step later nodes may fuse into (fuse.go)
}

// ConstType returns the ONNX element type of input i when it is an
// initializer (Undefined otherwise): it tells INT4 from INT8 and UINT4 or
// BOOL from UINT8, which share Zerfoo element types.
func (n *Node) ConstType(i int) onnx.DataType {
	if i < len(n.ctypes) {
		return n.ctypes[i]
	}
	return onnx.Undefined
}

// Const returns input i when it is an initializer (known at compile time),
// or nil.
func (n *Node) Const(i int) tensor.Any {
	if i < len(n.consts) {
		return n.consts[i]
	}
	return nil
}

// NumInputs returns the number of inputs listed (absent optional ones
// included).
func (n *Node) NumInputs() int { return len(n.Proto.GetInput()) }

// Int returns integer attribute name, or def.
func (n *Node) Int(name string, def int64) (int64, error) { return onnx.AttrOr(n.Proto, name, def) }

// Float returns float attribute name, or def.
func (n *Node) Float(name string, def float32) (float32, error) {
	return onnx.AttrOr(n.Proto, name, def)
}

// Ints returns ints attribute name, or def.
func (n *Node) Ints(name string, def []int64) ([]int64, error) {
	return onnx.AttrOr(n.Proto, name, def)
}

// String returns string attribute name, or def.
func (n *Node) String(name, def string) (string, error) { return onnx.AttrOr(n.Proto, name, def) }

// Has reports whether the node has attribute name.
func (n *Node) Has(name string) bool { return onnx.FindAttr(n.Proto, name) != nil }

// MaxOpset is the newest ai.onnx opset this package knows, that of ONNX
// 1.20. Kernels are registered for opset ranges open at the top, so a model
// of any opset up to it runs; one that imports a newer opset (or a
// com.microsoft version other than 1) is refused by Compile rather than
// run with semantics nobody has defined yet.
const MaxOpset = 25

// maxVersion is the newest version of each domain that has kernels.
var maxVersion = map[string]int64{"": MaxOpset, onnx.MicrosoftDomain: 1, TrainingDomain: 1}

// checkOpsets refuses opset imports newer than this package knows.
func checkOpsets(m *onnx.Model) error {
	for _, o := range m.Opsets() {
		if newest, ok := maxVersion[o.Domain]; ok && o.Version > newest {
			return &Error{Msg: fmt.Sprintf("model imports opset %s version %d; the newest this executor knows is %d", domainName(o.Domain), o.Version, newest),
				Err: onnx.ErrUnsupported}
		}
	}
	return nil
}

type regEntry struct {
	since, until int64 // opset range [since, until]; until 0 = open
	build        BuildFunc
}

var registry = map[[2]string][]regEntry{}

// Register adds the builder for op in domain ("" for ai.onnx) for opset
// versions since..until inclusive (until 0: no upper bound). It may only be
// called from init functions.
func Register(domain, op string, since, until int64, build BuildFunc) {
	k := [2]string{domain, op}
	registry[k] = append(registry[k], regEntry{since, until, build})
}

func lookup(domain, op string, version int64) BuildFunc {
	for _, e := range registry[[2]string{domain, op}] {
		if version >= e.since && (e.until == 0 || version <= e.until) {
			return e.build
		}
	}
	return nil
}

// SupportedOps lists every registered op as "domain.op" (ai.onnx for the
// default domain) with its opset range.
func SupportedOps() []string {
	var res []string
	for k, es := range registry {
		for _, e := range es {
			r := fmt.Sprintf("%d+", e.since)
			if e.until != 0 {
				r = fmt.Sprintf("%d-%d", e.since, e.until)
			}
			res = append(res, fmt.Sprintf("%s.%s [%s]", domainName(k[0]), k[1], r))
		}
	}
	return res
}

// attrErr is an attribute error.
func attrErr(format string, args ...any) error {
	return &Error{Msg: fmt.Sprintf(format, args...), Err: ErrAttribute}
}

// attrWrap reports err, met while reading an attribute (format and args
// say which): an error wrapping ErrAttribute, or the budget error as it is.
func attrWrap(err error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if errors.Is(err, budget.ErrExceeded) {
		return &Error{Msg: msg, Err: err}
	}
	if msg == "" {
		return attrErr("%v", err)
	}
	return attrErr("%s: %v", msg, err)
}

// shapeErr is a run-time shape error.
func shapeErr(format string, args ...any) error {
	return &Error{Msg: fmt.Sprintf(format, args...), Err: tensor.ErrShape}
}

// typeErr is a run-time element type error.
func typeErr(format string, args ...any) error {
	return &Error{Msg: fmt.Sprintf(format, args...), Err: ErrInput}
}

// one wraps a single-output kernel function.
func one(f func(ctx context.Context, in []tensor.Any) (tensor.Any, error)) Kernel {
	return func(ctx context.Context, in []tensor.Any) ([]tensor.Any, error) {
		v, err := f(ctx, in)
		if err != nil {
			return nil, err
		}
		return []tensor.Any{v}, nil
	}
}

// need checks that inputs 0..k-1 are present.
func need(in []tensor.Any, k int) error {
	if len(in) < k {
		return &Error{Msg: fmt.Sprintf("%d inputs, want at least %d", len(in), k), Err: ErrInput}
	}
	for i := 0; i < k; i++ {
		if in[i] == nil {
			return &Error{Msg: fmt.Sprintf("input %d is required", i), Err: ErrInput}
		}
	}
	return nil
}

// opt returns input i or nil.
func opt(in []tensor.Any, i int) tensor.Any {
	if i < len(in) {
		return in[i]
	}
	return nil
}
