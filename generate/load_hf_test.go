package generate

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/zerfoo/zerfoo/hf/hftest"
)

// TestLoadFolder: a Hugging Face folder loads straight from its
// safetensors with its own tokenizer (fitted to config.json's vocab_size)
// and generation_config.json's eos_token_id among the stop tokens and its
// sampling keys as SamplingConfig; Close releases it.
func TestLoadFolder(t *testing.T) {
	o := hftest.Options{Generation: `{"eos_token_id": [1, 7, 106, 9999], "top_k": 40, "top_p": 0.95, "do_sample": true}`}
	var err error
	if o.Tokenizer, err = os.ReadFile("../testdata/hf/tokenizer.json"); err != nil {
		t.Fatal(err)
	}
	if o.TokenizerConfig, err = os.ReadFile("../testdata/hf/tokenizer_config.json"); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "tiny")
	if err := hftest.Write(dir, o); err != nil {
		t.Fatal(err)
	}
	var notices []string
	m, err := Load(context.Background(), dir, WithNotice(func(s string) { notices = append(notices, s) }))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	v := m.Tokenizer.Vocab()
	if len(v.Tokens) != 512 || m.Model.Config.Vocab != 512 || v.Tokens[4] != "<start_of_turn>" || v.Tokens[450] != "[PAD450]" {
		t.Errorf("vocabulary of %d tokens (model %d), token 4 %q, 450 %q", len(v.Tokens), m.Model.Config.Vocab, v.Tokens[4], v.Tokens[450])
	}
	for _, id := range []int32{1, 7, 106} {
		if !slices.Contains(m.stops, id) {
			t.Errorf("stop tokens %v lack generation_config.json's %d", m.stops, id)
		}
	}
	if sc := m.SamplingConfig(); sc.TopK == nil || *sc.TopK != 40 || sc.TopP == nil || *sc.TopP != 0.95 || sc.DoSample == nil || !*sc.DoSample || sc.Temperature != nil {
		t.Errorf("SamplingConfig %+v: want generation_config.json's top_k 40, top_p 0.95, do_sample true", sc)
	}
	if slices.Contains(m.stops, 9999) {
		t.Errorf("stop tokens %v hold 9999, outside the vocabulary", m.stops)
	}
	text, err := m.Generate(context.Background(), "hello world", Options{MaxTokens: 4})
	if err != nil {
		t.Fatalf("Generate: %v (%q)", err, text)
	}
	if len(notices) != 0 {
		t.Errorf("notices %q", notices)
	}
	if err := m.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
