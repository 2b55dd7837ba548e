package hf

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/internal/mmap"
	"github.com/zerfoo/zerfoo/safetensors"
	"github.com/zerfoo/zerfoo/tokenizer"
)

// Options tunes Open.
type Options struct {
	// Budget bounds what opening allocates: the parsed config and
	// tokenizer files, the safetensors headers, the converted norm
	// weights (and a View's budget). The zero Budget means
	// budget.Default(). Weights stay in the safetensors mappings.
	Budget budget.Limit
	// Notice, if set, receives one-line messages about content left out
	// or values the GGUF form cannot hold (a vision tower, a
	// query_pre_attn_scalar llama.cpp does not derive).
	Notice func(msg string)
}

// Folder is an open Hugging Face Gemma 3 checkpoint folder: its
// configuration, tokenizer and memory-mapped weights, checked against each
// other. Close releases the mappings.
type Folder struct {
	Dir    string
	Config *Config
	// Generation is generation_config.json; nil when the folder has none.
	Generation *Generation
	// Tokenizer is tokenizer.json with tokenizer_config.json, as
	// tokenizer.ParseHF converts them, cut or padded with unused [PADi]
	// tokens to config.json's vocab_size as convert_hf_to_gguf.py does.
	Tokenizer  *tokenizer.HF
	Checkpoint *safetensors.Checkpoint
	// Skipped lists the tensors left out: a vision tower and its
	// projector (Gemma3ForConditionalGeneration).
	Skipped []string

	tensors []tensor
	opt     Options
}

// IsFolder reports whether path is a directory holding a config.json: a
// folder for Open rather than a model file.
func IsFolder(path string) bool {
	fi, err := os.Stat(path)
	if err != nil || !fi.IsDir() {
		return false
	}
	fi, err = os.Stat(filepath.Join(path, ConfigFile))
	return err == nil && fi.Mode().IsRegular()
}

// maxTokenizerFile bounds tokenizer.json (Gemma 3's is 33 MB).
const maxTokenizerFile = 1 << 30

// jsonCost is the most the parsed form of a JSON file takes per byte; the
// budget is checked for this multiple of a file's size before reading it.
const jsonCost = 8

// Open opens the Gemma 3 checkpoint in the folder dir: config.json (see
// ParseConfig), generation_config.json when present, tokenizer.json and
// tokenizer_config.json (see tokenizer.ParseHF), and the weights —
// model.safetensors or the shards model.safetensors.index.json names,
// memory-mapped (see safetensors.OpenDir).
//
// Every tensor is checked: its name must be one of the Gemma 3 text
// decoder (vision tower and projector tensors are left out, with a
// notice), its shape the one config.json implies, its dtype F32, F16, BF16
// or F64, and no decoder tensor may be missing. Errors are one line naming
// the file (and the tensor); a missing shard, a truncated or malformed
// safetensors file and a wrong shape wrap safetensors' errors or
// ErrConfig, an unknown architecture ErrArchitecture.
func Open(dir string, opts ...Options) (*Folder, error) {
	var o Options
	if len(opts) > 0 {
		o = opts[len(opts)-1]
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("hf: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("hf: %s is not a folder: %w", dir, ErrConfig)
	}
	f := &Folder{Dir: dir, opt: o}
	raw, err := readFile(filepath.Join(dir, ConfigFile), maxJSON, o.Budget)
	if err != nil {
		return nil, err
	}
	if f.Config, err = parseConfig(raw, filepath.Join(dir, ConfigFile)); err != nil {
		return nil, err
	}
	if raw, err = readFile(filepath.Join(dir, GenerationFile), maxJSON, o.Budget); err == nil {
		if f.Generation, err = parseGeneration(raw, filepath.Join(dir, GenerationFile)); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if f.Tokenizer, err = readTokenizer(dir, f.Config.VocabSize, o); err != nil {
		return nil, err
	}
	if f.Checkpoint, err = safetensors.OpenDir(dir, safetensors.Options{Budget: o.Budget}); err != nil {
		return nil, fmt.Errorf("hf: %w", err)
	}
	if f.tensors, f.Skipped, err = plan(dir, f.Checkpoint, f.Config); err != nil {
		f.Checkpoint.Close()
		return nil, err
	}
	f.notices()
	return f, nil
}

// notices reports what the GGUF form leaves out or cannot say.
func (f *Folder) notices() {
	if f.opt.Notice == nil {
		return
	}
	if n := len(f.Skipped); n > 0 {
		f.opt.Notice(fmt.Sprintf("hf: %s: leaving out %d vision tower and projector tensors (text decoder only)", f.Dir, n))
	}
	c := f.Config
	// llama.cpp (and models/gemma3) scale queries by 1/√head_dim, or
	// 1/√(hidden/heads) for the 62-layer 27B; GGUF has no key for
	// query_pre_attn_scalar.
	derived := float64(c.HeadDim)
	if c.Layers == 62 {
		derived = float64(c.Hidden / c.Heads)
	}
	if c.QueryPreAttnScalar != derived {
		f.opt.Notice(fmt.Sprintf("hf: %s: query_pre_attn_scalar %g differs from the %g llama.cpp derives from the shapes; GGUF cannot hold it, so the model runs (as in llama.cpp) with %g", filepath.Join(f.Dir, ConfigFile), c.QueryPreAttnScalar, derived, derived))
	}
}

// Close releases the weights' mappings. Tensor data (and Files from View)
// must not be used afterwards.
func (f *Folder) Close() error {
	if f.Checkpoint == nil {
		return nil
	}
	err := f.Checkpoint.Close()
	f.Checkpoint = nil
	return err
}

// EOS returns the ids that end a generation: generation_config.json's
// eos_token_id, else config.json's, each at most once and inside the
// vocabulary.
func (f *Folder) EOS() []int32 {
	ids := f.Config.EOS
	if f.Generation != nil && len(f.Generation.EOS) > 0 {
		ids = f.Generation.EOS
	}
	var out []int32
	for _, id := range ids {
		if int(id) < f.Config.VocabSize && !contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func contains(s []int32, x int32) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// readFile reads a regular file of at most max bytes after checking
// jsonCost times its size against the budget.
func readFile(path string, max int64, limit budget.Limit) ([]byte, error) {
	fh, err := mmap.OpenRegular(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("hf: %s is missing: %w", path, err)
		}
		return nil, fmt.Errorf("hf: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("hf: %w", err)
	}
	if st.Size() > max {
		return nil, fmt.Errorf("hf: %s: %d bytes is over the %d-byte limit: %w", path, st.Size(), max, ErrConfig)
	}
	if err := limit.Check(path+" ("+strconv.FormatInt(st.Size(), 10)+" bytes) parsed", st.Size()*jsonCost); err != nil {
		return nil, fmt.Errorf("hf: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(fh, max+1))
	if err != nil {
		return nil, fmt.Errorf("hf: %w", err)
	}
	return data, nil
}

// readTokenizer reads the tokenizer files and fits the vocabulary to n
// tokens (n > 0).
func readTokenizer(dir string, n int, o Options) (*tokenizer.HF, error) {
	tj, err := readFile(filepath.Join(dir, TokenizerFile), maxTokenizerFile, o.Budget)
	if err != nil {
		return nil, err
	}
	tc, err := readFile(filepath.Join(dir, TokenizerConfigFile), maxJSON, o.Budget)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	h, err := tokenizer.ParseHF(tj, tc)
	if err != nil {
		return nil, fmt.Errorf("hf: %s: %w", dir, err)
	}
	if n > 0 {
		FitVocab(&h.Vocab, n)
	}
	return h, nil
}

// FitVocab cuts v to n tokens or pads it with unused "[PADi]" tokens of
// score −10000, as convert_hf_to_gguf.py's _create_vocab_sentencepiece
// sizes the vocabulary to config.json's vocab_size; special ids that fall
// outside are dropped (-1), as its SpecialVocab drops them.
func FitVocab(v *tokenizer.Vocab, n int) {
	if len(v.Tokens) > n {
		v.Tokens, v.Scores, v.Types = v.Tokens[:n:n], v.Scores[:n:n], v.Types[:n:n]
	}
	for i := len(v.Tokens); i < n; i++ {
		v.Tokens = append(v.Tokens, "[PAD"+strconv.Itoa(i)+"]")
		v.Scores = append(v.Scores, -10000)
		v.Types = append(v.Types, tokenizer.Unused)
	}
	for _, id := range []*int32{&v.BOS, &v.EOS, &v.Unknown, &v.Padding} {
		if int(*id) >= n {
			*id = -1
		}
	}
}
