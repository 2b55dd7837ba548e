package generate

import (
	"math"
	"strconv"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/hf"
)

// SamplingConfig is the sampling a model's own files ask for, each field
// nil where they say nothing: generation_config.json of a Hugging Face
// folder, the search object of an onnxruntime-genai folder's
// genai_config.json, or a GGUF file's general.sampling.* keys (which
// convert_hf_to_gguf.py and `zerfoo convert` copy from
// generation_config.json; GGUF has no do_sample).
type SamplingConfig struct {
	// DoSample false asks for greedy decoding whatever the other keys say
	// (Hugging Face's and onnxruntime-genai's rule); true with no
	// Temperature means temperature 1 (their default).
	DoSample          *bool
	Temperature       *float64
	TopK              *int
	TopP, MinP        *float64
	RepetitionPenalty *float64
}

// SamplingConfig returns the sampling the model's files ask for.
func (m *Model) SamplingConfig() SamplingConfig { return m.sampling }

// DefaultSampling returns base with the values the model's files set in
// place of base's: the defaults a caller should use for every setting its
// user did not choose, so that the precedence is the user's choice, then
// the model folder's configuration, then the caller's built-in default
// (base). do_sample false makes the temperature 0 (greedy); do_sample
// true without a temperature makes it 1 when base's is 0. Seed,
// penalties other than the repetition penalty, and LogitBias are base's.
func (m *Model) DefaultSampling(base Sampling) Sampling {
	c := m.sampling
	s := base
	if c.Temperature != nil {
		s.Temperature = *c.Temperature
	}
	if c.TopK != nil {
		s.TopK = *c.TopK
	}
	if c.TopP != nil {
		s.TopP = *c.TopP
	}
	if c.MinP != nil {
		s.MinP = *c.MinP
	}
	if c.RepetitionPenalty != nil {
		s.RepetitionPenalty = *c.RepetitionPenalty
	}
	if c.DoSample != nil {
		switch {
		case !*c.DoSample:
			s.Temperature = 0
		case c.Temperature == nil && s.Temperature == 0:
			s.Temperature = 1
		}
	}
	return s
}

// fromGeneration returns what generation_config.json (or a search object)
// says.
func fromGeneration(g *hf.Generation) SamplingConfig {
	if g == nil {
		return SamplingConfig{}
	}
	return SamplingConfig{DoSample: g.DoSample, Temperature: g.Temperature, TopK: g.TopK, TopP: g.TopP, MinP: g.MinP,
		RepetitionPenalty: g.RepetitionPenalty}
}

// fromGGUF reads the general.sampling.* keys llama.cpp reads as its
// defaults (a key of another type is ignored).
func fromGGUF(f *gguf.File) SamplingConfig {
	var c SamplingConfig
	float := func(key string, max float64) *float64 {
		v, ok := f.Lookup(key)
		if !ok {
			return nil
		}
		x, ok := v.Float()
		if f32, is32 := v.V.(float32); is32 {
			// 0.95 as written, not 0.949999988079071
			x, _ = strconv.ParseFloat(strconv.FormatFloat(float64(f32), 'g', -1, 32), 64)
		}
		if !ok || !(x >= 0 && x <= max) {
			return nil
		}
		return &x
	}
	c.Temperature, c.TopP, c.MinP = float("general.sampling.temp", math.MaxFloat32), float("general.sampling.top_p", 1), float("general.sampling.min_p", 1)
	c.RepetitionPenalty = float("general.sampling.penalty_repeat", math.MaxFloat32)
	if v, ok := f.Lookup("general.sampling.top_k"); ok {
		if k, ok := v.Int(); ok && k >= 0 && k <= 1<<31-1 {
			n := int(k)
			c.TopK = &n
		}
	}
	return c
}
