package hf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The files of a Hugging Face model folder that this package reads.
const (
	ConfigFile           = "config.json"
	GenerationFile       = "generation_config.json"
	TokenizerFile        = "tokenizer.json"
	TokenizerConfigFile  = "tokenizer_config.json"
	maxJSON              = 64 << 20 // config files; tokenizer.json may be larger
	defaultSlidingPeriod = 6        // Gemma 3's 5 local layers per global one
)

// ErrArchitecture is wrapped by the error for a config.json whose model is
// not one this package converts.
var ErrArchitecture = errors.New("hf: unsupported architecture")

// ErrConfig is wrapped by every error about a folder whose files are
// missing, malformed or inconsistent (config values, tensor names, shapes
// and types).
var ErrConfig = errors.New("hf: bad model folder")

// Architectures lists the config.json architectures this package converts.
var Architectures = []string{"Gemma3ForCausalLM", "Gemma3ForConditionalGeneration"}

// Config is the text decoder's configuration as config.json gives it,
// with transformers' Gemma3TextConfig defaults for the keys it leaves out.
// For Gemma3ForConditionalGeneration (Gemma 3 4B and larger, which adds a
// vision tower) the values are those of its text_config.
type Config struct {
	Architecture string // architectures[0], or derived from model_type
	// Multimodal is true for Gemma3ForConditionalGeneration: the text
	// decoder is converted and the vision tower left out.
	Multimodal bool

	VocabSize, Hidden, FFN, Layers, Heads, KVHeads, HeadDim int
	Context                                                 int // max_position_embeddings
	Eps                                                     float64

	RopeTheta      float64 // global layers (rope_theta)
	LocalRopeTheta float64 // local layers (rope_local_base_freq)
	// RopeScaling is "linear" when rope_scaling (or rope_parameters'
	// full_attention) asks for linear scaling of the global layers by
	// RopeFactor, else "".
	RopeScaling string
	RopeFactor  float64

	// SlidingWindow is the local layers' window and SlidingPeriod the
	// distance between global layers (layer i is global iff (i+1) %
	// SlidingPeriod == 0): sliding_window_pattern, or what layer_types
	// shows; 1 means every layer is global.
	SlidingWindow, SlidingPeriod int
	QueryPreAttnScalar           float64
	// FinalLogitSoftcap is final_logit_softcapping (0: none).
	FinalLogitSoftcap float64
	TieEmbeddings     bool
	// EOS lists config.json's eos_token_id (one id or a list).
	EOS []int32
}

// maxDim bounds every size read from config.json; the model loader has
// its own, tighter bounds.
const maxDim = 1 << 24

// ParseConfig reads config.json. It fails with an error wrapping
// ErrArchitecture for an architecture other than those in Architectures
// (naming it) and wrapping ErrConfig for malformed JSON or a value of the
// wrong type or out of range (naming the key). Features the Gemma 3
// decoder does not have — attention logit soft-capping, rope scaling other
// than linear, activations other than gelu_pytorch_tanh, attention bias —
// are errors too.
func ParseConfig(data []byte) (*Config, error) { return parseConfig(data, ConfigFile) }

// parseConfig is ParseConfig with the file's name (or path) for messages.
func parseConfig(data []byte, file string) (*Config, error) {
	cfgErr := fileErr(file)
	top, err := decodeObject(data)
	if err != nil {
		return nil, cfgErr("%s", err)
	}
	c := &Config{}
	var arch string
	if v, ok := top["architectures"]; ok && v != nil {
		list, ok := v.([]any)
		if !ok {
			return nil, cfgErr("architectures is %s, want a list of names", describe(v))
		}
		if len(list) > 0 {
			if arch, ok = list[0].(string); !ok {
				return nil, cfgErr("architectures[0] is %s, want a name", describe(list[0]))
			}
		}
	}
	modelType, _ := top["model_type"].(string)
	if arch == "" {
		switch modelType {
		case "gemma3_text":
			arch = "Gemma3ForCausalLM"
		case "gemma3":
			arch = "Gemma3ForConditionalGeneration"
		default:
			return nil, fmt.Errorf("hf: %s: no architectures and model_type %s: %w (supported: %s)", file, strconv.Quote(clip(modelType)), ErrArchitecture, strings.Join(Architectures, ", "))
		}
	}
	params := top
	switch arch {
	case "Gemma3ForCausalLM":
	case "Gemma3ForConditionalGeneration":
		tc, ok := top["text_config"].(map[string]any)
		if !ok {
			return nil, cfgErr("%s has no text_config object", arch)
		}
		params, c.Multimodal = tc, true
	default:
		return nil, fmt.Errorf("hf: %s: architecture %s: %w (supported: %s)", file, strconv.Quote(clip(arch)), ErrArchitecture, strings.Join(Architectures, ", "))
	}
	c.Architecture = arch
	if err := c.read(reader{params, "", cfgErr}); err != nil {
		return nil, err
	}
	// eos_token_id: the text config's, else the top level's.
	for _, m := range []map[string]any{params, top} {
		if v, ok := m["eos_token_id"]; ok && v != nil {
			if c.EOS, err = tokenIDs("eos_token_id", v); err != nil {
				return nil, cfgErr("%s", err)
			}
			break
		}
	}
	return c, nil
}

// read fills c from the text model's parameters.
func (c *Config) read(p reader) error {
	ints := []struct {
		key      string
		dst      *int
		def, min int
	}{
		{"vocab_size", &c.VocabSize, 262208, 1},
		{"hidden_size", &c.Hidden, 2304, 1},
		{"intermediate_size", &c.FFN, 9216, 1},
		{"num_hidden_layers", &c.Layers, 26, 1},
		{"num_attention_heads", &c.Heads, 8, 1},
		{"num_key_value_heads", &c.KVHeads, 4, 1},
		{"head_dim", &c.HeadDim, 256, 1},
		{"max_position_embeddings", &c.Context, 131072, 1},
		{"sliding_window", &c.SlidingWindow, 4096, 1},
	}
	for _, f := range ints {
		v, err := p.int(f.key, f.def, f.min)
		if err != nil {
			return err
		}
		*f.dst = v
	}
	floats := []struct {
		key string
		dst *float64
		def float64
	}{
		{"rms_norm_eps", &c.Eps, 1e-6},
		{"query_pre_attn_scalar", &c.QueryPreAttnScalar, 256},
	}
	for _, f := range floats {
		v, err := p.float(f.key, f.def)
		if err != nil {
			return err
		}
		*f.dst = v
	}
	if v, ok := p.m["attn_logit_softcapping"]; ok && v != nil {
		return p.fail("attn_logit_softcapping is %s: attention logit soft-capping is not part of Gemma 3", describe(v))
	}
	var err error
	if c.FinalLogitSoftcap, err = p.float("final_logit_softcapping", 0); err != nil {
		return err
	}
	for _, key := range []string{"hidden_activation", "hidden_act"} {
		if v, ok := p.m[key]; ok && v != nil {
			if s, _ := v.(string); s != "gelu_pytorch_tanh" {
				return p.fail("%s is %s: only gelu_pytorch_tanh (Gemma 3's) is supported", key, describe(v))
			}
		}
	}
	if v, ok := p.m["attention_bias"]; ok && v != nil && v != false {
		return p.fail("attention_bias is %s: Gemma 3 has no attention bias", describe(v))
	}
	c.TieEmbeddings = true
	if v, ok := p.m["tie_word_embeddings"]; ok && v != nil {
		b, ok := v.(bool)
		if !ok {
			return p.fail("tie_word_embeddings is %s, want true or false", describe(v))
		}
		c.TieEmbeddings = b
	}
	if err := c.readRope(p); err != nil {
		return err
	}
	return c.readPattern(p)
}

// readRope reads the RoPE settings as convert_hf_to_gguf.py does: the
// global base is rope_parameters.full_attention.rope_theta (transformers
// 5) or rope_theta, the local one rope_parameters.sliding_attention's or
// rope_local_base_freq, the scaling rope_parameters.full_attention or
// rope_scaling.
func (c *Config) readRope(p reader) error {
	var err error
	if c.RopeTheta, err = p.float("rope_theta", 1e6); err != nil {
		return err
	}
	if c.LocalRopeTheta, err = p.float("rope_local_base_freq", 1e4); err != nil {
		return err
	}
	var scaling reader
	if v, ok := p.m["rope_parameters"]; ok && v != nil {
		rp, ok := v.(map[string]any)
		if !ok {
			return p.fail("rope_parameters is %s, want an object", describe(v))
		}
		scaling = p.sub(rp, "rope_parameters.")
		if local, ok := rp["sliding_attention"].(map[string]any); ok {
			if c.LocalRopeTheta, err = p.sub(local, "rope_parameters.sliding_attention.").float("rope_theta", c.LocalRopeTheta); err != nil {
				return err
			}
		}
		if full, ok := rp["full_attention"].(map[string]any); ok {
			scaling = p.sub(full, "rope_parameters.full_attention.")
		}
		if c.RopeTheta, err = scaling.float("rope_theta", c.RopeTheta); err != nil {
			return err
		}
	} else if v, ok := p.m["rope_scaling"]; ok && v != nil {
		rs, ok := v.(map[string]any)
		if !ok {
			return p.fail("rope_scaling is %s, want an object or null", describe(v))
		}
		scaling = p.sub(rs, "rope_scaling.")
	}
	if scaling.m == nil {
		return nil
	}
	typ, _ := scaling.m["rope_type"].(string)
	if typ == "" {
		typ, _ = scaling.m["type"].(string)
	}
	switch typ {
	case "", "default":
		return nil
	case "linear":
		if f, ok := scaling.m["factor"]; ok && f != nil {
			x, err := scaling.float("factor", 1)
			if err != nil {
				return err
			}
			c.RopeScaling, c.RopeFactor = "linear", x
		}
		return nil
	}
	return p.fail("%srope_type %s is not supported (linear only)", scaling.prefix, strconv.Quote(clip(typ)))
}

// readPattern reads which layers are global: sliding_window_pattern, or
// layer_types (transformers ≥ 4.53), else every sixth.
func (c *Config) readPattern(p reader) error {
	c.SlidingPeriod = defaultSlidingPeriod
	for _, key := range []string{"sliding_window_pattern", "_sliding_window_pattern"} {
		if v, ok := p.m[key]; ok && v != nil {
			n, err := p.int(key, 0, 1)
			if err != nil {
				return err
			}
			c.SlidingPeriod = min(n, maxDim)
			break
		}
	}
	v, ok := p.m["layer_types"]
	if !ok || v == nil {
		return nil
	}
	list, ok := v.([]any)
	if !ok || len(list) != c.Layers {
		return p.fail("layer_types is %s, want a list of %d layer types", describe(v), c.Layers)
	}
	period := 0
	for i, t := range list {
		if s, _ := t.(string); s == "full_attention" {
			period = i + 1
			break
		}
	}
	if period == 0 {
		return p.fail("layer_types has no full_attention layer: a model of local layers only is not supported")
	}
	for i, t := range list {
		want := "sliding_attention"
		if (i+1)%period == 0 {
			want = "full_attention"
		}
		if s, _ := t.(string); s != want {
			return p.fail("layer_types[%d] is %s, want %q: only one global layer every %d (the pattern of the first) is supported", i, describe(t), want, period)
		}
	}
	c.SlidingPeriod = period
	return nil
}

// Generation is what generation_config.json says about how to sample.
// Absent values are nil.
type Generation struct {
	EOS               []int32 // eos_token_id (one id or a list)
	DoSample          *bool
	TopK              *int
	TopP, MinP        *float64
	Temperature       *float64
	RepetitionPenalty *float64
}

// ParseGeneration reads generation_config.json. Unknown keys are ignored;
// a known key of the wrong type is an error wrapping ErrConfig.
func ParseGeneration(data []byte) (*Generation, error) { return parseGeneration(data, GenerationFile) }

// parseGeneration is ParseGeneration with the file's name (or path) for
// messages.
func parseGeneration(data []byte, file string) (*Generation, error) {
	fail := fileErr(file)
	m, err := decodeObject(data)
	if err != nil {
		return nil, fail("%s", err)
	}
	return readGeneration(reader{m, "", fail})
}

// readGeneration reads the generation keys of an object (generation_config.json,
// or genai_config.json's search object).
func readGeneration(p reader) (*Generation, error) {
	m, fail := p.m, p.fail
	var err error
	g := &Generation{}
	if v, ok := m["eos_token_id"]; ok && v != nil {
		if g.EOS, err = tokenIDs("eos_token_id", v); err != nil {
			return nil, fail("%s", err)
		}
	}
	if v, ok := m["do_sample"]; ok && v != nil {
		b, ok := v.(bool)
		if !ok {
			return nil, fail("%sdo_sample is %s, want true or false", p.prefix, describe(v))
		}
		g.DoSample = &b
	}
	if v, ok := m["top_k"]; ok && v != nil {
		k, err := p.int("top_k", 0, 0)
		if err != nil {
			return nil, err
		}
		g.TopK = &k
	}
	for _, f := range []struct {
		key string
		dst **float64
	}{{"top_p", &g.TopP}, {"min_p", &g.MinP}, {"temperature", &g.Temperature}, {"repetition_penalty", &g.RepetitionPenalty}} {
		if v, ok := m[f.key]; ok && v != nil {
			x, err := p.float(f.key, 0)
			if err != nil {
				return nil, err
			}
			*f.dst = &x
		}
	}
	return g, nil
}

// fileErr returns a function making errors about file that wrap ErrConfig.
func fileErr(file string) func(format string, args ...any) error {
	return func(format string, args ...any) error {
		return fmt.Errorf("hf: %s: %s: %w", file, fmt.Sprintf(format, args...), ErrConfig)
	}
}

// reader reads typed values from a JSON object; prefix (such as
// "rope_parameters.") is put before key names in messages.
type reader struct {
	m      map[string]any
	prefix string
	fail   func(format string, args ...any) error
}

// sub returns a reader of a nested object.
func (p reader) sub(m map[string]any, prefix string) reader { return reader{m, prefix, p.fail} }

// decodeObject parses a JSON object, numbers as json.Number.
func decodeObject(data []byte) (map[string]any, error) {
	if len(data) > maxJSON {
		return nil, fmt.Errorf("%d bytes is over the %d-byte limit", len(data), maxJSON)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("bad JSON at byte %d: %v", se.Offset, err)
		}
		return nil, fmt.Errorf("not a JSON object: %s", clip(err.Error()))
	}
	if m == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	if dec.More() {
		return nil, fmt.Errorf("data after the JSON object")
	}
	return m, nil
}

// int returns the value of key as an integer in [min, maxDim], or def
// when the key is absent or null.
func (p reader) int(key string, def, min int) (int, error) {
	v, ok := p.m[key]
	if !ok || v == nil {
		return def, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return 0, p.fail("%s%s is %s, want an integer", p.prefix, key, describe(v))
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		f, ferr := n.Float64()
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > maxDim {
			return 0, p.fail("%s%s is %s, want an integer in [%d, %d]", p.prefix, key, clip(string(n)), min, maxDim)
		}
		i = int64(f)
	}
	if i < int64(min) || i > maxDim {
		return 0, p.fail("%s%s = %d is out of range [%d, %d]", p.prefix, key, i, min, maxDim)
	}
	return int(i), nil
}

// float returns the value of key as a finite number ≥ 0 within float32
// range, or def when the key is absent or null.
func (p reader) float(key string, def float64) (float64, error) {
	v, ok := p.m[key]
	if !ok || v == nil {
		return def, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return 0, p.fail("%s%s is %s, want a number", p.prefix, key, describe(v))
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || f < 0 || f > math.MaxFloat32 {
		return 0, p.fail("%s%s = %s is not a finite non-negative number", p.prefix, key, clip(string(n)))
	}
	return f, nil
}

// tokenIDs reads one token id or a list of them.
func tokenIDs(key string, v any) ([]int32, error) {
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	out := make([]int32, 0, len(list))
	for _, x := range list {
		n, ok := x.(json.Number)
		id, err := strconv.ParseInt(string(n), 10, 32)
		if !ok || err != nil || id < 0 {
			return nil, fmt.Errorf("%s holds %s, want token ids", key, describe(x))
		}
		out = append(out, int32(id))
	}
	return out, nil
}

// describe names a JSON value's kind (and a short form of scalars) for
// messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return clip(string(x))
	case string:
		return "the string " + strconv.Quote(clip(x))
	case []any:
		return fmt.Sprintf("a list of %d", len(x))
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// clip shortens s for messages.
func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
