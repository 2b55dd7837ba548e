package exec

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// seqActRef is the ONNX definition of an RNN activation function.
func seqActRef(name string, alpha, beta, x float64) float64 {
	switch strings.ToLower(name) {
	case "sigmoid":
		return 1 / (1 + math.Exp(-x))
	case "tanh":
		return math.Tanh(x)
	case "relu":
		return math.Max(x, 0)
	case "leakyrelu":
		if x < 0 {
			return alpha * x
		}
		return x
	case "hardsigmoid":
		return math.Min(1, math.Max(0, alpha*x+beta))
	case "scaledtanh":
		return alpha * math.Tanh(beta*x)
	case "affine":
		return alpha*x + beta
	}
	panic(name)
}

// rnnCase describes one recurrent node and computes its outputs the plain
// way: per direction, batch entry and step, in float64, layout 0.
type rnnCase struct {
	name        string
	op          string
	seq, batch  int
	input, hid  int
	dir         string
	acts        []string
	alphas      []float64
	betas       []float64
	clip        float64
	lbr         bool
	inputForget bool
	layout      int
	bias, h0    bool
	c0, peep    bool
	lens        []int32
}

func (c rnnCase) gates() int {
	return map[string]int{"RNN": 1, "GRU": 3, "LSTM": 4}[c.op]
}

func (c rnnCase) dirs() int {
	if c.dir == "bidirectional" {
		return 2
	}
	return 1
}

// ref returns Y [seq, dirs, batch, hid], Y_h and Y_c [dirs, batch, hid].
func (c rnnCase) ref(x, w, r, b, h0, c0, p []float64) (y, yh, yc []float64) {
	g, h, dirs := c.gates(), c.hid, c.dirs()
	y = make([]float64, c.seq*dirs*c.batch*h)
	yh = make([]float64, dirs*c.batch*h)
	yc = make([]float64, dirs*c.batch*h)
	nf := len(c.acts) / dirs
	for d := 0; d < dirs; d++ {
		act := func(k int, v float64) float64 {
			if c.clip > 0 {
				v = math.Max(-c.clip, math.Min(c.clip, v))
			}
			a, bb := 0.0, 0.0
			if d*nf+k < len(c.alphas) {
				a = c.alphas[d*nf+k]
			}
			if d*nf+k < len(c.betas) {
				bb = c.betas[d*nf+k]
			}
			return seqActRef(c.acts[d*nf+k], a, bb, v)
		}
		// mat(m, row, vec): row `row` of gate matrix m (g·h rows) times vec
		dot := func(m []float64, cols, row int, vec []float64) float64 {
			s := 0.0
			for j, v := range vec {
				s += m[(d*g*h+row)*cols+j] * v
			}
			return s
		}
		bias := func(k int) float64 {
			if b == nil {
				return 0
			}
			return b[d*2*g*h+k]
		}
		for bt := 0; bt < c.batch; bt++ {
			hs, cs := make([]float64, h), make([]float64, h)
			if h0 != nil {
				copy(hs, h0[(d*c.batch+bt)*h:][:h])
			}
			if c0 != nil {
				copy(cs, c0[(d*c.batch+bt)*h:][:h])
			}
			l := c.seq
			if c.lens != nil {
				l = int(c.lens[bt])
			}
			for s := 0; s < l; s++ {
				t := s
				if c.dir == "reverse" || d == 1 {
					t = l - 1 - s
				}
				xt := x[(t*c.batch+bt)*c.input:][:c.input]
				pre := func(k int, hv []float64) float64 { // x·Wₖ + Wbₖ + hv·Rₖ + Rbₖ
					return dot(w, c.input, k, xt) + bias(k) + dot(r, h, k, hv) + bias(g*h+k)
				}
				nh := make([]float64, h)
				switch c.op {
				case "RNN":
					for j := range nh {
						nh[j] = act(0, pre(j, hs))
					}
				case "GRU":
					rh := make([]float64, h)
					z := make([]float64, h)
					rr := make([]float64, h)
					for j := 0; j < h; j++ {
						z[j] = act(0, pre(j, hs))
						rr[j] = act(0, pre(h+j, hs))
						rh[j] = rr[j] * hs[j]
					}
					for j := 0; j < h; j++ {
						k := 2*h + j
						var v float64
						if c.lbr {
							v = dot(w, c.input, k, xt) + bias(k) + rr[j]*(dot(r, h, k, hs)+bias(g*h+k))
						} else {
							v = dot(w, c.input, k, xt) + bias(k) + dot(r, h, k, rh) + bias(g*h+k)
						}
						nh[j] = (1-z[j])*act(1, v) + z[j]*hs[j]
					}
				case "LSTM":
					nc := make([]float64, h)
					for j := 0; j < h; j++ {
						var pi, po, pf float64
						if p != nil {
							pi, po, pf = p[d*3*h+j], p[d*3*h+h+j], p[d*3*h+2*h+j]
						}
						i := act(0, pre(j, hs)+pi*cs[j])
						f := 1 - i
						if !c.inputForget {
							f = act(0, pre(2*h+j, hs)+pf*cs[j])
						}
						nc[j] = f*cs[j] + i*act(1, pre(3*h+j, hs))
						o := act(0, pre(h+j, hs)+po*nc[j])
						nh[j] = o * seqActRef(c.acts[d*nf+2], 0, 0, nc[j])
					}
					cs = nc
				}
				hs = nh
				copy(y[((t*dirs+d)*c.batch+bt)*h:][:h], hs)
			}
			copy(yh[(d*c.batch+bt)*h:][:h], hs)
			copy(yc[(d*c.batch+bt)*h:][:h], cs)
		}
	}
	return y, yh, yc
}

// seqSwap01 transposes the first two of the dims [a, b, rest].
func seqSwap01(v []float64, a, b, rest int) []float64 {
	o := make([]float64, len(v))
	for i := 0; i < a; i++ {
		for j := 0; j < b; j++ {
			copy(o[(j*a+i)*rest:][:rest], v[(i*b+j)*rest:][:rest])
		}
	}
	return o
}

func seqRand(r *rand.Rand, n int, scale float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = scale * r.NormFloat64()
	}
	return v
}

func seqF32Of(shape []int, v []float64) *tensor.Tensor[float32] {
	return tensor.Must(tensor.New(shape, convSlice[float64, float32](v)))
}

func TestRecurrent(t *testing.T) {
	cases := []rnnCase{
		{name: "rnn_forward", op: "RNN", dir: "forward", acts: []string{"Tanh"}},
		{name: "rnn_reverse_bias_h0", op: "RNN", dir: "reverse", acts: []string{"Tanh"}, bias: true, h0: true},
		{name: "rnn_bidirectional_lens_relu", op: "RNN", dir: "bidirectional", acts: []string{"Relu", "LeakyRelu"}, alphas: []float64{0, 0.2}, bias: true, lens: []int32{4, 2, 1}},
		{name: "rnn_layout1_clip", op: "RNN", dir: "forward", acts: []string{"Tanh"}, clip: 0.5, layout: 1, bias: true, h0: true},
		{name: "gru_default", op: "GRU", dir: "forward", acts: []string{"Sigmoid", "Tanh"}, bias: true},
		{name: "gru_lbr_h0", op: "GRU", dir: "forward", acts: []string{"Sigmoid", "Tanh"}, lbr: true, bias: true, h0: true},
		{name: "gru_bidirectional_lens", op: "GRU", dir: "bidirectional", acts: []string{"Sigmoid", "Tanh", "HardSigmoid", "Tanh"}, alphas: []float64{0, 0, 0.3}, betas: []float64{0, 0, 0.4}, bias: true, lens: []int32{1, 4, 3}},
		{name: "gru_lbr_reverse_layout1", op: "GRU", dir: "reverse", acts: []string{"Sigmoid", "Tanh"}, lbr: true, layout: 1, bias: true, h0: true, lens: []int32{2, 3, 4}},
		{name: "lstm_default", op: "LSTM", dir: "forward", acts: []string{"Sigmoid", "Tanh", "Tanh"}},
		{name: "lstm_peepholes_all", op: "LSTM", dir: "forward", acts: []string{"Sigmoid", "Tanh", "Tanh"}, bias: true, h0: true, c0: true, peep: true, lens: []int32{4, 3, 2}},
		{name: "lstm_bidirectional_input_forget", op: "LSTM", dir: "bidirectional", acts: []string{"Sigmoid", "Tanh", "Tanh", "Sigmoid", "ScaledTanh", "Tanh"}, alphas: []float64{0, 0, 0, 0, 1.5}, betas: []float64{0, 0, 0, 0, 0.7}, inputForget: true, bias: true, h0: true, c0: true, peep: true},
		{name: "lstm_layout1_clip_reverse", op: "LSTM", dir: "reverse", acts: []string{"Sigmoid", "Tanh", "Tanh"}, clip: 0.7, layout: 1, bias: true, h0: true, c0: true, lens: []int32{3, 4, 1}},
	}
	r := rnd(8)
	for _, c := range cases {
		c.seq, c.batch, c.input, c.hid = 4, 3, 3, 5
		t.Run(c.name, func(t *testing.T) {
			g, h, dirs := c.gates(), c.hid, c.dirs()
			xv := seqRand(r, c.seq*c.batch*c.input, 1)
			wv := seqRand(r, dirs*g*h*c.input, 0.5)
			rv := seqRand(r, dirs*g*h*h, 0.5)
			var bv, h0, c0, pv []float64
			ins := []in{{name: "x"}, cst("w", seqF32Of([]int{dirs, g * h, c.input}, wv)), cst("r", seqF32Of([]int{dirs, g * h, h}, rv))}
			if c.bias {
				bv = seqRand(r, dirs*2*g*h, 0.5)
				ins = append(ins, cst("b", seqF32Of([]int{dirs, 2 * g * h}, bv)))
			} else {
				ins = append(ins, absent())
			}
			if c.lens != nil {
				ins = append(ins, inp("lens", tensor.Must(tensor.New([]int{c.batch}, c.lens))))
			} else {
				ins = append(ins, absent())
			}
			state := func(v []float64) *tensor.Tensor[float32] {
				if c.layout == 1 {
					return seqF32Of([]int{c.batch, dirs, h}, seqSwap01(v, dirs, c.batch, h))
				}
				return seqF32Of([]int{dirs, c.batch, h}, v)
			}
			if c.h0 {
				h0 = seqRand(r, dirs*c.batch*h, 1)
				ins = append(ins, inp("h0", state(h0)))
			} else {
				ins = append(ins, absent())
			}
			if c.c0 {
				c0 = seqRand(r, dirs*c.batch*h, 1)
				ins = append(ins, inp("c0", state(c0)))
			} else if c.op == "LSTM" {
				ins = append(ins, absent())
			}
			if c.peep {
				pv = seqRand(r, dirs*3*h, 0.5)
				ins = append(ins, cst("p", seqF32Of([]int{dirs, 3 * h}, pv)))
			}
			if c.layout == 1 {
				ins[0] = x(seqF32Of([]int{c.batch, c.seq, c.input}, seqSwap01(xv, c.seq, c.batch, c.input)))
			} else {
				ins[0] = x(seqF32Of([]int{c.seq, c.batch, c.input}, xv))
			}
			attrs := []onnx.Attr{at("hidden_size", h), at("direction", c.dir), at("activations", c.acts), at("layout", c.layout)}
			if c.alphas != nil {
				attrs = append(attrs, at("activation_alpha", seqToF32(seqAlphas(c.acts, c.alphas, true))))
			}
			if c.betas != nil {
				attrs = append(attrs, at("activation_beta", seqToF32(seqAlphas(c.acts, c.betas, false))))
			}
			if c.clip > 0 {
				attrs = append(attrs, at("clip", c.clip))
			}
			if c.lbr {
				attrs = append(attrs, at("linear_before_reset", 1))
			}
			if c.inputForget {
				attrs = append(attrs, at("input_forget", 1))
			}
			outs := []out{{"y", onnx.Float32}, {"yh", onnx.Float32}}
			if c.op == "LSTM" {
				outs = append(outs, out{"yc", onnx.Float32})
			}
			res, err := runSeqNode(t, c.op, "", 14, ins, outs, attrs...)
			if err != nil {
				t.Fatal(err)
			}
			y, yh, yc := c.ref(xv, wv, rv, bv, h0, c0, pv)
			yShape, sShape := []int{c.seq, dirs, c.batch, h}, []int{dirs, c.batch, h}
			if c.layout == 1 {
				y = seqLayout1Y(c, y)
				yh, yc = seqSwap01(yh, dirs, c.batch, h), seqSwap01(yc, dirs, c.batch, h)
				yShape, sShape = []int{c.batch, c.seq, dirs, h}, []int{c.batch, dirs, h}
			}
			seqClose(t, "Y", res["y"], y, yShape, 1e-4, 1e-5)
			seqClose(t, "Y_h", res["yh"], yh, sShape, 1e-4, 1e-5)
			if c.op == "LSTM" {
				seqClose(t, "Y_c", res["yc"], yc, sShape, 1e-4, 1e-5)
			}
		})
	}
}

// seqLayout1Y turns Y [seq, dirs, batch, hid] into [batch, seq, dirs, hid].
func seqLayout1Y(c rnnCase, v []float64) []float64 {
	dirs, h := c.dirs(), c.hid
	o := make([]float64, len(v))
	for d := 0; d < dirs; d++ {
		for b := 0; b < c.batch; b++ {
			for s := 0; s < c.seq; s++ {
				copy(o[((b*c.seq+s)*dirs+d)*h:][:h], v[((s*dirs+d)*c.batch+b)*h:][:h])
			}
		}
	}
	return o
}

// seqAlphas lists the alpha (or beta) values of the functions that take
// one, in order: the form of activation_alpha and activation_beta.
func seqAlphas(acts []string, v []float64, alpha bool) []float64 {
	var res []float64
	for i, a := range acts {
		a = strings.ToLower(a)
		_, takes := activationDefaults[a]
		if !alpha {
			takes = a == "affine" || a == "scaledtanh" || a == "hardsigmoid"
		}
		if takes && i < len(v) {
			res = append(res, v[i])
		}
	}
	return res
}

func seqToF32(v []float64) []float32 { return convSlice[float64, float32](v) }

func TestRecurrentErrors(t *testing.T) {
	r := rnd(9)
	xv := randF32(r, 2, 1, 3)
	ins := []in{x(xv), cst("w", randF32(r, 1, 4, 3)), cst("r", randF32(r, 1, 4, 4))}
	o := []out{{"y", onnx.Float32}}
	_, err := runSeqNode(t, "RNN", "", 14, ins, o, at("direction", "sideways"))
	seqAttrErr(t, err, "direction sideways")
	_, err = runSeqNode(t, "RNN", "", 14, ins, o, at("activations", []string{"Cubic"}))
	seqAttrErr(t, err, "activation Cubic")
	_, err = runSeqNode(t, "RNN", "", 14, ins, o, at("layout", 2))
	seqAttrErr(t, err, "layout 2")
	_, err = runSeqNode(t, "LSTM", "", 14, ins, o, at("hidden_size", 1))
	seqRunErr(t, err, "LSTM with RNN weights", tensor.ErrShape)
	_, err = runSeqNode(t, "RNN", "", 14, []in{x(xv), cst("w", randF32(r, 1, 4, 2)), cst("r", randF32(r, 1, 4, 4))}, o)
	seqRunErr(t, err, "W of the wrong input size", tensor.ErrShape)
	_, err = runSeqNode(t, "RNN", "", 14, append(ins, absent(), inp("lens", i32s([]int{1}, 3))), o)
	seqRunErr(t, err, "sequence_lens past the sequence", tensor.ErrShape)
}
