package exec

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// seqOpCase makes the inputs (nil: absent) and attributes of one random
// node of an op of rnn.go, loss.go, random.go, signal.go or training.go,
// mostly of consistent shapes with small, empty and odd dims, values and
// attributes in and out of range.
type seqOpCase func(r *rand.Rand, f func(shape ...int) tensor.Any) ([]tensor.Any, []onnx.Attr)

func seqOpCases() map[string]seqOpCase {
	d := func(r *rand.Rand) int { return r.IntN(4) }
	i64 := func(v int64) tensor.Any { return i64s(nil, v) }
	some := func(r *rand.Rand, vs ...int64) int64 { return vs[r.IntN(len(vs))] }
	rec := func(g int) seqOpCase {
		return func(r *rand.Rand, f func(...int) tensor.Any) ([]tensor.Any, []onnx.Attr) {
			seq, batch, in, h, dirs, layout := d(r), d(r), d(r), d(r), 1+r.IntN(2), r.IntN(2)
			xs, ss := []int{seq, batch, in}, []int{dirs, batch, h}
			if layout == 1 {
				xs, ss = []int{batch, seq, in}, []int{batch, dirs, h}
			}
			l := make([]int64, batch)
			for i := range l {
				l[i] = int64(r.IntN(seq+2) - r.IntN(2))
			}
			ins := []tensor.Any{f(xs...), f(dirs, g*h, in), f(dirs, g*h, h), f(dirs, 2*g*h), tensor.Must(tensor.New([]int{batch}, l)), f(ss...), f(ss...), f(dirs, 3*h)}
			dir := []string{"forward", "reverse", "bidirectional"}[dirs-1+r.IntN(2)]
			attrs := []onnx.Attr{at("direction", dir), at("layout", layout), at("hidden_size", some(r, int64(h), int64(h), 1)),
				at("clip", float32(r.IntN(2))), at("linear_before_reset", r.IntN(2)), at("input_forget", r.IntN(2))}
			if r.IntN(3) == 0 {
				attrs = append(attrs, at("activations", []string{"LeakyRelu", "HardSigmoid", "Affine", "Elu", "Softplus", "ScaledTanh"}[:1+r.IntN(6)]),
					at("activation_alpha", []float32{0.5}), at("activation_beta", []float32{0.1, 0.2}))
			}
			if g < 4 {
				ins = ins[:6]
			}
			return ins, attrs
		}
	}
	loss := func(r *rand.Rand, f func(...int) tensor.Any) ([]tensor.Any, []onnx.Attr) {
		s := []int{d(r), d(r)}
		for range r.IntN(3) {
			s = append(s, d(r))
		}
		ts := append([]int{s[0]}, s[2:]...)
		t := make([]int64, prod(ts))
		for i := range t {
			t[i] = int64(r.IntN(s[1]+2) - 1)
		}
		attrs := []onnx.Attr{at("reduction", []string{"none", "sum", "mean"}[r.IntN(3)])}
		if r.IntN(2) == 0 {
			attrs = append(attrs, at("ignore_index", -1))
		}
		return []tensor.Any{f(s...), tensor.Must(tensor.New(ts, t)), f(s[1])}, attrs
	}
	window := func(r *rand.Rand, f func(...int) tensor.Any) ([]tensor.Any, []onnx.Attr) {
		return []tensor.Any{i64(some(r, -1, 0, 1, 2, 7))}, []onnx.Attr{at("periodic", r.IntN(2)), at("output_datatype", some(r, 1, 6, 7, 11))}
	}
	optim := func(groups int) seqOpCase {
		return func(r *rand.Rand, f func(...int) tensor.Any) ([]tensor.Any, []onnx.Attr) {
			ins := []tensor.Any{f(), i64(some(r, -1, 0, 3))}
			n := 1 + r.IntN(2)
			shapes := make([][]int, n)
			for i := range shapes {
				shapes[i] = []int{d(r)}
			}
			for range groups {
				for i := range n {
					ins = append(ins, f(shapes[i]...))
				}
			}
			return ins[:len(ins)-r.IntN(2)], []onnx.Attr{at("alpha", float32(0.9)), at("beta", float32(0.5)), at("norm_coefficient", float32(0.1)), at("mode", "nesterov")}
		}
	}
	return map[string]seqOpCase{
		"RNN": rec(1), "GRU": rec(3), "LSTM": rec(4),
		"NegativeLogLikelihoodLoss": loss, "SoftmaxCrossEntropyLoss": loss,
		"HannWindow": window, "HammingWindow": window, "BlackmanWindow": window,
		"DFT": func(r *rand.Rand, f func(...int) tensor.Any) ([]tensor.Any, []onnx.Attr) {
			x := f(1+d(r), d(r), 1+r.IntN(2))
			return []tensor.Any{x, i64(some(r, 0, 1, 3, 5)), i64(some(r, -3, -2, 0, 1))},
				[]onnx.Attr{at("axis", some(r, -2, 0, 1, 2)), at("onesided", r.IntN(2)), at("inverse", r.IntN(2))}
		},
		"STFT": func(r *rand.Rand, f func(...int) tensor.Any) ([]tensor.Any, []onnx.Attr) {
			return []tensor.Any{f(d(r), r.IntN(9), 1+r.IntN(2)), i64(some(r, 0, 1, 2)), f(r.IntN(5)), i64(some(r, 0, 1, 3, 4))},
				[]onnx.Attr{at("onesided", r.IntN(2))}
		},
		"MelWeightMatrix": func(r *rand.Rand, f func(...int) tensor.Any) ([]tensor.Any, []onnx.Attr) {
			return []tensor.Any{i64(some(r, 0, 1, 4)), i64(some(r, 0, 1, 8, 16)), i64(some(r, 0, 100, 8000)), seqF32(nil, float32(r.IntN(3)*100)), seqF32(nil, float32(r.IntN(5)*1000))}, nil
		},
		"RandomUniformLike": func(r *rand.Rand, f func(...int) tensor.Any) ([]tensor.Any, []onnx.Attr) {
			return []tensor.Any{f(d(r), d(r))}, []onnx.Attr{at("seed", float32(1))}
		},
		"Bernoulli": func(r *rand.Rand, f func(...int) tensor.Any) ([]tensor.Any, []onnx.Attr) {
			return []tensor.Any{f(d(r), d(r))}, []onnx.Attr{at("dtype", some(r, 1, 6, 9, 11))}
		},
		"Multinomial": func(r *rand.Rand, f func(...int) tensor.Any) ([]tensor.Any, []onnx.Attr) {
			return []tensor.Any{f(d(r), d(r))}, []onnx.Attr{at("sample_size", some(r, 0, 1, 3)), at("dtype", some(r, 6, 7))}
		},
		"Adagrad": optim(3), "Adam": optim(4), "Momentum": optim(3),
	}
}

// TestSeqOpsNoPanic runs random nodes of the recurrent, loss, random,
// signal and optimizer ops (see seqOpCases), with inputs sometimes absent
// or of another element type: each must return a result or an error.
func TestSeqOpsNoPanic(t *testing.T) {
	cases := seqOpCases()
	ops := make([]string, 0, len(cases))
	for op := range cases {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	ran := map[string]int{}
	for it := range 2000 {
		r := rand.New(rand.NewPCG(uint64(it), 17))
		op := ops[it%len(ops)]
		dts := []numeric.DType{numeric.Float32, numeric.Float32, numeric.Float16Type, numeric.Float64}
		dt := dts[r.IntN(len(dts))]
		f := func(shape ...int) tensor.Any {
			v := make([]float32, prod(shape))
			for i := range v {
				v[i] = float32(r.NormFloat64())
				if r.IntN(4) == 0 {
					v[i] = float32(r.IntN(2))
				}
			}
			xdt := dt
			if r.IntN(20) == 0 {
				xdt = dts[r.IntN(len(dts))]
			}
			x, _ := fromFloats(xdt, shape, v)
			return x
		}
		vals, attrs := cases[op](r, f)
		domain := ""
		if op == "Adagrad" || op == "Adam" || op == "Momentum" {
			domain = TrainingDomain
		}
		var ins []in
		desc := op
		for i, v := range vals {
			name := fmt.Sprint("in", i)
			if r.IntN(10) == 0 && i > 0 {
				ins = append(ins, absent())
				desc += " -"
				continue
			}
			ins = append(ins, in{name: name, v: v, init: r.IntN(3) == 0 && v.DType() != numeric.Float64})
			desc += fmt.Sprintf(" %s%v", v.DType(), v.Shape())
		}
		desc += fmt.Sprint(" ", attrs)
		outs := []out{{"o0", onnx.Float32}, {"o1", onnx.Float32}, {"o2", onnx.Float32}}[:1+r.IntN(3)]
		func() {
			defer func() {
				if e := recover(); e != nil {
					t.Fatalf("%s: panic %v", desc, e)
				}
			}()
			if _, err := runSeqNode(t, op, domain, 20, ins, outs, attrs...); err == nil {
				ran[op]++
			}
		}()
	}
	for _, op := range ops {
		if ran[op] == 0 {
			t.Errorf("%s: no random node ran to the end", op)
		}
	}
}
