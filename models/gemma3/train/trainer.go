package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/training"
)

// ErrData is wrapped by errors about training data that cannot fill a
// batch: an empty corpus, or one shorter than a sequence.
var ErrData = errors.New("train: not enough training data")

// Preset returns a named model shape for a vocabulary of vocab tokens:
//
//	nano:  2 layers, hidden 32, FFN 64, 2 heads (1 KV) of 16, window 8 — tests
//	tiny:  6 layers, hidden 128, FFN 384, 4 heads (2 KV) of 32, window 64
//	small: 6 layers, hidden 256, FFN 768, 4 heads (2 KV) of 64, window 128
//
// Every preset has Gemma 3's layer pattern (every 6th layer global; nano:
// every 2nd), RoPE bases 10000 (local) and 1e6 (global), context 512.
func Preset(name string, vocab int) (gemma3.Config, error) {
	c := gemma3.Config{Vocab: vocab, Context: 512, Period: 6, Eps: 1e-6, GlobalBase: 1e6, LocalBase: 1e4, GlobalScale: 1}
	switch strings.ToLower(name) {
	case "nano":
		c.Layers, c.Hidden, c.FFN, c.Heads, c.KVHeads, c.HeadDim, c.Window, c.Period = 2, 32, 64, 2, 1, 16, 8, 2
	case "tiny":
		c.Layers, c.Hidden, c.FFN, c.Heads, c.KVHeads, c.HeadDim, c.Window = 6, 128, 384, 4, 2, 32, 64
	case "small":
		c.Layers, c.Hidden, c.FFN, c.Heads, c.KVHeads, c.HeadDim, c.Window = 6, 256, 768, 4, 2, 64, 128
	default:
		return gemma3.Config{}, fmt.Errorf("train: unknown config %q (have nano, tiny, small): %w", name, gemma3.ErrConfig)
	}
	c.QueryScale = float32(1 / math.Sqrt(float64(c.HeadDim)))
	c.EmbedScale = float32(math.Sqrt(float64(c.Hidden)))
	return c, c.Validate()
}

// Options configures Run.
type Options struct {
	Steps  int // last optimizer step (the schedule's total)
	Start  int // steps already done (a resumed checkpoint's step)
	Batch  int // sequences per step (default 8)
	SeqLen int // tokens per sequence, BOS included (default 128)
	BOS    int32
	Seed   uint64
	LR     float64 // peak learning rate (default 3e-3)
	MinLR  float64 // floor of the cosine decay (default LR/10)
	Warmup int     // warm-up steps (default min(100, Steps/10))
	Decay  float64 // AdamW weight decay of matrices (default 0.01; norms none)
	Clip   float64 // global gradient-norm bound (default 1)
	// Progress, if set, is called after every step.
	Progress func(Progress)
	// Optim, if set, is the optimizer state to resume from (its Step must
	// equal Start, and its parameters be the model's); nil starts the
	// AdamW moments at zero.
	Optim *OptimState
	// Checkpoint, if set, is called every CheckpointEvery steps and after
	// the last one with the number of steps done and a copy of the
	// optimizer state after that step (to save with Model.SaveOptim).
	Checkpoint      func(step int, optim *OptimState) error
	CheckpointEvery int
}

// Progress reports one training step.
type Progress struct {
	Step, Steps int
	Loss        float64 // mean cross-entropy of the step's batch (nats)
	LR          float64
	GradNorm    float64 // before clipping
	Tokens      int     // predicted tokens so far in this run
	Elapsed     time.Duration
}

func (o *Options) defaults() {
	if o.Batch <= 0 {
		o.Batch = 8
	}
	if o.SeqLen <= 0 {
		o.SeqLen = 128
	}
	if o.LR <= 0 {
		o.LR = 3e-3
	}
	if o.MinLR <= 0 {
		o.MinLR = o.LR / 10
	}
	if o.Warmup <= 0 {
		o.Warmup = min(100, o.Steps/10)
	}
	if o.Decay < 0 {
		o.Decay = 0
	} else if o.Decay == 0 {
		o.Decay = 0.01
	}
	if o.Clip <= 0 {
		o.Clip = 1
	}
}

// Run trains m on the token stream data with AdamW (weight decay on the
// embedding and matrices only), a cosine schedule with linear warm-up and
// global gradient-norm clipping, for steps Start+1 … Steps. Each sequence
// is BOS followed by SeqLen−1 tokens of data from an offset drawn from
// (Seed, step), so a resumed run sees the batches it would have seen.
// The AdamW step counts and moments come from opt.Optim (a resumed run
// then continues bit for bit as if it had not stopped) or start at zero.
// It returns the loss of every step it ran.
func Run(ctx context.Context, m *Model, data []int32, opt Options) ([]float64, error) {
	opt.defaults()
	T := opt.SeqLen - 1
	switch {
	case len(data) == 0:
		return nil, fmt.Errorf("train: the corpus holds no tokens: %w", ErrData)
	case len(data) < T+1:
		return nil, fmt.Errorf("train: the corpus holds %d tokens, fewer than one sequence needs (%d: %d inputs after BOS and the next token): %w",
			len(data), T+1, T, ErrData)
	case opt.Steps <= opt.Start:
		return nil, fmt.Errorf("train: %d steps requested, %d already done", opt.Steps, opt.Start)
	case opt.SeqLen > m.Config.Context:
		return nil, fmt.Errorf("train: sequence length %d exceeds the context %d: %w", opt.SeqLen, m.Config.Context, gemma3.ErrContext)
	}
	sched := training.CosineSchedule{Peak: opt.LR, Min: opt.MinLR, Warmup: opt.Warmup, Total: opt.Steps}
	if opt.Warmup >= opt.Steps {
		sched.Warmup = 0
	}
	if err := sched.Validate(); err != nil {
		return nil, err
	}
	ops := numeric.Float32Ops{}
	cfg := training.DefaultAdamW(opt.LR)
	cfg.Beta2 = 0.95
	cfg.WeightDecay = opt.Decay
	withDecay, err := training.NewAdamW(m.Matrices(), ops, cfg)
	if err != nil {
		return nil, err
	}
	cfg.WeightDecay = 0
	noDecay, err := training.NewAdamW(m.Norms(), ops, cfg)
	if err != nil {
		return nil, err
	}
	if o := opt.Optim; o != nil {
		if o.Step != opt.Start {
			return nil, fmt.Errorf("train: the optimizer state is at step %d, the run starts after step %d: %w", o.Step, opt.Start, ErrCheckpoint)
		}
		if err := withDecay.SetState(o.Decay); err != nil {
			return nil, fmt.Errorf("train: optimizer state of the matrices: %w (%w)", err, ErrCheckpoint)
		}
		if err := noDecay.SetState(o.NoDecay); err != nil {
			return nil, fmt.Errorf("train: optimizer state of the norms: %w (%w)", err, ErrCheckpoint)
		}
	}
	params := m.Params()
	B, S := opt.Batch, opt.SeqLen
	inputs, targets := make([]int32, B*S), make([]int32, B*S)
	var losses []float64
	start := time.Now()
	for step := opt.Start + 1; step <= opt.Steps; step++ {
		r := rand.New(rand.NewPCG(opt.Seed, uint64(step)))
		for b := 0; b < B; b++ {
			off := r.IntN(len(data) - T)
			in, tg := inputs[b*S:(b+1)*S], targets[b*S:(b+1)*S]
			in[0] = opt.BOS
			copy(in[1:], data[off:off+T])
			copy(tg, data[off:off+T])
			tg[T] = data[off+T]
		}
		for _, p := range params {
			p.ZeroGradient()
		}
		loss, err := m.Loss(ctx, inputs, targets, B, S)
		if err != nil {
			return losses, err
		}
		norm, err := training.ClipGradNorm(params, ops, opt.Clip)
		if err != nil {
			return losses, fmt.Errorf("train: step %d (loss %.4f): %w", step, loss, err)
		}
		lr := sched.LR(step)
		for _, o := range []*training.AdamW[float32]{withDecay, noDecay} {
			if err := o.SetLR(lr); err != nil {
				return losses, err
			}
			if err := o.Step(ctx); err != nil {
				return losses, err
			}
		}
		losses = append(losses, loss)
		if opt.Progress != nil {
			opt.Progress(Progress{Step: step, Steps: opt.Steps, Loss: loss, LR: lr, GradNorm: norm,
				Tokens: (step - opt.Start) * B * S, Elapsed: time.Since(start)})
		}
		if opt.Checkpoint != nil && (step == opt.Steps || (opt.CheckpointEvery > 0 && step%opt.CheckpointEvery == 0)) {
			st := &OptimState{Step: step, Decay: withDecay.State(), NoDecay: noDecay.State()}
			if err := opt.Checkpoint(step, st); err != nil {
				return losses, err
			}
		}
	}
	return losses, nil
}
