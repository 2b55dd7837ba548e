package gemma3

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/zerfoo/zerfoo/gguf"
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
	Layers  int // decoder blocks (gemma3.block_count)
	Hidden  int // model width H (gemma3.embedding_length)
	FFN     int // gate/up width (gemma3.feed_forward_length)
	Heads   int // query heads (gemma3.attention.head_count)
	KVHeads int // key/value heads (gemma3.attention.head_count_kv)
	HeadDim int // key and value width per head (gemma3.attention.key_length)
	Vocab   int // embedding rows
	Context int // maximum positions (gemma3.context_length)
	Window  int // keys visible to a local layer, the current one included (gemma3.attention.sliding_window)
	// Period spaces the global layers: layer i is global iff (i+1) %
	// Period == 0 (6 for Gemma 3); 1 makes every layer global and 0 every
	// layer local, as llama.cpp reads gemma3.attention.sliding_window_pattern.
	Period     int
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
	// Softcap, if not 0, soft-caps the logits: each becomes
	// Softcap·tanh(logit/Softcap) (gemma3.final_logit_softcapping, which
	// Gemma 3's own checkpoints leave out; llama.cpp applies it when set).
	Softcap float32
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
func (c *Config) Global(i int) bool { return c.Period == 1 || c.Period > 1 && (i+1)%c.Period == 0 }

// QDim returns Heads·HeadDim, the width of the query projection.
func (c *Config) QDim() int { return c.Heads * c.HeadDim }

// KVDim returns KVHeads·HeadDim, the width of the key and value projections.
func (c *Config) KVDim() int { return c.KVHeads * c.HeadDim }

// Bounds on the Config fields, documented maxima that Validate and
// FromMetadata enforce. They are far above any released Gemma 3 (the 27B
// has 62 layers, width 5376, FFN 21504 and 32 heads of 128; every size has
// a 262144-token vocabulary and at most 131072 positions) yet small enough
// that every size computed from them — QDim and KVDim (at most 2²⁰), a
// cache of Context × KVDim values (2⁴⁰), a scratch row of Batch × FFN —
// fits an int64, so that no value from a file can overflow the arithmetic
// that sizes the model's buffers. Memory is bounded separately, by the
// budget (LoadOptions.Budget, StateOptions.Budget).
const (
	MaxContext = 1 << 20 // positions (Context) and window (Window)
	MaxLayers  = 1 << 10 // decoder blocks; also the largest Period
	MaxHidden  = 1 << 16 // model width
	MaxFFN     = 1 << 18 // gate/up width
	MaxHeads   = 1 << 10 // query heads and KV heads, each
	MaxHeadDim = 1 << 10 // width per head
	MaxVocab   = 1 << 22 // embedding rows (token ids stay far inside int32)
)

// Validate checks that every field is in range: the sizes between 1 and
// their Max constant, Heads a multiple of KVHeads, HeadDim even, Window at
// most Context, Period ≥ 0, the floats finite, positive and (those used
// as float32) within float32 range, and Softcap 0 or such a float. The
// error wraps ErrConfig and names the field and its value.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("gemma3: "+format+": %w", append(args, ErrConfig)...)
	}
	for _, f := range []struct {
		name   string
		v, max int
	}{
		{"layer count", c.Layers, MaxLayers}, {"hidden size", c.Hidden, MaxHidden}, {"FFN size", c.FFN, MaxFFN},
		{"head count", c.Heads, MaxHeads}, {"KV head count", c.KVHeads, MaxHeads}, {"head dim", c.HeadDim, MaxHeadDim},
		{"vocabulary size", c.Vocab, MaxVocab}, {"context length", c.Context, MaxContext},
		{"sliding window", c.Window, c.Context},
	} {
		if f.v < 1 || f.v > f.max {
			return bad("%s %d is out of range [1, %d]", f.name, f.v, f.max)
		}
	}
	finite := func(x float64) bool { return x > 0 && x <= math.MaxFloat32 } // false for NaN and ±Inf
	switch {
	case c.Heads%c.KVHeads != 0:
		return bad("head count %d must be a multiple of kv head count %d", c.Heads, c.KVHeads)
	case c.HeadDim%2 != 0:
		return bad("head dim %d must be even", c.HeadDim)
	case c.Period < 0 || c.Period > MaxLayers:
		return bad("sliding window pattern %d is out of range [0, %d]", c.Period, MaxLayers)
	case !finite(float64(c.Eps)) || !finite(c.GlobalBase) || !finite(c.LocalBase) || !finite(c.GlobalScale):
		return bad("eps %g, rope bases %g/%g and scale %g must be finite and positive", c.Eps, c.GlobalBase, c.LocalBase, c.GlobalScale)
	case !finite(float64(c.QueryScale)) || !finite(float64(c.EmbedScale)):
		return bad("query scale %g and embedding scale %g must be finite and positive", c.QueryScale, c.EmbedScale)
	case c.Softcap != 0 && !finite(float64(c.Softcap)):
		return bad("logit soft-cap %g must be 0 (none) or finite and positive", c.Softcap)
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
// required key, or the key and value of the first integer that is out of
// its range (see the Max constants; an unsigned value too large for an
// int64 is out of range, not missing) or is not an integer.
//
// Optional keys default as in llama.cpp's gemma3 loader: head_count_kv =
// head_count; key_length 256 (Gemma 3's own: llama.cpp's Hidden/Heads fits
// no released Gemma 3's tensors, so it would refuse such a file); no
// sliding_window key (or 0) means every layer is global, else
// sliding_window_pattern 6 (0: every layer local; an array counts as
// absent); no final_logit_softcapping; rope.freq_base 1e6, local base
// 10000 (gemma3.rope.freq_base_swa overrides it); rope scaling factor 1
// (none; rope.scale_linear is read where rope.scaling.factor is absent).
// A partial rotary dimension, other head sizes on local layers or a RoPE
// attention factor other than 1, which llama.cpp would apply, are
// ErrConfig naming the key. A sliding window longer than the context is
// clamped to the context: no position could see further back anyway, so
// the model computes the same (llama.cpp's mask behaves the same way).
func FromMetadata(md Metadata, vocab int) (Config, error) {
	arch, _ := md.String("general.architecture")
	if arch != "gemma3" {
		return Config{}, fmt.Errorf("gemma3: architecture %q is not supported (supported: %s): %w",
			arch, strings.Join(Architectures, ", "), ErrArchitecture)
	}
	var c Config
	for _, r := range []struct {
		key string
		dst *int
		max int
	}{
		{"gemma3.block_count", &c.Layers, MaxLayers},
		{"gemma3.embedding_length", &c.Hidden, MaxHidden},
		{"gemma3.feed_forward_length", &c.FFN, MaxFFN},
		{"gemma3.attention.head_count", &c.Heads, MaxHeads},
		{"gemma3.context_length", &c.Context, MaxContext},
	} {
		ok, err := intKey(md, r.key, 1, r.max, r.dst)
		if err != nil {
			return Config{}, err
		}
		if !ok {
			return Config{}, fmt.Errorf("gemma3: metadata key %s is missing: %w", r.key, ErrConfig)
		}
	}
	eps, ok, err := floatKey(md, "gemma3.attention.layer_norm_rms_epsilon")
	if err != nil {
		return Config{}, err
	}
	if !ok {
		return Config{}, fmt.Errorf("gemma3: metadata key gemma3.attention.layer_norm_rms_epsilon is missing: %w", ErrConfig)
	}
	c.Eps = float32(eps)
	c.KVHeads, c.HeadDim, c.Period = c.Heads, 256, 6
	vd := -1
	for _, r := range []struct {
		key      string
		dst      *int
		min, max int
	}{
		{"gemma3.attention.head_count_kv", &c.KVHeads, 1, MaxHeads},
		{"gemma3.attention.key_length", &c.HeadDim, 1, MaxHeadDim},
		{"gemma3.attention.value_length", &vd, 1, MaxHeadDim},
		{"gemma3.attention.sliding_window_pattern", &c.Period, 0, MaxLayers},
		{"gemma3.attention.sliding_window", &c.Window, 0, MaxContext},
	} {
		if r.key == "gemma3.attention.sliding_window_pattern" && isArray(md, r.key) {
			continue // llama.cpp's gemma3 loader reads only a number there
		}
		if _, err := intKey(md, r.key, r.min, r.max, r.dst); err != nil {
			return Config{}, err
		}
	}
	if vd >= 0 && vd != c.HeadDim {
		return Config{}, fmt.Errorf("gemma3: value_length %d differs from key_length %d: %w", vd, c.HeadDim, ErrConfig)
	}
	if c.Window == 0 { // llama.cpp: no window key means every layer is global
		c.Window, c.Period = c.Context, 1
	}
	c.Window = min(c.Window, c.Context)
	c.GlobalBase, c.LocalBase = 1e6, 1e4
	for _, r := range []struct {
		key string
		dst *float64
	}{{"gemma3.rope.freq_base", &c.GlobalBase}, {"gemma3.rope.freq_base_swa", &c.LocalBase}} {
		v, ok, err := floatKey(md, r.key)
		if err != nil {
			return Config{}, err
		}
		if ok {
			*r.dst = v
		}
	}
	c.GlobalScale = 1
	if t, _ := md.String("gemma3.rope.scaling.type"); t == "" || t == "linear" || t == "none" {
		f, ok := md.Float("gemma3.rope.scaling.factor")
		if !ok { // llama.cpp's older key
			f, ok = md.Float("gemma3.rope.scale_linear")
		}
		if ok && f > 0 && t != "none" {
			c.GlobalScale = f
		}
	} else {
		return Config{}, fmt.Errorf("gemma3: rope scaling type %q is not supported (linear only): %w", t, ErrConfig)
	}
	// Keys llama.cpp reads whose other values change the computation in
	// ways this package does not implement: partial rotary embeddings,
	// other head sizes on the local layers, RoPE's attention factor.
	for _, k := range []struct {
		key  string
		want float64
	}{
		{"gemma3.rope.dimension_count", float64(c.HeadDim)},
		{"gemma3.rope.dimension_count_swa", float64(c.HeadDim)},
		{"gemma3.attention.key_length_swa", float64(c.HeadDim)},
		{"gemma3.attention.value_length_swa", float64(c.HeadDim)},
		{"gemma3.rope.scaling.attn_factor", 1},
	} {
		v, ok, err := floatKey(md, k.key)
		if err != nil {
			return Config{}, err
		}
		if ok && v != k.want {
			return Config{}, fmt.Errorf("gemma3: metadata key %s = %g is not supported (only %g): %w", k.key, v, k.want, ErrConfig)
		}
	}
	// llama.cpp applies any nonzero cap; c·tanh(x/c) is the same for −c.
	if v, ok, err := floatKey(md, "gemma3.final_logit_softcapping"); err != nil {
		return Config{}, err
	} else if ok {
		c.Softcap = float32(math.Abs(v))
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

// valuer is implemented by Metadata that can also return the raw GGUF
// value of a key (the adapter Load uses), for exact error messages.
type valuer interface {
	Value(key string) (gguf.Value, bool)
}

// intKey reads key as an integer in [lo, hi] into *dst and reports whether
// the key is present. A present value that is out of range (an unsigned
// value beyond int64 included) or not an integer is an error naming the
// key and the value; *dst is left as it was for an absent key.
func intKey(md Metadata, key string, lo, hi int, dst *int) (bool, error) {
	outOfRange := func(v string) error {
		return fmt.Errorf("gemma3: metadata key %s = %s is out of range [%d, %d]: %w", key, v, lo, hi, ErrConfig)
	}
	if v, ok := md.Int(key); ok {
		if v < int64(lo) || v > int64(hi) {
			return true, outOfRange(strconv.FormatInt(v, 10))
		}
		*dst = int(v)
		return true, nil
	}
	if vm, ok := md.(valuer); ok {
		v, ok := vm.Value(key)
		if !ok {
			return false, nil
		}
		if u, ok := v.Uint(); ok { // beyond int64
			return true, outOfRange(strconv.FormatUint(u, 10))
		}
		return true, fmt.Errorf("gemma3: metadata key %s is %s %s, want an integer: %w", key, v.Type, short(v.String()), ErrConfig)
	}
	if f, ok := md.Float(key); ok {
		if f == math.Trunc(f) && math.Abs(f) >= 1<<63 {
			return true, outOfRange(strconv.FormatFloat(f, 'g', -1, 64))
		}
		return true, fmt.Errorf("gemma3: metadata key %s is %g, want an integer: %w", key, f, ErrConfig)
	}
	if s, ok := md.String(key); ok {
		return true, fmt.Errorf("gemma3: metadata key %s is the string %s, want an integer: %w", key, short(strconv.Quote(s)), ErrConfig)
	}
	return false, nil
}

// isArray reports whether md holds key as a GGUF array.
func isArray(md Metadata, key string) bool {
	vm, ok := md.(valuer)
	if !ok {
		return false
	}
	v, ok := vm.Value(key)
	return ok && v.Type == gguf.TypeArray
}

// floatKey reads key as a number and reports whether it is present; a
// present value that is not a number is an error naming the key.
func floatKey(md Metadata, key string) (float64, bool, error) {
	if f, ok := md.Float(key); ok {
		return f, true, nil
	}
	desc := ""
	if vm, ok := md.(valuer); ok {
		if v, ok := vm.Value(key); ok {
			desc = v.Type.String() + " " + short(v.String())
		}
	} else if s, ok := md.String(key); ok {
		desc = "the string " + short(strconv.Quote(s))
	}
	if desc == "" {
		return 0, false, nil
	}
	return 0, true, fmt.Errorf("gemma3: metadata key %s is %s, want a number: %w", key, desc, ErrConfig)
}

// short cuts a value's description for an error message.
func short(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
