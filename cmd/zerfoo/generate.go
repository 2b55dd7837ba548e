package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"runtime"
	"time"

	"github.com/alecthomas/kong"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/internal/defaultmodel"
	"github.com/zerfoo/zerfoo/models/gemma3"
)

type generateCmd struct {
	Model         string   `help:"GGUF model file (Gemma 3); default: the built-in tiny model trained by Zerfoo on the Go documentation."`
	Prompt        string   `required:"" help:"Prompt text; - reads it from stdin."`
	Chat          bool     `help:"Wrap the prompt in the Gemma chat template."`
	MaxTokens     int      `default:"256" help:"Most tokens to generate (0: until the end of the turn or a full context)."`
	CtxSize       int      `default:"4096" help:"Most tokens, prompt plus generated, kept in the KV cache (0: the model's context)."`
	Stop          []string `sep:"none" help:"Stop when the text contains this string (not printed); repeat for several."`
	Temperature   float64  `default:"0" help:"Sampling temperature (0: greedy)."`
	TopK          int      `default:"40" help:"Top-k cut (0: off)."`
	TopP          float64  `default:"0.95" help:"Top-p (nucleus) cut, in (0, 1] (1: off)."`
	MinP          float64  `default:"0.05" help:"Min-p cut (0: off)."`
	RepeatPenalty float64  `default:"1" help:"Repetition penalty over the last 64 tokens (1: off)."`
	Seed          uint64   `default:"0" help:"Sampling seed."`
	Threads       int      `default:"0" help:"Worker threads (0: all cores)."`
	DumpLogits    string   `type:"path" help:"Write the float32 logits of the last prompt position to this .npy file and exit."`
	Exact         bool     `help:"Use the scalar llama.cpp-exact reference kernels (slow)."`
	weightFlags   `embed:""`
}

// Validate checks the flags before anything is loaded.
func (g *generateCmd) Validate() error {
	var c checks
	c.sampling(g.Temperature, g.TopK, g.TopP, g.MinP, g.RepeatPenalty)
	c.atLeast("--max-tokens", g.MaxTokens, 0, " (0: until the end of the turn or a full context)")
	c.atLeast("--ctx-size", g.CtxSize, 0, " (0: the model's context)")
	c.atLeast("--threads", g.Threads, 0, " (0: all cores)")
	for _, s := range g.Stop {
		c.check(s != "", "--stop", `""`, "must not be empty")
	}
	c.model("--model", g.Model)
	return c.err
}

func (g *generateCmd) options() generate.Options {
	return generate.Options{
		Sampling: generate.Sampling{Temperature: g.Temperature, TopK: g.TopK, TopP: g.TopP, MinP: g.MinP,
			RepetitionPenalty: g.RepeatPenalty, Seed: g.Seed},
		MaxTokens: g.MaxTokens, MaxLen: g.CtxSize, Stop: g.Stop, Chat: g.Chat, Threads: g.Threads,
	}
}

// weightFlags are the flags that choose how a loaded model holds its
// weights (generate, chat and serve).
type weightFlags struct {
	Mmap        bool `help:"Read F16/BF16/F32 weights in place from the memory-mapped file (shared, but the OS may drop the pages under memory pressure) instead of copying them."`
	PreferSpeed bool `help:"Hold IQ2_S, IQ3_S, IQ1_S and IQ1_M weights (on AVX2 CPUs without AVX-512 VBMI also IQ2_XXS and IQ2_XS) in their faster form, table codes (decode 1.2–2× faster at 1.2–2.5× their memory), where the memory budget allows; by default they stay near the file's size."`
}

// options are the generate.Load options of the flags.
func (w weightFlags) options() []generate.LoadOption {
	return []generate.LoadOption{generate.WithMapped(w.Mmap), generate.WithPreferSpeed(w.PreferSpeed)}
}

// loadModel loads path (the built-in model when empty), reporting progress
// and notices on stderr.
func loadModel(ctx context.Context, s *streams, path string, threads int, exact bool, w weightFlags) (*generate.Model, error) {
	if path == "" {
		p, err := defaultmodel.Path()
		if err != nil {
			return nil, err
		}
		path = p
	}
	if threads > 0 {
		runtime.GOMAXPROCS(threads) // before the worker pool starts
	}
	bar := s.progress("loading", 0, true)
	opts := append(w.options(), generate.WithThreads(threads), generate.WithExact(exact),
		generate.WithNotice(func(msg string) { fmt.Fprintln(s.err, msg) }),
		generate.WithProgress(bar.set))
	m, err := generate.Load(ctx, path, opts...)
	bar.finish()
	return m, err
}

func (g *generateCmd) Run(ctx context.Context, k *kong.Context, s *streams) error {
	prompt, err := readText(s, g.Prompt)
	if err != nil {
		return err
	}
	m, err := loadModel(ctx, s, g.Model, g.Threads, g.Exact, g.weightFlags)
	if err != nil {
		return err
	}
	defer m.Close()
	if g.DumpLogits != "" {
		ids, err := m.Encode(prompt, g.Chat)
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
	opt := g.options()
	opt.Sampling = folderSampling(k, s, m, opt.Sampling)
	opt.OnText = func(p string) error { _, err := fmt.Fprint(s.out, p); return err }
	res, err := m.Run(ctx, prompt, opt)
	fmt.Fprintln(s.out)
	printStats(s, res)
	if res.Finish == generate.FinishContext {
		contextNotice(s, res.PromptTokens+len(res.Tokens)-1, m.Model.Config.Context, "--ctx-size")
	}
	return err
}

// contextNotice tells on stderr that generation stopped because the KV
// cache of n positions is full; flag raises n up to the model's context.
func contextNotice(s *streams, n, model int, flag string) {
	if n < model {
		fmt.Fprintf(s.err, "zerfoo: generation stopped: the context of %d tokens is full (%s raises it, up to the model's %d)\n", n, flag, model)
	} else {
		fmt.Fprintf(s.err, "zerfoo: generation stopped: the model's context of %d tokens is full\n", n)
	}
}

func printStats(s *streams, res generate.Result) {
	rate := func(n int, d time.Duration) float64 {
		if d <= 0 {
			return 0
		}
		return float64(n) / d.Seconds()
	}
	fmt.Fprintf(s.err, "prompt: %d tokens, %.1f tokens/s; generation: %d tokens, %.1f tokens/s; peak RSS %s\n",
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
