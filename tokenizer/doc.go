// Package tokenizer implements the SentencePiece tokenizer that GGUF files
// describe with tokenizer.ggml.model = "llama" (Gemma, Llama 1/2), matching
// llama.cpp token for token, and the Gemma 3 chat template.
//
// Encoding (Tokenizer.Encode) follows llama.cpp's SPM path: special tokens
// are cut out of the text first (user-defined tokens always, control and
// unknown tokens on request), spaces in the remaining runs become ▁
// (U+2581), each run is split into UTF-8 characters, adjacent symbols are
// merged while their concatenation is a vocabulary piece — highest piece
// score first, leftmost on ties — and characters that never became a piece
// are emitted as byte tokens <0xNN> (byte fallback).
//
// Decode inverts this for every valid UTF-8 string that does not itself
// contain U+2581 (which SentencePiece cannot distinguish from a space).
package tokenizer
