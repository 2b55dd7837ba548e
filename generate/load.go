package generate

import (
	"context"
	"fmt"
	"slices"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/hf"
	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tokenizer"
)

// LoadOption tunes Load.
type LoadOption func(*loadConfig)

type loadConfig struct {
	threads  int
	progress func(done, total int64)
	notice   func(msg string)
	budget   budget.Limit
	exact    bool
	mapped   bool
	speed    bool
}

// WithThreads bounds the kernels' parallelism of every generation and
// session of the model whose Options.Threads is 0 (n = 0: the whole worker
// pool). The pool itself has GOMAXPROCS workers, fixed at its first use;
// loading uses all of them. Load reports a negative n as an error wrapping
// ErrOptions.
func WithThreads(n int) LoadOption { return func(c *loadConfig) { c.threads = n } }

// WithProgress makes Load call fn after each tensor with the bytes of
// tensor data converted so far and the total. fn is called on one
// goroutine at a time and never after Load has returned.
func WithProgress(fn func(done, total int64)) LoadOption {
	return func(c *loadConfig) { c.progress = fn }
}

// WithNotice makes Load pass one-line messages about ignored content (for
// example a vision tower's tensors) to fn, never after Load has returned.
func WithNotice(fn func(msg string)) LoadOption { return func(c *loadConfig) { c.notice = fn } }

// WithBudget sets the memory budget that the file's header, the converted
// weights (gemma3.LoadOptions.Budget) and the KV cache of each of the
// model's generations and sessions are checked against before they are
// allocated (0, the default: budget.Default()). Going over it is an error
// wrapping budget.ErrExceeded.
func WithBudget(l budget.Limit) LoadOption { return func(c *loadConfig) { c.budget = l } }

// WithMapped reads F16, BF16 and F32 matrices in place from the
// memory-mapped file instead of copying them (gemma3.LoadOptions.Mapped).
func WithMapped(mapped bool) LoadOption { return func(c *loadConfig) { c.mapped = mapped } }

// WithPreferSpeed holds IQ2_S, IQ3_S, IQ1_S and IQ1_M matrices in their
// faster form where the CPU would keep their grid indices: decode 1.2–2×
// faster at 1.2–1.8× the memory (gemma3.LoadOptions.PreferSpeed).
func WithPreferSpeed(speed bool) LoadOption { return func(c *loadConfig) { c.speed = speed } }

// WithExact keeps every quantized matrix in its file layout and runs it
// through the scalar llama.cpp-exact reference kernels (slow; for
// conformance checks): gemma3.LoadOptions.Exact.
func WithExact(exact bool) LoadOption { return func(c *loadConfig) { c.exact = exact } }

// Load opens a Gemma 3 model and builds it with its tokenizer. path is
//
//   - a GGUF file;
//   - an onnxruntime-genai export folder (a directory with
//     genai_config.json: see hf.OpenGenAI), whose decoder ONNX file is
//     read by gemma3.FromONNX (either builder's layout; weights copied,
//     the file closed before Load returns), with the folder's
//     tokenizer.json and chat template, model.eos_token_id among the stop
//     tokens and the search object's sampling (SamplingConfig);
//   - or a Hugging Face checkpoint folder (a directory with config.json:
//     see hf.Open), whose safetensors are memory-mapped and run as they
//     are — BF16, F16 and F32 matrices read in place, only the norm
//     weights converted (hf.Folder.View) — with the folder's
//     tokenizer.json and chat template, generation_config.json's
//     eos_token_id among the stop tokens and its sampling keys
//     (SamplingConfig).
//
// A folder with both configuration files is taken as an onnxruntime-genai
// export. Close the model to release the mappings.
//
// Load stops when ctx is done: the conversion checks it before each
// tensor, and Load then returns an error wrapping ctx.Err() with nothing
// left open.
func Load(ctx context.Context, path string, opts ...LoadOption) (*Model, error) {
	var c loadConfig
	for _, o := range opts {
		o(&c)
	}
	if c.threads < 0 {
		return nil, fmt.Errorf("generate: threads %d must be ≥ 0: %w", c.threads, ErrOptions)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if hf.IsGenAIFolder(path) {
		return loadGenAI(ctx, path, c)
	}
	var f *gguf.File
	var eos []int32
	var doSample *bool
	if hf.IsFolder(path) {
		dir, err := hf.Open(path, hf.Options{Budget: c.budget, Notice: c.notice})
		if err != nil {
			return nil, err
		}
		if f, err = dir.View(); err != nil {
			dir.Close()
			return nil, err
		}
		eos = dir.EOS()
		if dir.Generation != nil {
			doSample = dir.Generation.DoSample
		}
	} else {
		var err error
		if f, err = gguf.Open(path, gguf.Options{Budget: c.budget}); err != nil {
			return nil, err
		}
	}
	lo := gemma3.LoadOptions{Exact: c.exact, Mapped: c.mapped, Budget: c.budget, Progress: c.progress, Notice: c.notice,
		PreferSpeed: c.speed}
	m, err := build(ctx, f, path, lo)
	if err != nil {
		f.Close()
		return nil, err
	}
	m.addStops(eos)
	m.threads = c.threads
	m.sampling = fromGGUF(f)
	m.sampling.DoSample = doSample
	return m, nil
}

// build converts the tensors of f and reads its tokenizer.
func build(ctx context.Context, f *gguf.File, path string, lo gemma3.LoadOptions) (*Model, error) {
	m, err := gemma3.FromFileContext(ctx, f, lo)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("generate: %s: %w", path, err)
	}
	g := &Model{Model: m, Tokenizer: tok, file: f}
	if v, ok := f.Lookup(tokenizer.KeyChatTemplate); ok {
		g.ChatTemplate, _ = v.V.(string)
	}
	g.addStops(nil)
	return g, nil
}

// addStops makes the vocabulary's EOS, <end_of_turn> and the ids in eos
// that lie inside the model's vocabulary stop tokens, each once.
func (m *Model) addStops(eos []int32) {
	v := m.Tokenizer.Vocab()
	if v.EOS >= 0 {
		eos = append([]int32{v.EOS}, eos...)
	}
	for i, p := range v.Tokens {
		if p == "<end_of_turn>" {
			eos = append(eos, int32(i))
		}
	}
	for _, id := range eos {
		if id >= 0 && int(id) < m.Model.Config.Vocab && !slices.Contains(m.stops, id) {
			m.stops = append(m.stops, id)
		}
	}
}

// Close releases the file mapping.
func (m *Model) Close() error {
	if m.file == nil {
		return nil
	}
	err := m.file.Close()
	m.file = nil
	return err
}

// newState allocates a State of maxLen positions (at most the model's
// context) within the model's budget.
func (m *Model) newState(maxLen, threads int) (*gemma3.State, error) {
	if threads == 0 {
		threads = m.threads
	}
	st := m.Model.NewState(gemma3.StateOptions{MaxLen: maxLen, Threads: threads})
	if err := st.Err(); err != nil {
		return nil, err
	}
	return st, nil
}

// loadGenAI loads an onnxruntime-genai export folder: genai_config.json,
// its decoder (gemma3.FromONNX, which copies the weights, so the ONNX
// model is closed before returning) and its tokenizer files.
func loadGenAI(ctx context.Context, dir string, c loadConfig) (*Model, error) {
	g, err := hf.OpenGenAI(dir, hf.Options{Budget: c.budget, Notice: c.notice})
	if err != nil {
		return nil, err
	}
	om, err := onnx.Load(g.Decoder)
	if err != nil {
		return nil, err
	}
	defer om.Close()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	gm, err := gemma3.FromONNX(om, gemma3.LoadOptions{Budget: c.budget, Notice: c.notice})
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, g.Decoder)
	}
	v := g.Tokenizer.Vocab
	if n := gm.Config.Vocab; len(v.Tokens) != n {
		if g.VocabSize != 0 {
			return nil, fmt.Errorf("generate: %s: genai_config.json's vocab_size %d is not the decoder's %d: %w", dir, g.VocabSize, n, hf.ErrConfig)
		}
		hf.FitVocab(&v, n) // to the decoder, as to a config.json vocab_size
	}
	tok, err := tokenizer.New(v)
	if err != nil {
		return nil, fmt.Errorf("generate: %s: %w", dir, err)
	}
	m := &Model{Model: gm, Tokenizer: tok, ChatTemplate: g.Tokenizer.ChatTemplate, threads: c.threads,
		sampling: fromGeneration(g.Generation)}
	m.addStops(g.Generation.EOS)
	return m, nil
}
