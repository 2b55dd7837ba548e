package generate

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/zerfoo/zerfoo/hf/hftest"
)

// TestLoadGenAI: an onnxruntime-genai export folder (either builder's
// layout, or a graph taking inputs_embeds) loads with its tokenizer, model.eos_token_id among the stop
// tokens and the search object as SamplingConfig, and gives the greedy
// tokens of the Hugging Face folder holding the same (int4-grid) weights.
func TestLoadGenAI(t *testing.T) {
	tj, err := os.ReadFile("../testdata/hf/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	tc, err := os.ReadFile("../testdata/hf/tokenizer_config.json")
	if err != nil {
		t.Fatal(err)
	}
	c := hftest.Tiny()
	ts := hftest.Random(c, 7)
	hftest.SnapInt4(ts, 32)
	root := t.TempDir()
	hfDir := filepath.Join(root, "hf")
	if err := hftest.WriteTensors(hfDir, c, ts, hftest.Options{Tokenizer: tj, TokenizerConfig: tc}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ref, err := Load(ctx, hfDir)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	prompt := []int32{2, 10, 50, 300, 77, 12}
	opt := Options{MaxTokens: 8, Sampling: Sampling{LogitBias: map[int32]float64{}}}
	for _, id := range ref.stops {
		opt.LogitBias[id] = -100
	}
	want, err := ref.RunTokens(ctx, prompt, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []hftest.GenAIOptions{{Layout: hftest.GenAI2025}, {Layout: hftest.GenAI2026}, {Layout: hftest.GenAI2026, InputsEmbeds: true}} {
		name := o.Layout.String()
		if o.InputsEmbeds {
			name += "-inputs_embeds"
		}
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(root, "genai"+name)
			o.Tokenizer, o.TokenizerConfig = tj, tc
			o.Search = map[string]any{"do_sample": true, "top_k": 7, "top_p": 0.5, "temperature": 0.25}
			if err := hftest.WriteGenAI(dir, c, ts, o); err != nil {
				t.Fatal(err)
			}
			m, err := Load(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if len(m.Tokenizer.Vocab().Tokens) != c.Vocab || m.ChatTemplate != ref.ChatTemplate {
				t.Errorf("vocabulary of %d tokens, template %q; want %d and the folder's", len(m.Tokenizer.Vocab().Tokens), m.ChatTemplate, c.Vocab)
			}
			for _, id := range []int32{1, 106} {
				if !slices.Contains(m.stops, id) {
					t.Errorf("stop tokens %v lack genai_config.json's %d", m.stops, id)
				}
			}
			s := m.DefaultSampling(Sampling{Temperature: 0.8, TopK: 40, MinP: 0.05, Seed: 3})
			if !reflect.DeepEqual(s, Sampling{Temperature: 0.25, TopK: 7, TopP: 0.5, MinP: 0.05, Seed: 3}) {
				t.Errorf("DefaultSampling = %+v, want the search object's temperature, top_k and top_p over the base", s)
			}
			got, err := m.RunTokens(ctx, prompt, opt)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Tokens, want.Tokens) {
				t.Errorf("greedy tokens %v, the Hugging Face folder's %v", got.Tokens, want.Tokens)
			}
		})
	}
}
