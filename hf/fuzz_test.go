package hf_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/hf"
)

// FuzzParseConfig: config.json, generation_config.json and
// genai_config.json of any content
// are parsed or refused with a one-line error wrapping ErrConfig or
// ErrArchitecture; a parsed config has sizes in range.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		`{"architectures": ["Gemma3ForCausalLM"], "hidden_size": 64, "num_hidden_layers": 2, "layer_types": ["sliding_attention", "full_attention"]}`,
		`{"architectures": ["Gemma3ForConditionalGeneration"], "text_config": {"rope_scaling": {"rope_type": "linear", "factor": 8.0}}}`,
		`{"model_type": "gemma3_text", "rope_parameters": {"full_attention": {"rope_theta": 1e6, "rope_type": "linear", "factor": 2}, "sliding_attention": {"rope_theta": 1e4}}}`,
		`{"architectures": ["LlamaForCausalLM"]}`,
		`{"eos_token_id": [1, 106], "top_k": 64, "top_p": 0.95, "do_sample": true}`,
		`{"vocab_size": 1e300}`, `[]`, `null`, `{"sliding_window_pattern": -1}`,
		`{"model": {"type": "gemma3_text", "vocab_size": 262144, "context_length": 32768, "eos_token_id": [1, 106], "decoder": {"filename": "model.onnx"}}, "search": {"do_sample": false, "top_k": 50}}`,
		`{"model": {"type": "gemma3", "decoder": {"filename": "../model.onnx"}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := hf.ParseConfig(data)
		if err != nil {
			if !errors.Is(err, hf.ErrConfig) && !errors.Is(err, hf.ErrArchitecture) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("ParseConfig: %q", err)
			}
		} else if c.Layers < 1 || c.Hidden < 1 || c.VocabSize < 1 || c.HeadDim < 1 || c.SlidingPeriod < 1 {
			t.Fatalf("ParseConfig accepted %+v", c)
		}
		if _, err := hf.ParseGeneration(data); err != nil && (!errors.Is(err, hf.ErrConfig) || strings.Contains(err.Error(), "\n")) {
			t.Fatalf("ParseGeneration: %q", err)
		}
		if g, err := hf.ParseGenAIConfig(data); err != nil {
			if !errors.Is(err, hf.ErrConfig) && !errors.Is(err, hf.ErrArchitecture) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("ParseGenAIConfig: %q", err)
			}
		} else if !filepath.IsLocal(g.Decoder) || g.Generation == nil {
			t.Fatalf("ParseGenAIConfig accepted %+v", g)
		}
	})
}
