package exec

import (
	"context"
	"errors"
	"math"
	"unsafe"

	"github.com/zerfoo/zerfoo/onnx/onnxpb"
	"github.com/zerfoo/zerfoo/tensor"
)

// NoConstantFolding makes Compile keep every node as a step of the run:
// none is evaluated at compile time (even one whose inputs are all
// constants; see Compile) or fused into the step that computes its input
// (a BatchNormalization or Relu after a Conv; fuse.go).
func NoConstantFolding() CompileOption { return func(c *compileConfig) { c.noFold = true } }

// nondeterministic lists the ops whose outputs may differ between runs on
// the same inputs; they are never folded.
var nondeterministic = map[string]bool{
	"RandomUniform": true, "RandomNormal": true, "RandomUniformLike": true, "RandomNormalLike": true,
	"Bernoulli": true, "Multinomial": true, "Dropout": true,
}

// fold evaluates step st of node n at compile time when every input it
// reads is a constant of graph g (a Constant node, ConstantOfShape of a
// constant shape, a Reshape or Cast of an initializer, …), as ONNX
// Runtime's constant folding does: its outputs become constants of g, so
// the kernels built after it see them (a Conv gets its weights packed
// once) and no run computes them again. It reports whether st was folded.
//
// A node is not folded when it has subgraphs, is nondeterministic, writes
// a graph output (a caller may modify what Run returns), produces
// something other than tensors, fails (the error then comes from the
// run, as it would unfolded), or would compute more than foldLimit of its
// inputs' bytes (see foldMin). What it computes counts against the budget
// of the compile, with the constants decoded from typed fields.
func (c *compiler) fold(g *graph, st step, n *onnxpb.NodeProto, graphOutputs map[string]bool) bool {
	if (n.GetDomain() == "" || n.GetDomain() == "ai.onnx") && nondeterministic[n.GetOpType()] {
		return false
	}
	if hasSubgraph(n) {
		return false
	}
	for _, out := range n.GetOutput() {
		if graphOutputs[out] {
			return false
		}
	}
	in := make([]tensor.Any, len(st.inputs))
	var inBytes int64
	for i, s := range st.inputs {
		if s < 0 {
			continue
		}
		v, ok := g.consts[s]
		if !ok {
			return false
		}
		in[i] = v
		_, b := storage(v)
		inBytes += b
	}
	room := c.cfg.budget.Bytes() - c.decoded
	limit := min(room, foldLimit(inBytes))
	if limit <= 0 {
		return false
	}
	// The kernel's checks count its scratch too (a Cast widens through
	// float64): it may use foldScratch times what its outputs may hold.
	work := room
	if limit <= room/foldScratch {
		work = foldScratch * limit
	}
	ctx := withMeter(context.Background(), &meter{limit: work, out: limit, refs: map[unsafe.Pointer]*held{}})
	outs, err := safeKernel(ctx, st.kernel, in)
	if err != nil || len(outs) < len(st.outputs) {
		return false
	}
	var bytes int64
	for j, s := range st.outputs {
		if s < 0 {
			continue
		}
		if outs[j] == nil || !isTensor(outs[j]) {
			return false
		}
		_, b := storage(outs[j])
		bytes += b
	}
	if bytes > limit {
		return false
	}
	c.decoded += bytes
	for j, s := range st.outputs {
		if s >= 0 {
			g.consts[s] = outs[j]
		}
	}
	return true
}

// foldMin and foldGrowth bound what one folded node may compute: at most
// foldMin bytes plus foldGrowth times its inputs' bytes. Folding a node
// that converts a constant (a Cast, Transpose or DequantizeLinear of
// weights, up to 4 times their bytes for int8 to float32) saves work on
// every run; a node that makes a large tensor out of a small one
// (ConstantOfShape, Expand, Tile, Range) would only move that tensor
// from the run, which frees it, into the program, which holds it for
// its whole life, and a shape of a few bytes could make a compile take
// the whole memory budget and minutes. Such a node stays a step of the
// run, where the budget checks it against the request's other work.
const (
	foldMin     = 16 << 20
	foldGrowth  = 4
	foldScratch = 4
)

// foldLimit returns the most bytes a folded node may compute from
// constant inputs of inBytes bytes.
func foldLimit(inBytes int64) int64 {
	if inBytes > (math.MaxInt64-foldMin)/foldGrowth {
		return math.MaxInt64
	}
	return foldMin + foldGrowth*inBytes
}

// safeKernel runs k, turning a panic into an error (folding must never
// crash a compile: the run reports the failure with its node).
func safeKernel(ctx context.Context, k Kernel, in []tensor.Any) (outs []tensor.Any, err error) {
	defer func() {
		if p := recover(); p != nil {
			outs, err = nil, errors.New("panic while folding")
		}
	}()
	return k(ctx, in)
}

// uses counts how many node inputs of one graph read each value, and
// whether a node of it has a subgraph (which may capture any value by
// name); fusion (fuse.go) asks it instead of scanning the graph per node.
type uses struct {
	reads    map[string]int
	subgraph bool
}

func valueUses(nodes []*onnxpb.NodeProto) uses {
	u := uses{reads: map[string]int{}}
	for _, n := range nodes {
		u.subgraph = u.subgraph || hasSubgraph(n)
		for _, in := range n.GetInput() {
			u.reads[in]++
		}
	}
	return u
}

func hasSubgraph(n *onnxpb.NodeProto) bool {
	for _, a := range n.GetAttribute() {
		if a.GetG() != nil || len(a.GetGraphs()) > 0 {
			return true
		}
	}
	return false
}
