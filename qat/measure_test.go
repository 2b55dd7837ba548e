package qat_test

import (
	"context"
	_ "embed"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/layers/core"
	"github.com/zerfoo/zerfoo/layers/ops"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/qat"
	"github.com/zerfoo/zerfoo/tensor"
	"github.com/zerfoo/zerfoo/training"
)

//go:embed testdata/corpus.txt
var corpus string

// newCharData lowercases the corpus, maps each distinct character to a
// class and cuts the example positions into a training part (the first
// 80 %) and a validation part (the rest).
func newCharData(ctxLen int) (train, val *dataset, vocab int) {
	text := strings.ToLower(corpus)
	set := map[rune]bool{}
	for _, r := range text {
		set[r] = true
	}
	chars := make([]rune, 0, len(set))
	for r := range set {
		chars = append(chars, r)
	}
	sort.Slice(chars, func(i, j int) bool { return chars[i] < chars[j] })
	id := map[rune]int64{}
	for i, r := range chars {
		id[r] = int64(i)
	}
	ids := make([]int64, 0, len(text))
	for _, r := range text {
		ids = append(ids, id[r])
	}
	v := len(chars)
	build := func(lo, hi int) *dataset {
		rows := hi - lo
		x := make([]float32, rows*ctxLen*v)
		y := make([]int64, rows)
		for r := range rows {
			p := lo + r
			for c := range ctxLen {
				x[r*ctxLen*v+c*v+int(ids[p+c])] = 1
			}
			y[r] = ids[p+ctxLen]
		}
		return &dataset{x: tensor.Must(tensor.New([]int{rows, ctxLen * v}, x)),
			cls: tensor.Must(tensor.New([]int{rows}, y))}
	}
	n := len(ids) - ctxLen
	split := n * 8 / 10
	return build(0, split), build(split, n), v
}

// dataset is inputs x [rows, in] with either class targets (cls) or
// regression targets (reg, [rows, out]).
type dataset struct {
	x   *tensor.Tensor[float32]
	cls *tensor.Tensor[int64]
	reg *tensor.Tensor[float32]
}

func (d *dataset) rows() int { return d.x.Dim(0) }

// batch returns the rows idx of d.
func (d *dataset) batch(idx []int) (x *tensor.Tensor[float32], target tensor.Any) {
	pick := func(src []float32, w int) *tensor.Tensor[float32] {
		out := make([]float32, len(idx)*w)
		for i, r := range idx {
			copy(out[i*w:(i+1)*w], src[r*w:(r+1)*w])
		}
		return tensor.Must(tensor.New([]int{len(idx), w}, out))
	}
	x = pick(d.x.Data(), d.x.Dim(1))
	if d.reg != nil {
		return x, pick(d.reg.Data(), d.reg.Dim(1))
	}
	y := make([]int64, len(idx))
	for i, r := range idx {
		y[i] = d.cls.Data()[r]
	}
	return x, tensor.Must(tensor.New([]int{len(idx)}, y))
}

// mlpGraph wires x → layers[0] → tanh → layers[1] → tanh … → loss, the loss
// being cross-entropy for class targets and MSE otherwise.
func mlpGraph(eng compute.Engine[float32], layers []graph.Node[float32], in, out int, classify bool) (*graph.Graph[float32], error) {
	num := numeric.Float32Ops{}
	b := graph.NewBuilder[float32]("mlp", num)
	h := b.Input("x", []int{-1, in})
	for i, l := range layers {
		if i > 0 {
			h = b.Add(fmt.Sprintf("tanh%d", i), ops.NewTanh(eng), h)
		}
		h = b.Add(fmt.Sprintf("fc%d", i+1), l, h)
	}
	if classify {
		target := graph.InputOf[float32, int64](b, "target", []int{-1})
		b.Output(b.AddMixed("loss", training.NewCrossEntropyLoss(num), h, target))
	} else {
		target := b.Input("target", []int{-1, out})
		b.Output(b.Add("loss", training.NewMSELoss(num), h, target))
	}
	return b.Build()
}

// fit runs steps of mini-batch AdamW (no weight decay) with a cosine
// schedule (warm-up 10 % of the steps, floor peak/10) and gradient clipping
// at norm 1, drawing batches from rng.
func fit(ctx context.Context, g *graph.Graph[float32], d *dataset, steps, batch int, peak float64, rng *rand.Rand) error {
	cfg := training.DefaultAdamW(peak)
	cfg.WeightDecay = 0
	opt, err := training.NewAdamW(g.Parameters(), numeric.Float32Ops{}, cfg)
	if err != nil {
		return err
	}
	sched := training.CosineSchedule{Peak: peak, Min: peak / 10, Warmup: steps / 10, Total: steps}
	idx := make([]int, batch)
	for step := 1; step <= steps; step++ {
		for i := range idx {
			idx[i] = rng.IntN(d.rows())
		}
		x, y := d.batch(idx)
		tape, err := g.Forward(ctx, x, y)
		if err != nil {
			return err
		}
		if _, err := g.Backward(ctx, tape); err != nil {
			return err
		}
		if _, err := training.ClipGradNorm(g.Parameters(), nil, 1); err != nil {
			return err
		}
		if err := sched.Apply(opt, step); err != nil {
			return err
		}
		if err := opt.Step(ctx); err != nil {
			return err
		}
		opt.ZeroGrad()
	}
	return nil
}

// evalLoss returns the loss of the layer stack on all of d, computed
// outside the graph (so quantized MatMulNBits layers can be evaluated).
func evalLoss(ctx context.Context, eng compute.Engine[float32], layers []graph.Node[float32], d *dataset) (float64, error) {
	h := d.x
	var err error
	for i, l := range layers {
		if i > 0 {
			if h, err = eng.Tanh(ctx, h); err != nil {
				return 0, err
			}
		}
		if h, err = l.Forward(ctx, h); err != nil {
			return 0, err
		}
	}
	if d.reg != nil {
		loss, _, err := training.MSE[float32](numeric.Float32Ops{}, h, d.reg)
		return loss, err
	}
	loss, _, err := training.SoftmaxCrossEntropy[float32](numeric.Float32Ops{}, h, d.cls)
	return loss, err
}

// qatResult holds validation losses of (a) the float model, (b) its
// round-to-nearest quantization and (c) the QAT fine-tuned, exported model.
type qatResult struct {
	float, rtn, qat float64
}

// qatSetup is one experiment.
type qatSetup struct {
	sizes                []int // in, hidden..., out
	floatSteps, qatSteps int
	batch                int
	floatLR, qatLR       float64
	seed                 uint64
}

// runQAT trains the float model once and, for each scheme, quantizes it
// round-to-nearest (b) and fine-tunes a copy through fake quantization, then
// exports it (c). Each fine-tune draws its batches from its own generator
// seeded by s.seed, so a row does not depend on the rows before it.
func runQAT(ctx context.Context, s qatSetup, cfgs []qat.Config, train, val *dataset) ([]qatResult, error) {
	var floatLoss float64
	num := numeric.Float32Ops{}
	eng := compute.NewCPUEngine[float32](num)
	classify := train.cls != nil
	in, out := s.sizes[0], s.sizes[len(s.sizes)-1]
	rng := rand.New(rand.NewPCG(s.seed, s.seed+1))
	var base []*core.Linear[float32]
	var nodes []graph.Node[float32]
	for i := 1; i < len(s.sizes); i++ {
		l, err := core.NewLinear(fmt.Sprintf("fc%d", i), eng, num, s.sizes[i-1], s.sizes[i], rng)
		if err != nil {
			return nil, err
		}
		base = append(base, l)
		nodes = append(nodes, l)
	}
	g, err := mlpGraph(eng, nodes, in, out, classify)
	if err != nil {
		return nil, err
	}
	if err := fit(ctx, g, train, s.floatSteps, s.batch, s.floatLR, rng); err != nil {
		return nil, err
	}
	if floatLoss, err = evalLoss(ctx, eng, nodes, val); err != nil {
		return nil, err
	}
	var res []qatResult
	for _, cfg := range cfgs {
		r, err := quantizeAndFineTune(ctx, s, cfg, eng, base, train, val)
		if err != nil {
			return nil, err
		}
		r.float = floatLoss
		res = append(res, r)
	}
	return res, nil
}

// quantizeAndFineTune returns (b) and (c) for one scheme.
func quantizeAndFineTune(ctx context.Context, s qatSetup, cfg qat.Config, eng compute.Engine[float32], base []*core.Linear[float32], train, val *dataset) (qatResult, error) {
	var r qatResult
	var err error
	num := numeric.Float32Ops{}
	classify := train.cls != nil
	in, out := s.sizes[0], s.sizes[len(s.sizes)-1]

	// (b) round-to-nearest: export the float weights as they are.
	var rtn []graph.Node[float32]
	for _, l := range base {
		q, err := qat.NewLinear(eng, l, cfg)
		if err != nil {
			return r, err
		}
		m, err := q.Export(0)
		if err != nil {
			return r, err
		}
		rtn = append(rtn, m)
	}
	if r.rtn, err = evalLoss(ctx, eng, rtn, val); err != nil {
		return r, err
	}

	// (c) QAT: fine-tune a copy through fake quantization, then export.
	var fq []*qat.Linear
	var fqNodes []graph.Node[float32]
	for i, l := range base {
		c, err := core.NewLinearFromWeights(fmt.Sprintf("fc%d", i+1), eng, num, l.Weight().Value.Copy(), l.Bias().Value.Copy())
		if err != nil {
			return r, err
		}
		q, err := qat.NewLinear(eng, c, cfg)
		if err != nil {
			return r, err
		}
		fq = append(fq, q)
		fqNodes = append(fqNodes, q)
	}
	gq, err := mlpGraph(eng, fqNodes, in, out, classify)
	if err != nil {
		return r, err
	}
	rng := rand.New(rand.NewPCG(s.seed+100, s.seed+101))
	if err := fit(ctx, gq, train, s.qatSteps, s.batch, s.qatLR, rng); err != nil {
		return r, err
	}
	var exported []graph.Node[float32]
	for _, q := range fq {
		m, err := q.Export(0)
		if err != nil {
			return r, err
		}
		exported = append(exported, m)
	}
	r.qat, err = evalLoss(ctx, eng, exported, val)
	return r, err
}

// teacherData samples x uniformly from [−1, 1]^in and targets
// y_j = Σ_i sin(a_ji·x + b_ji)/m from a fixed random teacher (m = 4 terms
// per output), a smooth function a small tanh MLP fits closely.
func teacherData(seed uint64, rows, in, out int) *dataset {
	const freq = 1.5
	trng := rand.New(rand.NewPCG(42, 42)) // the teacher is the same for every split
	const m = 4
	a := make([]float64, out*m*in)
	b := make([]float64, out*m)
	for i := range a {
		a[i] = trng.NormFloat64() * 1.5 / math.Sqrt(float64(in))
	}
	for i := range b {
		b[i] = trng.Float64() * 2 * math.Pi
	}
	rng := rand.New(rand.NewPCG(seed, seed))
	x := make([]float32, rows*in)
	y := make([]float32, rows*out)
	for r := range rows {
		for i := range in {
			x[r*in+i] = float32(2*rng.Float64() - 1)
		}
		for j := range out {
			var s float64
			for t := range m {
				var dot float64
				for i := range in {
					dot += a[(j*m+t)*in+i] * float64(x[r*in+i])
				}
				s += math.Sin(freq*dot + b[j*m+t])
			}
			y[r*out+j] = float32(s / m)
		}
	}
	return &dataset{x: tensor.Must(tensor.New([]int{rows, in}, x)), reg: tensor.Must(tensor.New([]int{rows, out}, y))}
}
