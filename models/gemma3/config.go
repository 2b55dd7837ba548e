package gemma3

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// ErrConfig is wrapped by every error about missing or inconsistent model
// metadata or weights.
var ErrConfig = errors.New("gemma3: bad model configuration")

// ErrArchitecture is wrapped by the error for a GGUF file whose
// general.architecture is not one this package runs.
var ErrArchitecture = errors.New("gemma3: unsupported architecture")

// Architectures lists the general.architecture values this package loads.
var Architectures = []string{"gemma3"}

// Config holds the hyper-parameters of a Gemma 3 text decoder. The zero
// value is not usable; build one with Preset or FromMetadata, or fill every
// field and call Validate.
type Config struct {
	Layers     int // decoder blocks (gemma3.block_count)
	Hidden     int // model width H (gemma3.embedding_length)
	FFN        int // gate/up width (gemma3.feed_forward_length)
	Heads      int // query heads (gemma3.attention.head_count)
	KVHeads    int // key/value heads (gemma3.attention.head_count_kv)
	HeadDim    int // key and value width per head (gemma3.attention.key_length)
	Vocab      int // embedding rows
	Context    int // maximum positions (gemma3.context_length)
	Window     int // keys visible to a local layer, the current one included (gemma3.attention.sliding_window)
	Period     int // layer i is global iff (i+1) % Period == 0 (6 for Gemma 3)
	Eps        float32
	GlobalBase float64 // RoPE base of global layers (gemma3.rope.freq_base)
	LocalBase  float64 // RoPE base of local layers (10000)
	// GlobalScale is the linear RoPE scaling factor of global layers
	// (positions are divided by it); 1 means none. Local layers are never
	// scaled.
	GlobalScale float64
	// QueryScale multiplies q before q·k (query_pre_attn_scalar^−½).
	QueryScale float32
	// EmbedScale multiplies the embedding rows; llama.cpp uses the exact
	// float32 √Hidden and so does this package (HF rounds it to bf16).
	EmbedScale float32
}

// Preset returns the configuration of a released Gemma 3 text checkpoint:
// "270m", "1b", "4b", "12b" or "27b".
func Preset(name string) (Config, error) {
	p, ok := presets[strings.ToLower(name)]
	if !ok {
		return Config{}, fmt.Errorf("gemma3: unknown preset %q (have 270m, 1b, 4b, 12b, 27b): %w", name, ErrConfig)
	}
	c := Config{
		Layers: p.layers, Hidden: p.hidden, FFN: p.ffn, Heads: p.heads, KVHeads: p.kv, HeadDim: p.headDim,
		Vocab: 262144, Context: p.ctx, Window: p.window, Period: 6, Eps: 1e-6,
		GlobalBase: 1e6, LocalBase: 1e4, GlobalScale: p.scale,
	}
	c.QueryScale = float32(1 / math.Sqrt(float64(p.headDim)))
	if name == "27b" {
		c.QueryScale = float32(1 / math.Sqrt(float64(p.hidden/p.heads)))
	}
	c.EmbedScale = float32(math.Sqrt(float64(c.Hidden)))
	return c, nil
}

type preset struct {
	layers, hidden, ffn, heads, kv, headDim, window, ctx int
	scale                                                float64
}

var presets = map[string]preset{
	"270m": {18, 640, 2048, 4, 1, 256, 512, 32768, 1},
	"1b":   {26, 1152, 6912, 4, 1, 256, 512, 32768, 1},
	"4b":   {34, 2560, 10240, 8, 4, 256, 1024, 131072, 8},
	"12b":  {48, 3840, 15360, 16, 8, 256, 1024, 131072, 8},
	"27b":  {62, 5376, 21504, 32, 16, 128, 1024, 131072, 8},
}

// Global reports whether layer i attends to every earlier position (true)
// or only to the last Window ones.
func (c *Config) Global(i int) bool { return c.Period <= 1 || (i+1)%c.Period == 0 }

// QDim returns Heads·HeadDim, the width of the query projection.
func (c *Config) QDim() int { return c.Heads * c.HeadDim }

// KVDim returns KVHeads·HeadDim, the width of the key and value projections.
func (c *Config) KVDim() int { return c.KVHeads * c.HeadDim }

// Validate checks that every field is in range.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("gemma3: "+format+": %w", append(args, ErrConfig)...)
	}
	switch {
	case c.Layers <= 0 || c.Hidden <= 0 || c.FFN <= 0 || c.Vocab <= 0:
		return bad("layers %d, hidden %d, ffn %d and vocab %d must be positive", c.Layers, c.Hidden, c.FFN, c.Vocab)
	case c.Heads <= 0 || c.KVHeads <= 0 || c.Heads%c.KVHeads != 0:
		return bad("head count %d must be a positive multiple of kv head count %d", c.Heads, c.KVHeads)
	case c.HeadDim <= 0 || c.HeadDim%2 != 0:
		return bad("head dim %d must be positive and even", c.HeadDim)
	case c.Context <= 0 || c.Window <= 0:
		return bad("context length %d and sliding window %d must be positive", c.Context, c.Window)
	case !(c.Eps > 0) || !(c.GlobalBase > 0) || !(c.LocalBase > 0) || !(c.GlobalScale > 0):
		return bad("eps %g, rope bases %g/%g and scale %g must be positive", c.Eps, c.GlobalBase, c.LocalBase, c.GlobalScale)
	case !(c.QueryScale > 0) || !(c.EmbedScale > 0):
		return bad("query scale %g and embedding scale %g must be positive", c.QueryScale, c.EmbedScale)
	}
	return nil
}

// Metadata is the read side of a GGUF key/value table that FromMetadata
// needs. Int accepts any integer encoding, Float any float or integer.
type Metadata interface {
	String(key string) (string, bool)
	Int(key string) (int64, bool)
	Float(key string) (float64, bool)
}

// FromMetadata builds a Config from GGUF metadata (llama.cpp's gemma3 keys)
// and the number of embedding rows. It fails with ErrArchitecture for a
// file that is not Gemma 3 and with ErrConfig naming the first missing
// required key. Optional keys default as in llama.cpp's gemma3 loader:
// head_count_kv = head_count, key_length 256, no sliding_window key means
// every layer is global, rope.freq_base 1e6, local base 10000
// (gemma3.rope.freq_base_swa overrides it), rope scaling factor 1 (none).
func FromMetadata(md Metadata, vocab int) (Config, error) {
	arch, _ := md.String("general.architecture")
	if arch != "gemma3" {
		return Config{}, fmt.Errorf("gemma3: architecture %q is not supported (supported: %s): %w",
			arch, strings.Join(Architectures, ", "), ErrArchitecture)
	}
	var c Config
	req := []struct {
		key string
		dst *int
	}{
		{"gemma3.block_count", &c.Layers},
		{"gemma3.embedding_length", &c.Hidden},
		{"gemma3.feed_forward_length", &c.FFN},
		{"gemma3.attention.head_count", &c.Heads},
		{"gemma3.context_length", &c.Context},
	}
	for _, r := range req {
		v, ok := md.Int(r.key)
		if !ok {
			return Config{}, fmt.Errorf("gemma3: metadata key %s is missing: %w", r.key, ErrConfig)
		}
		*r.dst = int(v)
	}
	eps, ok := md.Float("gemma3.attention.layer_norm_rms_epsilon")
	if !ok {
		return Config{}, fmt.Errorf("gemma3: metadata key gemma3.attention.layer_norm_rms_epsilon is missing: %w", ErrConfig)
	}
	c.Eps = float32(eps)
	intOr := func(key string, def int) int {
		if v, ok := md.Int(key); ok {
			return int(v)
		}
		return def
	}
	floatOr := func(key string, def float64) float64 {
		if v, ok := md.Float(key); ok {
			return v
		}
		return def
	}
	c.KVHeads = intOr("gemma3.attention.head_count_kv", c.Heads)
	c.HeadDim = intOr("gemma3.attention.key_length", 256)
	if vd := intOr("gemma3.attention.value_length", c.HeadDim); vd != c.HeadDim {
		return Config{}, fmt.Errorf("gemma3: value_length %d differs from key_length %d: %w", vd, c.HeadDim, ErrConfig)
	}
	c.Period = intOr("gemma3.attention.sliding_window_pattern", 6)
	c.Window = intOr("gemma3.attention.sliding_window", 0)
	if c.Window <= 0 { // llama.cpp: no window key means every layer is global
		c.Window, c.Period = c.Context, 1
	}
	c.GlobalBase = floatOr("gemma3.rope.freq_base", 1e6)
	c.LocalBase = floatOr("gemma3.rope.freq_base_swa", 1e4)
	c.GlobalScale = 1
	if t, _ := md.String("gemma3.rope.scaling.type"); t == "" || t == "linear" || t == "none" {
		if f, ok := md.Float("gemma3.rope.scaling.factor"); ok && f > 0 && t != "none" {
			c.GlobalScale = f
		}
	} else {
		return Config{}, fmt.Errorf("gemma3: rope scaling type %q is not supported (linear only): %w", t, ErrConfig)
	}
	c.Vocab = vocab
	// llama.cpp: f_attention_scale = 1/sqrt(n_embd/n_head) for the 27B
	// (62 layers), 1/sqrt(head_dim) otherwise.
	qpa := float64(c.HeadDim)
	if c.Layers == 62 && c.Heads > 0 {
		qpa = float64(c.Hidden / c.Heads)
	}
	c.QueryScale = float32(1 / math.Sqrt(qpa))
	c.EmbedScale = float32(math.Sqrt(float64(c.Hidden)))
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}
