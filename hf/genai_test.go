package hf_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/hf"
)

// TestOpenGenAI reads a genai_config.json as the model builder writes it,
// and refuses bad ones with one-line errors naming the file and key.
func TestOpenGenAI(t *testing.T) {
	tj, tc := tokenizerFiles(t)
	good := `{"model": {"bos_token_id": 2, "context_length": 256, "eos_token_id": [1, 106], "pad_token_id": 0,
		"type": "gemma3_text", "vocab_size": 600, "decoder": {"filename": "model.onnx", "head_size": 64}},
		"search": {"do_sample": false, "temperature": 1.0, "top_k": 50, "top_p": 1.0, "max_length": 256}}`
	for _, tc2 := range []struct {
		name, config string
		want         error
		text         string
	}{
		{"good", good, nil, ""},
		{"not json", `{"model": `, hf.ErrConfig, "genai_config.json: not a JSON object"},
		{"no model", `{"search": {}}`, hf.ErrConfig, "model is missing"},
		{"llama", strings.Replace(good, "gemma3_text", "llama", 1), hf.ErrArchitecture, `model.type the string "llama" is not gemma3_text or gemma3`},
		{"escaping file", strings.Replace(good, `"model.onnx"`, `"../x.onnx"`, 1), hf.ErrConfig, `model.decoder.filename the string "../x.onnx" is not a file name inside the folder`},
		{"bad top_k", strings.Replace(good, `"top_k": 50`, `"top_k": "many"`, 1), hf.ErrConfig, `search.top_k is the string "many", want an integer`},
		{"bad eos", strings.Replace(good, `[1, 106]`, `"end"`, 1), hf.ErrConfig, "eos_token_id"},
	} {
		t.Run(tc2.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range map[string][]byte{hf.GenAIConfigFile: []byte(tc2.config), "tokenizer.json": tj, "tokenizer_config.json": tc} {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if !hf.IsGenAIFolder(dir) {
				t.Fatal("IsGenAIFolder: false")
			}
			g, err := hf.OpenGenAI(dir)
			if tc2.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				gen := g.Generation
				if g.Decoder != filepath.Join(dir, "model.onnx") || g.Context != 256 || len(g.Tokenizer.Vocab.Tokens) != 600 ||
					len(gen.EOS) != 2 || gen.DoSample == nil || *gen.DoSample || gen.TopK == nil || *gen.TopK != 50 {
					t.Errorf("got %+v, generation %+v", g, gen)
				}
				return
			}
			if err == nil || !errors.Is(err, tc2.want) || !strings.Contains(err.Error(), tc2.text) || strings.Contains(err.Error(), "\n") ||
				!strings.Contains(err.Error(), hf.GenAIConfigFile) {
				t.Errorf("got %v, want one line naming %s wrapping %v and containing %q", err, hf.GenAIConfigFile, tc2.want, tc2.text)
			}
		})
	}
}
