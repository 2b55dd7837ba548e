package tokenizer_test

import (
	"fmt"
	"log"
	"os"

	"github.com/zerfoo/zerfoo/tokenizer"
)

// A Hugging Face tokenizer folder: tokenizer.json (here a small synthetic
// one of Gemma's form) and tokenizer_config.json. ParseHF converts it to
// the vocabulary a GGUF file holds, with the chat template beside it.
func ExampleFromHF() {
	tokJSON, err := os.ReadFile("../testdata/hf/tokenizer.json")
	if err != nil {
		log.Fatal(err)
	}
	cfgJSON, err := os.ReadFile("../testdata/hf/tokenizer_config.json")
	if err != nil {
		log.Fatal(err)
	}
	tok, err := tokenizer.FromHF(tokJSON, cfgJSON)
	if err != nil {
		log.Fatal(err)
	}
	prompt, _ := tokenizer.GemmaChat([]tokenizer.Message{{Role: "user", Content: "The fox runs."}}, true)
	ids := tok.Encode(prompt, false, true)
	fmt.Println(ids)
	text, _ := tok.Decode(ids, true)
	fmt.Printf("%q\n", text)

	h, _ := tokenizer.ParseHF(tokJSON, cfgJSON)
	fmt.Println(h.Vocab.BOS, h.Vocab.EOS, len(h.ChatTemplate) > 0)
	// Output:
	// [2 4 275 265 337 269 346 378 387 278 5 269 4 274 270 272 263 273 269]
	// "<bos><start_of_turn>user\nThe fox runs.<end_of_turn>\n<start_of_turn>model\n"
	// 2 5 true
}
