package exec

import (
	"context"
	"math"

	"github.com/zerfoo/zerfoo/internal/gemm"
	"github.com/zerfoo/zerfoo/internal/simd"
	"github.com/zerfoo/zerfoo/internal/workerpool"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
	"github.com/zerfoo/zerfoo/tensor"
)

// Compile-time fusion of the element-wise ops that follow a Conv or a
// BatchNormalization into that step, as ONNX Runtime's Conv+BatchNorm,
// Conv+Add+activation and BatchNorm+activation fusions do. Each fused op
// reads a value nothing else reads (not a graph output, one reader, no
// subgraph in the graph), so the step can compute it in its last pass and
// the op's own step, its pass over memory and its output disappear:
//
//   - a BatchNormalization with constant float32 parameters after a Conv
//     with constant float32 weights (and bias) is folded into them:
//     w' = w·s, b' = (b−mean)·s+β with s = γ/√(var+ε);
//   - a Mul or Add by a constant that broadcasts per channel (a scalar, or
//     C×1×…×1) after such a Conv is folded the same way; after a
//     BatchNormalization it is composed with the normalization's own
//     per-channel scale and offset at run time;
//   - an Add or two-input Sum of the Conv's output and a value computed
//     before the Conv (a residual connection) is added in the Conv's last
//     pass;
//   - a Relu is applied in the last pass.
//
// The order is fixed: per-channel affine ops, then the residual, then the
// Relu. Every fused op keeps its own kernel: when a run meets inputs the
// fused pass does not handle (another element type, a residual of another
// shape, a constant that does not broadcast per channel at the input's
// rank), the step computes its own op and then runs those kernels in order,
// exactly as the unfused graph would. NoConstantFolding turns fusion off.

// fusion holds what is fused into a Conv or BatchNormalization step. It is
// written while the graph compiles and only read by runs.
type fusion struct {
	conv bool
	// A Conv's constant float32 weights and bias (wc, bc; bc nil without
	// bias), m output channels; once an affine op is folded in, w and b
	// hold the folded copies the step uses instead of its inputs (w is
	// dropped once packed: packWeights).
	wc, bc []float32
	w, b   []float32
	m      int
	wRank  int
	// wKernel is the weights' kernel size, group the Conv's groups and
	// packed the weights packed per group (packWeights), or nil.
	wKernel int
	group   int
	packed  []*gemm.PackedA
	// A BatchNormalization's per-channel ops, applied at run time.
	affine []chanOp
	// res is the index in the step's inputs of the residual added after
	// the affine ops (-1: none); resAt its position in the add's inputs
	// and resK the add's own kernel.
	res   int
	resAt int
	resK  Kernel
	// relu applies a Relu last; reluK is the Relu's own kernel.
	relu  bool
	reluK Kernel
}

// chanOp is a Mul (y·v) or Add (y+v) by a constant v of the given shape.
type chanOp struct {
	mul   bool
	v     []float32 // one value, or one per channel
	shape []int
	k     Kernel       // the node's own kernel
	args  []tensor.Any // its inputs with the fused value at position at
	at    int
}

// perChannel reports whether a constant of shape cs broadcasts against an
// N×C×… value of the given rank per channel: every dim 1 except the one
// aligned with C, which is 1 or c.
func perChannel(cs []int, rank, c int) bool {
	if len(cs) > rank {
		return false
	}
	for j, d := range cs {
		if d != 1 && (rank-len(cs)+j != 1 || d != c) {
			return false
		}
	}
	return true
}

// run applies op to the fused value y the unfused way: the node's own kernel.
func (op *chanOp) run(ctx context.Context, y tensor.Any) (tensor.Any, error) {
	args := append([]tensor.Any(nil), op.args...)
	args[op.at] = y
	return firstOut(op.k(ctx, args))
}

func firstOut(outs []tensor.Any, err error) (tensor.Any, error) {
	if err != nil {
		return nil, err
	}
	if len(outs) == 0 || outs[0] == nil {
		return nil, typeErr("fused op produced no output")
	}
	return outs[0], nil
}

// unfused applies the ops fused after the affine ones (the residual, then
// the Relu) to y with their own kernels; in holds the step's inputs.
func (f *fusion) unfused(ctx context.Context, y tensor.Any, in []tensor.Any) (tensor.Any, error) {
	var err error
	if f.res >= 0 {
		args := []tensor.Any{y, in[f.res]}
		if f.resAt == 0 {
			args[0], args[1] = args[1], args[0]
		}
		if y, err = firstOut(f.resK(ctx, args)); err != nil {
			return nil, err
		}
	}
	if f.relu {
		return firstOut(f.reluK(ctx, []tensor.Any{y}))
	}
	return y, nil
}

// residual returns the step's residual input as float32 values when the
// fused pass can add it to an output of shape os (nil otherwise).
func (f *fusion) residual(in []tensor.Any, os []int) []float32 {
	if f == nil || f.res < 0 || f.res >= len(in) {
		return nil
	}
	r, ok := in[f.res].(*tensor.Tensor[float32])
	if !ok || !equalInts(r.Shape(), os) {
		return nil
	}
	return r.Data()
}

// convEpilogue finishes a Conv's float32 output y (nb×m×sp) in one pass per
// channel plane: y+bias, plus res (nil: none), then Relu when relu.
func convEpilogue(ctx context.Context, y, bias, res []float32, relu bool, nb, m, sp int) error {
	if bias == nil && res == nil && !relu {
		return nil
	}
	return workerpool.For(ctx, nb*m, max(1, (1<<15)/max(sp, 1)), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			row := y[pl*sp : (pl+1)*sp]
			var b float32
			if bias != nil {
				b = bias[pl%m]
			}
			var r []float32
			if res != nil {
				r = res[pl*sp : (pl+1)*sp]
			}
			simd.BiasResRelu(row, r, b, relu)
		}
	})
}

// fuser finds, while a graph compiles, the nodes that fuse into an earlier
// Conv or BatchNormalization step.
type fuser struct {
	u        uses
	outputs  map[string]bool // graph outputs
	sites    map[int]site    // output slot of a step that can take fused ops
	producer map[int]int     // slot → index of the step that writes it
}

type site struct {
	step int
	f    *fusion
}

// added records step st, the i-th of graph g.
func (fz *fuser) added(st step, i int) {
	for _, s := range st.outputs {
		if s >= 0 {
			fz.producer[s] = i
		}
	}
	if st.fuse != nil && len(st.outputs) > 0 && st.outputs[0] >= 0 {
		fz.sites[st.outputs[0]] = site{step: i, f: st.fuse}
	}
}

// fuse tries to fuse node n (compiled as st) into the step that computes
// one of its inputs. It reports whether it did; then n's output names the
// fused step's output and st is dropped.
func (fz *fuser) fuse(g *graph, sc *scope, st step, n *onnxpb.NodeProto) bool {
	if fz.u.subgraph || !defaultDomain(n) || len(n.GetOutput()) != 1 || n.GetOutput()[0] == "" || len(st.outputs) != 1 {
		return false
	}
	ins := n.GetInput()
	for j, name := range ins {
		if name == "" || j >= len(st.inputs) {
			continue
		}
		s := st.inputs[j]
		at, ok := fz.sites[s]
		if !ok || fz.u.reads[name] != 1 || fz.outputs[name] {
			continue
		}
		if !fz.fuseInto(g, at, st, n, j) {
			continue
		}
		sc.slot[n.GetOutput()[0]] = s
		return true
	}
	return false
}

// fuseInto fuses node n, which reads the site's output as its input j,
// into the site's step.
func (fz *fuser) fuseInto(g *graph, at site, st step, n *onnxpb.NodeProto, j int) bool {
	f := at.f
	ins := n.GetInput()
	switch op := n.GetOpType(); op {
	case "Relu":
		if f.relu || len(ins) != 1 {
			return false
		}
		f.relu, f.reluK = true, st.kernel
		return true
	case "BatchNormalization":
		if !f.conv || f.wc == nil || f.relu || f.res >= 0 || j != 0 || len(ins) != 5 {
			return false
		}
		var ps [4][]float32
		for i := range 4 {
			c, ok := g.consts[st.inputs[i+1]].(*tensor.Tensor[float32])
			if !ok || c.Size() != f.m {
				return false
			}
			ps[i] = c.Data()
		}
		training, err := onnx.AttrOr(n, "training_mode", int64(0))
		if err != nil || training != 0 {
			return false
		}
		eps, err := onnx.AttrOr(n, "epsilon", float32(1e-5))
		if err != nil {
			return false
		}
		s, t := make([]float64, f.m), make([]float64, f.m)
		for c := range f.m {
			s[c] = float64(ps[0][c]) / math.Sqrt(float64(ps[3][c])+float64(eps))
			t[c] = float64(ps[1][c]) - float64(ps[2][c])*s[c]
		}
		f.fold(s, t)
		return true
	case "Mul", "Add", "Sum":
		if len(ins) != 2 || f.relu || f.res >= 0 {
			return false
		}
		other := st.inputs[1-j]
		if other < 0 {
			return false
		}
		if c, ok := g.consts[other]; ok {
			if op == "Sum" {
				return false
			}
			return f.fuseConst(c, op == "Mul", st, j)
		}
		if op == "Mul" || !f.conv {
			return false
		}
		// A residual: it must be computed before the Conv's step runs.
		if p, ok := fz.producer[other]; ok && p >= at.step {
			return false
		}
		cs := &g.steps[at.step]
		for len(cs.inputs) < 3 { // after the Conv's optional bias
			cs.inputs = append(cs.inputs, -1)
		}
		f.res, f.resAt, f.resK = len(cs.inputs), 1-j, st.kernel
		cs.inputs = append(cs.inputs, other)
		return true
	}
	return false
}

// fuseConst fuses y·c or y+c (c a constant, y the fused value at input j
// of step st).
func (f *fusion) fuseConst(c tensor.Any, mul bool, st step, j int) bool {
	ct, ok := c.(*tensor.Tensor[float32])
	if !ok || ct.Size() == 0 {
		return false
	}
	if f.conv {
		if f.wc == nil || !perChannel(ct.Shape(), f.wRank, f.m) {
			return false
		}
		v := ct.Data()
		s, t := make([]float64, f.m), make([]float64, f.m)
		for ch := range f.m {
			x := float64(v[min(ch, len(v)-1)])
			if mul {
				s[ch] = x
			} else {
				s[ch], t[ch] = 1, x
			}
		}
		f.fold(s, t)
		return true
	}
	// After a BatchNormalization: checked against the input's rank and
	// channels at run time.
	if len(ct.Shape()) == 0 && ct.Size() != 1 {
		return false
	}
	args := make([]tensor.Any, 2)
	args[1-j] = c
	f.affine = append(f.affine, chanOp{mul: mul, v: ct.Data(), shape: ct.Shape(), k: st.kernel, args: args, at: j})
	return true
}

// fold folds y·s+t per output channel into a Conv's weights and bias
// (copied from the constants the first time).
func (f *fusion) fold(s, t []float64) {
	if f.w == nil {
		f.w, f.b = append([]float32(nil), f.wc...), make([]float32, f.m)
		copy(f.b, f.bc)
	}
	per := len(f.w) / f.m
	for ch := range f.m {
		row := f.w[ch*per : (ch+1)*per]
		for i, v := range row {
			row[i] = float32(float64(v) * s[ch])
		}
		f.b[ch] = float32(float64(f.b[ch])*s[ch] + t[ch])
	}
}

// newConvFusion returns the fusion of a Conv node; affine ops fold into it
// only when its weights and bias are float32 constants.
func newConvFusion(n *Node) *fusion {
	f := &fusion{conv: true, res: -1}
	w, ok := n.Const(1).(*tensor.Tensor[float32])
	if !ok || w.Dims() < 3 || w.Shape()[0] == 0 {
		return f
	}
	m := w.Shape()[0]
	var b []float32
	if n.NumInputs() > 2 && n.Proto.GetInput()[2] != "" {
		bt, ok := n.Const(2).(*tensor.Tensor[float32])
		if !ok || bt.Size() != m || bt.Dims() != 1 {
			return f
		}
		b = bt.Data()
	}
	f.wc, f.bc, f.m, f.wRank, f.wKernel = w.Data(), b, m, w.Dims(), prod(w.Shape()[2:])
	return f
}

// chanAffine composes a BatchNormalization's per-channel k, off (y =
// x·k+off) with the ops fused after it, for an input of the given rank
// and c channels. It reports false when one of them does not broadcast
// per channel there (the run then takes the unfused path).
func (f *fusion) chanAffine(k, off []float64, rank, c int) bool {
	for _, op := range f.affine {
		if !perChannel(op.shape, rank, c) || (len(op.v) != 1 && len(op.v) != c) {
			return false
		}
	}
	for _, op := range f.affine {
		for ch := range c {
			v := float64(op.v[min(ch, len(op.v)-1)])
			if op.mul {
				k[ch] *= v
				off[ch] *= v
			} else {
				off[ch] += v
			}
		}
	}
	return true
}

// chainAfter applies the ops fused into a BatchNormalization to its
// unfused output y with their own kernels.
func (f *fusion) chainAfter(ctx context.Context, y tensor.Any, in []tensor.Any) (tensor.Any, error) {
	var err error
	for i := range f.affine {
		if y, err = f.affine[i].run(ctx, y); err != nil {
			return nil, err
		}
	}
	return f.unfused(ctx, y, in)
}

// fusedFloat32 reports whether the fused pass can produce x's type.
func fusedFloat32(x tensor.Any) bool { return x.DType() == numeric.Float32 }
