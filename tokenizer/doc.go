// Package tokenizer implements the SentencePiece tokenizer that GGUF files
// describe with tokenizer.ggml.model = "llama" (Gemma, Llama 1/2), matching
// llama.cpp token for token, and the Gemma 3 chat template.
//
// Token types are llama.cpp's after loading: like llama.cpp, New re-types
// control-looking tokens by their text (Gemma 3's user-defined </s>
// becomes control; see retype.go).
//
// Encoding (Tokenizer.Encode) follows llama.cpp's SPM path: special tokens
// are cut out of the text first (user-defined tokens always, control and
// unknown tokens on request; longest first, in one pass over the text,
// see special.go), spaces in the remaining runs become ▁
// (U+2581), each run is split into UTF-8 characters, adjacent symbols are
// merged while their concatenation is a vocabulary piece — highest piece
// score first, leftmost on ties — and characters that never became a piece
// are emitted as byte tokens <0xNN> (byte fallback). Runs are merged word
// by word where no vocabulary piece can join two words, with the same ids
// (see words.go).
//
// Decode inverts this for every valid UTF-8 string that does not itself
// contain U+2581 (which SentencePiece cannot distinguish from a space).
package tokenizer
