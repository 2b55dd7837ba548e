package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"runtime"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/internal/defaultmodel"
	"github.com/zerfoo/zerfoo/models/gemma3"
)

type generateCmd struct {
	Model         string  `type:"existingfile" help:"GGUF model file (Gemma 3); default: the built-in tiny model trained by Zerfoo on the Go documentation."`
	Prompt        string  `required:"" help:"Prompt text."`
	Chat          bool    `help:"Wrap the prompt in the Gemma chat template."`
	MaxTokens     int     `default:"256" help:"Tokens to generate."`
	Temperature   float64 `default:"0" help:"Sampling temperature (0: greedy)."`
	TopK          int     `default:"40" help:"Top-k cut (0: off)."`
	TopP          float64 `default:"0.95" help:"Top-p (nucleus) cut (1: off)."`
	MinP          float64 `default:"0.05" help:"Min-p cut (0: off)."`
	RepeatPenalty float64 `default:"1" help:"Repetition penalty over the last 64 tokens (1: off)."`
	Seed          uint64  `default:"0" help:"Sampling seed."`
	Threads       int     `default:"0" help:"Worker threads (0: all cores)."`
	DumpLogits    string  `type:"path" help:"Write the float32 logits of the last prompt position to this .npy file and exit."`
	Exact         bool    `help:"Use the scalar llama.cpp-exact reference kernels (slow)."`
}

func (g *generateCmd) options() generate.Options {
	return generate.Options{
		Sampling: generate.Sampling{Temperature: g.Temperature, TopK: g.TopK, TopP: g.TopP, MinP: g.MinP,
			RepetitionPenalty: g.RepeatPenalty, Seed: g.Seed},
		MaxTokens: g.MaxTokens, Chat: g.Chat, Threads: g.Threads,
	}
}

// loadModel loads path with a progress bar on stderr.
func loadModel(path string, threads int, exact bool) (*generate.Model, error) {
	if threads > 0 {
		runtime.GOMAXPROCS(threads)
	}
	var bar *progressbar.ProgressBar
	opt := gemma3.LoadOptions{
		Exact:  exact,
		Notice: func(msg string) { fmt.Fprintln(os.Stderr, msg) },
		Progress: func(done, total int64) {
			if bar == nil {
				bar = progressbar.DefaultBytes(total, "loading")
			}
			bar.Set64(done)
		},
	}
	m, err := generate.Load(path, opt)
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(os.Stderr)
	}
	return m, err
}

func (g *generateCmd) Run(ctx context.Context) error {
	if g.Model == "" {
		p, err := defaultmodel.Path()
		if err != nil {
			return err
		}
		g.Model = p
	}
	m, err := loadModel(g.Model, g.Threads, g.Exact)
	if err != nil {
		return err
	}
	defer m.Close()
	opt := g.options()
	if g.DumpLogits != "" {
		ids, err := m.Encode(g.Prompt, g.Chat)
		if err != nil {
			return err
		}
		st := m.Model.NewState(gemma3.StateOptions{MaxLen: len(ids), Threads: g.Threads})
		logits := make([]float32, m.Model.Config.Vocab)
		if err := st.Forward(ctx, ids, logits); err != nil {
			return err
		}
		return writeNpy(g.DumpLogits, logits)
	}
	opt.OnText = func(s string) error { _, err := fmt.Print(s); return err }
	res, err := m.Run(ctx, g.Prompt, opt)
	fmt.Println()
	printStats(res)
	return err
}

func printStats(res generate.Result) {
	rate := func(n int, d time.Duration) float64 {
		if d <= 0 {
			return 0
		}
		return float64(n) / d.Seconds()
	}
	fmt.Fprintf(os.Stderr, "prompt: %d tokens, %.1f tokens/s; generation: %d tokens, %.1f tokens/s; peak RSS %s\n",
		res.PromptTokens, rate(res.PromptTokens, res.Prompt), len(res.Tokens), rate(len(res.Tokens), res.Decode), peakRSS())
}

// writeNpy writes a 1-D float32 NumPy array (format version 1.0).
func writeNpy(path string, v []float32) error {
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d,), }", len(v))
	pad := 64 - (10+len(header)+1)%64
	for i := 0; i < pad%64; i++ {
		header += " "
	}
	header += "\n"
	buf := []byte("\x93NUMPY\x01\x00")
	buf = binary.LittleEndian.AppendUint16(buf, uint16(len(header)))
	buf = append(buf, header...)
	for _, x := range v {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
	}
	return os.WriteFile(path, buf, 0o644)
}
