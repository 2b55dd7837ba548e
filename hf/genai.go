package hf

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/zerfoo/zerfoo/tokenizer"
)

// GenAIConfigFile is the configuration file of an onnxruntime-genai
// export folder.
const GenAIConfigFile = "genai_config.json"

// IsGenAIFolder reports whether path is a directory holding a
// genai_config.json: an onnxruntime-genai export for OpenGenAI.
func IsGenAIFolder(path string) bool {
	fi, err := os.Stat(path)
	if err != nil || !fi.IsDir() {
		return false
	}
	fi, err = os.Stat(filepath.Join(path, GenAIConfigFile))
	return err == nil && fi.Mode().IsRegular()
}

// GenAI is an onnxruntime-genai export folder (genai_config.json, the
// decoder's ONNX file and the Hugging Face tokenizer files), as
// shared/specs/ort-genai-gemma3.md §1.5 describes it.
type GenAI struct {
	Dir string
	// Decoder is the path of model.decoder.filename.
	Decoder string
	// Type is model.type (gemma3_text, or gemma3 for 4B+ exports).
	Type string
	// Context is model.context_length (0 when absent).
	Context int
	// VocabSize is model.vocab_size (0 when absent).
	VocabSize int
	// Generation holds model.eos_token_id and the sampling keys of the
	// search object (do_sample, top_k, top_p, temperature,
	// repetition_penalty).
	Generation *Generation
	// Tokenizer is tokenizer.json with tokenizer_config.json, cut or
	// padded to VocabSize when that is set (see Folder.Tokenizer).
	Tokenizer *tokenizer.HF
}

// OpenGenAI reads the export folder dir: genai_config.json (a Gemma 3
// model type, the decoder's file name, which must be a file inside dir,
// eos ids and the search defaults) and the tokenizer files. The decoder
// itself is not read. Errors are one line naming the file and key, and
// wrap ErrConfig or ErrArchitecture.
func OpenGenAI(dir string, opts ...Options) (*GenAI, error) {
	var o Options
	if len(opts) > 0 {
		o = opts[len(opts)-1]
	}
	path := filepath.Join(dir, GenAIConfigFile)
	raw, err := readFile(path, maxJSON, o.Budget)
	if err != nil {
		return nil, err
	}
	g, err := parseGenAI(raw, path)
	if err != nil {
		return nil, err
	}
	g.Dir, g.Decoder = dir, filepath.Join(dir, g.Decoder)
	if g.Tokenizer, err = readTokenizer(dir, g.VocabSize, o); err != nil {
		return nil, err
	}
	return g, nil
}

// ParseGenAIConfig reads genai_config.json as OpenGenAI does; Decoder is
// then model.decoder.filename as written, and Tokenizer is nil.
func ParseGenAIConfig(data []byte) (*GenAI, error) { return parseGenAI(data, GenAIConfigFile) }

// parseGenAI is ParseGenAIConfig with the file's path for messages.
func parseGenAI(raw []byte, path string) (*GenAI, error) {
	fail := fileErr(path)
	top, err := decodeObject(raw)
	if err != nil {
		return nil, fail("%s", err)
	}
	if _, ok := top["model"]; !ok {
		return nil, fail("model is missing")
	}
	mo, ok := top["model"].(map[string]any)
	if !ok {
		return nil, fail("model is %s, want an object", describe(top["model"]))
	}
	p := reader{mo, "model.", fail}
	g := &GenAI{}
	if g.Type, ok = mo["type"].(string); !ok || (g.Type != "gemma3_text" && g.Type != "gemma3") {
		return nil, fmt.Errorf("hf: %s: model.type %s is not gemma3_text or gemma3: %w", path, describe(mo["type"]), ErrArchitecture)
	}
	if g.Context, err = p.int("context_length", 0, 0); err != nil {
		return nil, err
	}
	if g.VocabSize, err = p.int("vocab_size", 0, 0); err != nil {
		return nil, err
	}
	dec, ok := mo["decoder"].(map[string]any)
	if !ok {
		return nil, fail("model.decoder is %s, want an object", describe(mo["decoder"]))
	}
	name, ok := dec["filename"].(string)
	if !ok || !filepath.IsLocal(name) {
		return nil, fail("model.decoder.filename %s is not a file name inside the folder", describe(dec["filename"]))
	}
	g.Decoder = name
	search := map[string]any{}
	if s, ok := top["search"]; ok && s != nil {
		if search, ok = s.(map[string]any); !ok {
			return nil, fail("search is %s, want an object", describe(s))
		}
	}
	if g.Generation, err = readGeneration(reader{search, "search.", fail}); err != nil {
		return nil, err
	}
	if v, ok := mo["eos_token_id"]; ok && v != nil {
		if g.Generation.EOS, err = tokenIDs("model.eos_token_id", v); err != nil {
			return nil, fail("%s", err)
		}
	}
	return g, nil
}
