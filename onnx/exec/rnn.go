package exec

import (
	"context"
	"math"
	"slices"
	"strings"

	"github.com/zerfoo/zerfoo/internal/gemm"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

func init() {
	Register("", "RNN", 1, 0, buildRecurrent(cellRNN))
	Register("", "GRU", 1, 0, buildRecurrent(cellGRU))
	Register("", "LSTM", 1, 0, buildRecurrent(cellLSTM))
}

// cellKind is the recurrent cell of an RNN, GRU or LSTM node.
type cellKind int

const (
	cellRNN cellKind = iota
	cellGRU
	cellLSTM
)

// gates is the number of gate blocks of W and R; funcs the number of
// activation functions per direction.
func (k cellKind) gates() int { return [...]int{1, 3, 4}[k] }
func (k cellKind) funcs() int { return [...]int{1, 2, 3}[k] }

// activation is one of the functions an RNN node may name.
type activation struct {
	name        string // lower case
	op          actOp  // name, resolved once so apply switches on an int per element
	alpha, beta float32
}

// actOp is an activation's function, by number.
type actOp uint8

const (
	actNone actOp = iota
	actSigmoid
	actTanh
	actRelu
	actAffine
	actLeakyRelu
	actThresholdedRelu
	actScaledTanh
	actHardSigmoid
	actElu
	actSoftsign
	actSoftplus
)

var actOps = map[string]actOp{
	"sigmoid": actSigmoid, "tanh": actTanh, "relu": actRelu, "affine": actAffine,
	"leakyrelu": actLeakyRelu, "thresholdedrelu": actThresholdedRelu,
	"scaledtanh": actScaledTanh, "hardsigmoid": actHardSigmoid, "elu": actElu,
	"softsign": actSoftsign, "softplus": actSoftplus,
}

// activationDefaults holds, per function that takes them, the defaults of
// alpha and beta.
var activationDefaults = map[string][2]float32{
	"affine": {1, 0}, "leakyrelu": {0.01, 0}, "thresholdedrelu": {1, 0},
	"scaledtanh": {1, 1}, "hardsigmoid": {0.2, 0.5}, "elu": {1, 0},
}

var activationNames = map[string]bool{"relu": true, "tanh": true, "sigmoid": true, "softsign": true, "softplus": true}

// usesBeta reports whether the function takes activation_beta.
func (a activation) usesBeta() bool {
	return a.name == "affine" || a.name == "scaledtanh" || a.name == "hardsigmoid"
}

func (a activation) apply(x float32) float32 {
	switch a.op {
	case actSigmoid:
		return float32(1 / (1 + math.Exp(-float64(x))))
	case actTanh:
		return float32(math.Tanh(float64(x)))
	case actRelu:
		return max(x, 0)
	case actAffine:
		return a.alpha*x + a.beta
	case actLeakyRelu:
		if x >= 0 {
			return x
		}
		return a.alpha * x
	case actThresholdedRelu:
		if x > a.alpha {
			return x
		}
		return 0
	case actScaledTanh:
		return a.alpha * float32(math.Tanh(float64(a.beta*x)))
	case actHardSigmoid:
		return max(0, min(1, a.alpha*x+a.beta))
	case actElu:
		if x >= 0 {
			return x
		}
		return a.alpha * float32(math.Expm1(float64(x)))
	case actSoftsign:
		return x / (1 + float32(math.Abs(float64(x))))
	case actSoftplus:
		return float32(math.Log1p(math.Exp(float64(x))))
	}
	return x
}

// recurrent is a compiled RNN, GRU or LSTM node.
type recurrent struct {
	kind        cellKind
	hidden      int // 0: taken from R
	dirs        int
	reverse     bool // direction "reverse"
	acts        [][]activation
	clip        float32 // 0: none
	layout      int64
	lbr         bool // GRU linear_before_reset
	inputForget bool // LSTM input_forget
	wantY       bool
}

// buildRecurrent builds RNN, GRU or LSTM (ONNX opsets 1 to 22; layout from
// opset 14). Inputs: X [seq, batch, input] (layout 0) or [batch, seq,
// input] (layout 1); W [dirs, gates·hidden, input]; R [dirs, gates·hidden,
// hidden]; optional B [dirs, 2·gates·hidden] (W's then R's biases),
// sequence_lens [batch], initial_h (and for LSTM initial_c) [dirs, batch,
// hidden] ([batch, dirs, hidden] in layout 1), and for LSTM P [dirs,
// 3·hidden] (peepholes i, o, f). Gates are ordered as ONNX says: RNN i,
// GRU z r h, LSTM i o f c. Outputs: Y [seq, dirs, batch, hidden] ([batch,
// seq, dirs, hidden] in layout 1), zero past a batch entry's sequence
// length; Y_h, the last hidden state, and for LSTM Y_c, the last cell, in
// initial_h's layout. The reverse direction of an entry of length L reads
// its steps L−1 down to 0.
//
// activations names the functions per direction (RNN f; GRU f, g; LSTM f,
// g, h; defaults Tanh; Sigmoid, Tanh; Sigmoid, Tanh, Tanh), any of Relu,
// Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh,
// HardSigmoid, Elu, Softsign, Softplus; activation_alpha and
// activation_beta are consumed in order by the functions that take them.
// clip bounds every gate's pre-activation to [−clip, clip].
//
// The input projection of all steps is one GEMM per direction (package
// internal/gemm), and each step's recurrence another; math is in float32
// whatever the element type.
func buildRecurrent(kind cellKind) BuildFunc {
	return func(n *Node) (Kernel, error) {
		r := &recurrent{kind: kind, dirs: 1}
		hidden, err := n.Int("hidden_size", 0)
		if err != nil {
			return nil, err
		}
		if hidden < 0 || (n.Has("hidden_size") && hidden == 0) || hidden > 1<<30 {
			return nil, attrErr("hidden_size %d, want > 0", hidden)
		}
		r.hidden = int(hidden)
		dir, err := n.String("direction", "forward")
		if err != nil {
			return nil, err
		}
		switch dir {
		case "forward":
		case "reverse":
			r.reverse = true
		case "bidirectional":
			r.dirs = 2
		default:
			return nil, attrErr("direction %q, want forward, reverse or bidirectional", dir)
		}
		if n.Has("clip") {
			c, err := n.Float("clip", 0)
			if err != nil {
				return nil, err
			}
			if !(c > 0) {
				return nil, attrErr("clip %g, want > 0", c)
			}
			r.clip = c
		}
		if n.Opset >= 14 {
			if r.layout, err = n.Int("layout", 0); err != nil {
				return nil, err
			}
			if r.layout != 0 && r.layout != 1 {
				return nil, attrErr("layout %d, want 0 or 1", r.layout)
			}
		}
		if kind == cellGRU {
			lbr, err := n.Int("linear_before_reset", 0)
			if err != nil {
				return nil, err
			}
			r.lbr = lbr != 0
		}
		if kind == cellLSTM {
			f, err := n.Int("input_forget", 0)
			if err != nil {
				return nil, err
			}
			r.inputForget = f != 0
		}
		if r.acts, err = activations(n, kind, r.dirs); err != nil {
			return nil, err
		}
		outs := n.Proto.GetOutput()
		r.wantY = len(outs) > 0 && outs[0] != ""
		return r.run, nil
	}
}

// activations reads activations, activation_alpha and activation_beta:
// the functions of each direction.
func activations(n *Node, kind cellKind, dirs int) ([][]activation, error) {
	defs := [][]string{{"tanh"}, {"sigmoid", "tanh"}, {"sigmoid", "tanh", "tanh"}}[kind]
	names, err := onnx.AttrOr(n.Proto, "activations", []string(nil))
	if err != nil {
		return nil, err
	}
	nf := kind.funcs()
	switch {
	case len(names) == 0:
		for range dirs {
			names = append(names, defs...)
		}
	case len(names) == nf && dirs == 2:
		names = append(names, names...)
	case len(names) < nf*dirs:
		return nil, attrErr("%d activations, want %d per direction", len(names), nf)
	}
	alphas, err := onnx.AttrOr(n.Proto, "activation_alpha", []float32(nil))
	if err != nil {
		return nil, err
	}
	betas, err := onnx.AttrOr(n.Proto, "activation_beta", []float32(nil))
	if err != nil {
		return nil, err
	}
	res := make([][]activation, dirs)
	for d := range res {
		for f := 0; f < nf; f++ {
			a := activation{name: strings.ToLower(names[d*nf+f])}
			a.op = actOps[a.name]
			def, ok := activationDefaults[a.name]
			if !ok && !activationNames[a.name] {
				return nil, attrErr("activation %q is not supported", names[d*nf+f])
			}
			if ok {
				a.alpha, a.beta = def[0], def[1]
				if len(alphas) > 0 {
					a.alpha, alphas = alphas[0], alphas[1:]
				}
				if a.usesBeta() && len(betas) > 0 {
					a.beta, betas = betas[0], betas[1:]
				}
			}
			res[d] = append(res[d], a)
		}
	}
	return res, nil
}

// rnnDims are the sizes of one run.
type rnnDims struct {
	seq, batch, input, hidden, gates, dirs int
}

func (r *recurrent) run(ctx context.Context, in []tensor.Any) ([]tensor.Any, error) {
	if err := need(in, 3); err != nil {
		return nil, err
	}
	x, w, rw := in[0], in[1], in[2]
	dt := x.DType()
	if !isFloat(dt) {
		return nil, typeErr("X has element type %s, want a float type", dt)
	}
	for i, t := range in {
		if t != nil && i != 4 && t.DType() != dt {
			return nil, typeErr("input %d has element type %s, X %s", i, t.DType(), dt)
		}
	}
	xs := x.Shape()
	if len(xs) != 3 {
		return nil, shapeErr("X has shape %v, want rank 3", xs)
	}
	d := rnnDims{seq: xs[0], batch: xs[1], input: xs[2], gates: r.kind.gates(), dirs: r.dirs}
	if r.layout == 1 {
		d.seq, d.batch = xs[1], xs[0]
	}
	rs := rw.Shape()
	if len(rs) != 3 {
		return nil, shapeErr("R has shape %v, want [%d, %d·hidden, hidden]", rs, r.dirs, d.gates)
	}
	d.hidden = rs[2]
	if r.hidden != 0 && r.hidden != d.hidden {
		return nil, shapeErr("R has shape %v for hidden_size %d", rs, r.hidden)
	}
	gh := d.gates * d.hidden
	if !slices.Equal(rs, []int{r.dirs, gh, d.hidden}) {
		return nil, shapeErr("R has shape %v, want %v", rs, []int{r.dirs, gh, d.hidden})
	}
	if !slices.Equal(w.Shape(), []int{r.dirs, gh, d.input}) {
		return nil, shapeErr("W has shape %v, want %v", w.Shape(), []int{r.dirs, gh, d.input})
	}
	stateShape := []int{r.dirs, d.batch, d.hidden}
	if r.layout == 1 {
		stateShape = []int{d.batch, r.dirs, d.hidden}
	}
	for _, c := range []struct {
		i     int
		name  string
		shape []int
	}{{3, "B", []int{r.dirs, 2 * gh}}, {5, "initial_h", stateShape}, {6, "initial_c", stateShape}, {7, "P", []int{r.dirs, 3 * d.hidden}}} {
		if t := opt(in, c.i); t != nil && (r.kind == cellLSTM || c.i < 6) && !slices.Equal(t.Shape(), c.shape) {
			return nil, shapeErr("%s has shape %v, want %v", c.name, t.Shape(), c.shape)
		}
	}
	// the float32 X and the Y output; the input projection and Y in float32
	if err := checkLike(ctx, 4, x); err != nil {
		return nil, err
	}
	if err := checkWork(ctx, 4*d.gates+4+dt.Size(), dt, []int{d.seq, r.dirs, d.batch, d.hidden}); err != nil {
		return nil, err
	}
	lens := make([]int, d.batch)
	if sl := opt(in, 4); sl != nil {
		v, err := ints(sl)
		if err != nil {
			return nil, typeErr("sequence_lens: %v", err)
		}
		if len(v) != d.batch || sl.Dims() != 1 {
			return nil, shapeErr("sequence_lens has shape %v, want [%d]", sl.Shape(), d.batch)
		}
		for b, l := range v {
			if l < 0 || l > int64(d.seq) {
				return nil, shapeErr("sequence_lens[%d] = %d, want 0..%d", b, l, d.seq)
			}
			lens[b] = int(l)
		}
	} else {
		for b := range lens {
			lens[b] = d.seq
		}
	}
	xv, err := floats(x)
	if err != nil {
		return nil, err
	}
	if r.layout == 1 { // to [seq, batch, input]
		t := make([]float32, len(xv))
		for b := 0; b < d.batch; b++ {
			for s := 0; s < d.seq; s++ {
				copy(t[(s*d.batch+b)*d.input:][:d.input], xv[(b*d.seq+s)*d.input:][:d.input])
			}
		}
		xv = t
	}
	var opts [8][]float32
	last := 6 // RNN and GRU read X, W, R, B, sequence_lens, initial_h
	if r.kind == cellLSTM {
		last = 8 // LSTM also initial_c, P
	}
	for i := 1; i < len(in) && i < last; i++ {
		if in[i] != nil && i != 4 {
			if opts[i], err = floats(in[i]); err != nil {
				return nil, err
			}
		}
	}
	y := make([]float32, d.seq*r.dirs*d.batch*d.hidden)
	yh := make([]float32, r.dirs*d.batch*d.hidden)
	yc := make([]float32, r.dirs*d.batch*d.hidden)
	for dir := 0; dir < r.dirs; dir++ {
		if err := r.direction(ctx, d, dir, xv, opts, lens, y, yh, yc); err != nil {
			return nil, err
		}
	}
	return r.outputs(d, dt, y, yh, yc)
}

// direction runs direction dir over the whole sequence, writing its part
// of y (layout 0), yh and yc ([dirs, batch, hidden]).
func (r *recurrent) direction(ctx context.Context, d rnnDims, dir int, x []float32, in [8][]float32, lens []int, y, yh, yc []float32) error {
	h, gh := d.hidden, d.gates*d.hidden
	w := in[1][dir*gh*d.input:][:gh*d.input]
	rw := in[2][dir*gh*h:][:gh*h]
	// bias of the projection: Wb, plus Rb except GRU's h gate with
	// linear_before_reset (Rbh is applied inside the reset gate's product)
	bias := make([]float32, gh)
	var rbh []float32
	if b := in[3]; b != nil {
		b = b[dir*2*gh:][:2*gh]
		for j := range bias {
			bias[j] = b[j]
			if r.kind == cellGRU && r.lbr && j >= 2*h {
				continue
			}
			bias[j] += b[gh+j]
		}
		if r.kind == cellGRU && r.lbr {
			rbh = b[gh+2*h : gh+3*h]
		}
	}
	if rbh == nil {
		rbh = make([]float32, h)
	}
	xp := make([]float32, d.seq*d.batch*gh)
	if err := gemm.Sgemm(ctx, false, true, d.seq*d.batch, gh, d.input, 1, x, d.input, w, d.input, 0, xp, gh); err != nil {
		return err
	}
	for row := 0; row < d.seq*d.batch; row++ {
		p := xp[row*gh:][:gh]
		for j := range p {
			p[j] += bias[j]
		}
	}
	// state in layout 0 ([batch, hidden] for this direction)
	state := func(v []float32) []float32 {
		s := make([]float32, d.batch*h)
		if v == nil {
			return s
		}
		for b := 0; b < d.batch; b++ {
			off := (dir*d.batch + b) * h
			if r.layout == 1 {
				off = (b*d.dirs + dir) * h
			}
			copy(s[b*h:][:h], v[off:][:h])
		}
		return s
	}
	hs, cs := state(in[5]), state(in[6])
	var peep []float32
	if r.kind == cellLSTM && in[7] != nil {
		peep = in[7][dir*3*h:][:3*h]
	}
	rev := r.reverse || dir == 1
	acts := r.acts[dir]
	// recurrent products: GRU without linear_before_reset multiplies the
	// h-gate rows of R by r⊙H after the z and r gates are known
	recRows := gh
	if r.kind == cellGRU && !r.lbr {
		recRows = 2 * h
	}
	hp := make([]float32, d.batch*gh)
	var rh, hh []float32
	if r.kind == cellGRU && !r.lbr {
		rh, hh = make([]float32, d.batch*h), make([]float32, d.batch*h)
	}
	gate := make([]float32, d.batch*gh)
	for s := 0; s < d.seq; s++ {
		if err := gemm.Sgemm(ctx, false, true, d.batch, recRows, h, 1, hs, h, rw, h, 0, hp, gh); err != nil {
			return err
		}
		for b := 0; b < d.batch; b++ {
			if s >= lens[b] {
				continue
			}
			t := stepTime(s, lens[b], rev)
			xg, hg, g := xp[(t*d.batch+b)*gh:][:gh], hp[b*gh:][:gh], gate[b*gh:][:gh]
			hb := hs[b*h:][:h]
			switch r.kind {
			case cellRNN:
				for j := range hb {
					hb[j] = acts[0].apply(r.clipped(xg[j] + hg[j]))
				}
			case cellLSTM:
				r.lstmStep(acts, xg, hg, peep, hb, cs[b*h:][:h])
			case cellGRU:
				for j := 0; j < 2*h; j++ {
					g[j] = acts[0].apply(r.clipped(xg[j] + hg[j]))
				}
				if r.lbr {
					r.gruFinish(acts, g, xg, hg, rbh, hb)
				} else {
					for j := 0; j < h; j++ {
						rh[b*h+j] = g[h+j] * hb[j]
					}
				}
			}
		}
		if r.kind == cellGRU && !r.lbr {
			if err := gemm.Sgemm(ctx, false, true, d.batch, h, h, 1, rh, h, rw[2*h*h:], h, 0, hh, h); err != nil {
				return err
			}
			for b := 0; b < d.batch; b++ {
				if s >= lens[b] {
					continue
				}
				t := stepTime(s, lens[b], rev)
				xg, g, hb := xp[(t*d.batch+b)*gh:][:gh], gate[b*gh:][:gh], hs[b*h:][:h]
				for j := 0; j < h; j++ {
					ht := acts[1].apply(r.clipped(xg[2*h+j] + hh[b*h+j]))
					z := g[j]
					hb[j] = (1-z)*ht + z*hb[j]
				}
			}
		}
		for b := 0; b < d.batch; b++ {
			if s >= lens[b] {
				continue
			}
			t := stepTime(s, lens[b], rev)
			copy(y[((t*d.dirs+dir)*d.batch+b)*h:][:h], hs[b*h:][:h])
		}
	}
	copy(yh[dir*d.batch*h:][:d.batch*h], hs)
	copy(yc[dir*d.batch*h:][:d.batch*h], cs)
	return nil
}

// stepTime is the time index step s reads in a sequence of length n: s
// itself, or counted from the end when rev.
func stepTime(s, n int, rev bool) int {
	if rev {
		return n - 1 - s
	}
	return s
}

func (r *recurrent) clipped(v float32) float32 {
	if r.clip > 0 {
		return max(-r.clip, min(r.clip, v))
	}
	return v
}

// lstmStep updates one batch entry's hidden state hb and cell c from its
// input projection xg and recurrent product hg (gates i, o, f, c).
func (r *recurrent) lstmStep(acts []activation, xg, hg, peep, hb, c []float32) {
	h := len(hb)
	f, g, hf := acts[0], acts[1], acts[2]
	for j := 0; j < h; j++ {
		pi, po, pf := float32(0), float32(0), float32(0)
		if peep != nil {
			pi, po, pf = peep[j], peep[h+j], peep[2*h+j]
		}
		ig := f.apply(r.clipped(xg[j] + hg[j] + pi*c[j]))
		var fg float32
		if r.inputForget {
			fg = 1 - ig
		} else {
			fg = f.apply(r.clipped(xg[2*h+j] + hg[2*h+j] + pf*c[j]))
		}
		cg := g.apply(r.clipped(xg[3*h+j] + hg[3*h+j]))
		cn := fg*c[j] + ig*cg
		og := f.apply(r.clipped(xg[h+j] + hg[h+j] + po*cn))
		c[j] = cn
		hb[j] = og * hf.apply(cn)
	}
}

// gruFinish computes a GRU step with linear_before_reset: the h gate is
// g(xh + r⊙(H·Rhᵀ + Rbh)); g holds the activated z and r gates.
func (r *recurrent) gruFinish(acts []activation, g, xg, hg, rbh, hb []float32) {
	h := len(hb)
	for j := 0; j < h; j++ {
		z, rr := g[j], g[h+j]
		ht := acts[1].apply(r.clipped(xg[2*h+j] + rr*(hg[2*h+j]+rbh[j])))
		hb[j] = (1-z)*ht + z*hb[j]
	}
}

// outputs converts y, yh and yc to the node's layout and element type.
func (r *recurrent) outputs(d rnnDims, dt numeric.DType, y, yh, yc []float32) ([]tensor.Any, error) {
	yShape := []int{d.seq, d.dirs, d.batch, d.hidden}
	sShape := []int{d.dirs, d.batch, d.hidden}
	if r.layout == 1 {
		ty := make([]float32, len(y))
		for s := 0; s < d.seq; s++ {
			for dir := 0; dir < d.dirs; dir++ {
				for b := 0; b < d.batch; b++ {
					copy(ty[((b*d.seq+s)*d.dirs+dir)*d.hidden:][:d.hidden], y[((s*d.dirs+dir)*d.batch+b)*d.hidden:][:d.hidden])
				}
			}
		}
		y = ty
		yShape = []int{d.batch, d.seq, d.dirs, d.hidden}
		sShape = []int{d.batch, d.dirs, d.hidden}
		for _, v := range []*[]float32{&yh, &yc} {
			t := make([]float32, len(*v))
			for dir := 0; dir < d.dirs; dir++ {
				for b := 0; b < d.batch; b++ {
					copy(t[(b*d.dirs+dir)*d.hidden:][:d.hidden], (*v)[(dir*d.batch+b)*d.hidden:][:d.hidden])
				}
			}
			*v = t
		}
	}
	var res []tensor.Any
	for i, v := range [][]float32{y, yh, yc} {
		if i == 2 && r.kind != cellLSTM {
			break
		}
		s := sShape
		if i == 0 {
			if !r.wantY {
				res = append(res, nil)
				continue
			}
			s = yShape
		}
		t, err := fromFloats(dt, s, v)
		if err != nil {
			return nil, err
		}
		res = append(res, t)
	}
	return res, nil
}
