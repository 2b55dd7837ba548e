package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"runtime"
	"time"

	"github.com/zerfoo/zerfoo/models/gemma3/train"
	"github.com/zerfoo/zerfoo/qat"
	"github.com/zerfoo/zerfoo/tokenizer"
)

type trainCmd struct {
	Corpus    string  `required:"" type:"path" help:"Training text: a file, or a directory whose .txt/.md/.html files are read in path order (HTML reduced to text)."`
	Config    string  `default:"tiny" enum:"nano,tiny,small" help:"Model shape: nano, tiny or small."`
	Steps     int     `default:"1000" help:"Total optimizer steps (a resumed run continues up to this step)."`
	Out       string  `required:"" type:"path" help:"Checkpoint to write (GGUF, F32); --resume continues from it."`
	Resume    bool    `help:"Continue training the checkpoint at --out (its tokenizer and step) and its AdamW state in --out.optim (written beside every checkpoint; without it the moments restart at zero)."`
	Force     bool    `help:"Overwrite --out if it exists."`
	QATBits   int     `name:"qat-bits" default:"0" enum:"0,4,8" help:"Quantization-aware training: fake-quantize every layer matrix to this many bits (blocks of 32, symmetric) in the forward pass."`
	Vocab     int     `default:"1024" help:"Vocabulary size of the tokenizer trained on the corpus (new models only)."`
	Batch     int     `default:"8" help:"Sequences per step."`
	SeqLen    int     `default:"128" help:"Tokens per sequence (BOS included)."`
	LR        float64 `name:"lr" default:"3e-3" help:"Peak learning rate (AdamW, cosine decay to a tenth)."`
	Warmup    int     `default:"0" help:"Warm-up steps (0: min(100, steps/10))."`
	Clip      float64 `default:"1" help:"Global gradient-norm bound."`
	Seed      uint64  `default:"1" help:"Seed of the initial weights and of the batches."`
	SaveEvery int     `default:"100" help:"Write the checkpoint every this many steps (and at the end)."`
	LogEvery  int     `default:"50" help:"Print a plain progress line every this many steps (0: never)."`
	Threads   int     `default:"0" help:"Worker threads (0: all cores)."`
}

// Validate checks the flags before anything is read or printed.
func (c *trainCmd) Validate() error {
	var ck checks
	ck.atLeast("--steps", c.Steps, 1, "")
	ck.atLeast("--vocab", c.Vocab, 1, "")
	ck.atLeast("--batch", c.Batch, 1, "")
	ck.atLeast("--seq-len", c.SeqLen, 2, " (BOS and one token)")
	ck.check(c.LR > 0 && !math.IsInf(c.LR, 0), "--lr", c.LR, "must be a number > 0")
	ck.atLeast("--warmup", c.Warmup, 0, " (0: min(100, steps/10))")
	ck.float("--clip", c.Clip, 0, math.Inf(1), "")
	ck.atLeast("--save-every", c.SaveEvery, 0, "")
	ck.atLeast("--log-every", c.LogEvery, 0, " (0: never)")
	ck.atLeast("--threads", c.Threads, 0, " (0: all cores)")
	if _, err := os.Stat(c.Corpus); err != nil && ck.err == nil && c.Corpus != "" {
		ck.err = fmt.Errorf("--corpus: %w", err)
	}
	return ck.err
}

func (c *trainCmd) Run(ctx context.Context, s *streams) error {
	return c.run(ctx, s)
}

// run trains, writing its log (and progress) to s.err.
func (c *trainCmd) run(ctx context.Context, s *streams) error {
	log := s.err
	if c.Threads > 0 {
		runtime.GOMAXPROCS(c.Threads)
	}
	if _, err := os.Stat(c.Out); err == nil && !c.Resume && !c.Force {
		return fmt.Errorf("train: output %s exists (use --force to overwrite it or --resume to continue it)", c.Out)
	} else if err != nil && c.Resume {
		return fmt.Errorf("train: --resume: %w", err)
	}
	text, err := train.ReadCorpus(c.Corpus)
	if err != nil {
		return err
	}
	var (
		m     *train.Model
		vocab *tokenizer.Vocab
		start int
		optim *train.OptimState
	)
	if c.Resume {
		ck, err := train.Load(c.Out)
		if err != nil {
			return err
		}
		m, vocab, start = ck.Model, ck.Vocab, ck.Step
		if optim, err = loadOptim(m, c.Out, start, log); err != nil {
			return err
		}
		fmt.Fprintf(log, "resuming %s at step %d\n", c.Out, start)
	} else {
		t0 := time.Now()
		v, err := tokenizer.Train(text, tokenizer.TrainOptions{VocabSize: c.Vocab})
		if err != nil {
			return err
		}
		vocab = &v
		cfg, err := train.Preset(c.Config, len(v.Tokens))
		if err != nil {
			return err
		}
		if m, err = train.New(cfg, c.Seed); err != nil {
			return err
		}
		fmt.Fprintf(log, "tokenizer: %d tokens trained in %.1fs\n", len(v.Tokens), time.Since(t0).Seconds())
	}
	tok, err := tokenizer.New(*vocab)
	if err != nil {
		return err
	}
	data := tok.Encode(text, false, false)
	if c.QATBits > 0 {
		m.QAT = &qat.Config{Bits: c.QATBits, BlockSize: 32, Symmetric: true}
	}
	cfg := m.Config
	fmt.Fprintf(log, "model: %s, %d layers, hidden %d, FFN %d, %d parameters; corpus %d characters, %d tokens\n",
		c.Config, cfg.Layers, cfg.Hidden, cfg.FFN, m.NumParams(), len(text), len(data))
	if start >= c.Steps {
		return fmt.Errorf("train: %s is already at step %d of %d", c.Out, start, c.Steps)
	}
	bar := s.progress("training", int64(c.Steps-start), false)
	var last float64
	opt := train.Options{
		Steps: c.Steps, Start: start, Batch: c.Batch, SeqLen: c.SeqLen, BOS: vocab.BOS, Seed: c.Seed,
		LR: c.LR, Warmup: c.Warmup, Clip: c.Clip, CheckpointEvery: c.SaveEvery, Optim: optim,
		Progress: func(p train.Progress) {
			last = p.Loss
			rate := float64(p.Tokens) / p.Elapsed.Seconds()
			bar.describe(fmt.Sprintf("loss %.3f  %.0f tok/s", p.Loss, rate))
			bar.set(int64(p.Step-start), 0)
			if c.LogEvery > 0 && p.Step%c.LogEvery == 0 {
				if bar.drawn() {
					fmt.Fprintln(log) // below the bar's line
				}
				fmt.Fprintf(log, "step %d/%d loss %.4f lr %.2e grad-norm %.3f %.0f tok/s\n", p.Step, p.Steps, p.Loss, p.LR, p.GradNorm, rate)
			}
		},
		Checkpoint: func(step int, st *train.OptimState) error { return save(m, vocab, c.Out, step, st) },
	}
	_, err = train.Run(ctx, m, data, opt)
	bar.finish()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("train: interrupted (the last checkpoint in %s can be resumed): %w", c.Out, err)
		}
		return err
	}
	fmt.Fprintf(log, "wrote %s (step %d, last loss %.4f)\n", c.Out, c.Steps, last)
	return nil
}

// save writes the checkpoint next to path and renames it over path, so an
// interrupted write never leaves a broken checkpoint; then the optimizer
// state to path.optim the same way.
func save(m *train.Model, v *tokenizer.Vocab, path string, step int, st *train.OptimState) error {
	tmp := path + ".tmp"
	if err := m.Save(tmp, v, step); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return m.SaveOptim(path+train.OptimSuffix, st)
}

// loadOptim reads the optimizer state beside the checkpoint path at step.
// A missing file gives a warning on log and nil (the moments restart at
// zero); one that cannot be read or does not match is an error.
func loadOptim(m *train.Model, path string, step int, log io.Writer) (*train.OptimState, error) {
	op := path + train.OptimSuffix
	if _, err := os.Stat(op); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(log, "warning: no optimizer state at %s: moments restart at zero\n", op)
		return nil, nil
	}
	st, err := m.LoadOptim(op)
	if err != nil {
		return nil, fmt.Errorf("train: --resume: %w (delete it to restart the moments at zero)", err)
	}
	if st.Step != step {
		return nil, fmt.Errorf("train: --resume: optimizer state %s is at step %d, the checkpoint %s at step %d (delete it to restart the moments at zero): %w",
			op, st.Step, path, step, train.ErrCheckpoint)
	}
	return st, nil
}
