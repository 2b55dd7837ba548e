package tokenizer

import (
	"errors"
	"fmt"

	"github.com/zerfoo/zerfoo/gguf"
)

// GGUF metadata keys of the tokenizer.
const (
	KeyModel          = "tokenizer.ggml.model"
	KeyTokens         = "tokenizer.ggml.tokens"
	KeyScores         = "tokenizer.ggml.scores"
	KeyTokenType      = "tokenizer.ggml.token_type"
	KeyBOS            = "tokenizer.ggml.bos_token_id"
	KeyEOS            = "tokenizer.ggml.eos_token_id"
	KeyUnknown        = "tokenizer.ggml.unknown_token_id"
	KeyPadding        = "tokenizer.ggml.padding_token_id"
	KeyAddBOS         = "tokenizer.ggml.add_bos_token"
	KeyAddEOS         = "tokenizer.ggml.add_eos_token"
	KeyAddSpacePrefix = "tokenizer.ggml.add_space_prefix"
	KeyChatTemplate   = "tokenizer.chat_template"
)

// Metadata is the part of a GGUF file the tokenizer reads.
type Metadata interface {
	Lookup(key string) (gguf.Value, bool)
}

// FromGGUF builds the tokenizer described by a GGUF file's tokenizer.ggml.*
// metadata. Only the SentencePiece model ("llama", used by Gemma and Llama
// 1/2) is supported. Absent keys take llama.cpp's defaults for that model:
// BOS 1, EOS 2, unknown 0, no padding, add BOS, no EOS, add a space prefix.
func FromGGUF(md Metadata) (*Tokenizer, error) {
	model, err := str(md, KeyModel)
	if err != nil {
		return nil, err
	}
	if model != "llama" {
		return nil, fmt.Errorf("tokenizer: %s %q is not supported (only \"llama\", SentencePiece): %w", KeyModel, model, ErrVocab)
	}
	v := Vocab{BOS: 1, EOS: 2, Unknown: 0, Padding: -1, AddBOS: true, AddSpacePrefix: true}
	tv, ok := md.Lookup(KeyTokens)
	arr, _ := tv.V.(gguf.Array)
	tokens, isStrings := arr.Values.([]string)
	if !ok || !isStrings {
		return nil, fmt.Errorf("tokenizer: %s must be an array of strings: %w", KeyTokens, ErrVocab)
	}
	v.Tokens = tokens
	if sv, ok := md.Lookup(KeyScores); ok {
		a, _ := sv.V.(gguf.Array)
		s, ok := a.Values.([]float32)
		if !ok {
			return nil, fmt.Errorf("tokenizer: %s must be an array of float32: %w", KeyScores, ErrVocab)
		}
		v.Scores = s
	}
	if tt, ok := md.Lookup(KeyTokenType); ok {
		a, _ := tt.V.(gguf.Array)
		s, ok := a.Values.([]int32)
		if !ok {
			return nil, fmt.Errorf("tokenizer: %s must be an array of int32: %w", KeyTokenType, ErrVocab)
		}
		v.Types = make([]TokenType, len(s))
		for i, x := range s {
			v.Types[i] = TokenType(x)
		}
	}
	for _, k := range []struct {
		key string
		dst *int32
	}{{KeyBOS, &v.BOS}, {KeyEOS, &v.EOS}, {KeyUnknown, &v.Unknown}, {KeyPadding, &v.Padding}} {
		if val, ok := md.Lookup(k.key); ok {
			id, ok := val.Int()
			if !ok || id < -1 || id >= int64(len(v.Tokens)) {
				return nil, fmt.Errorf("tokenizer: %s = %v is not a token id of the %d-token vocabulary: %w", k.key, val.V, len(v.Tokens), ErrVocab)
			}
			*k.dst = int32(id)
		}
	}
	// The fill-in-the-middle roles whose id the file gives are not looked
	// up by text (see retype); ids outside the vocabulary are ignored, as
	// llama.cpp ignores them.
	for r, keys := range fimKeys {
		for _, key := range keys {
			if val, ok := md.Lookup(key); ok {
				if id, ok := val.Int(); ok && id >= 0 && id < int64(len(v.Tokens)) {
					v.fimGiven |= 1 << r
				}
			}
		}
	}
	for _, k := range []struct {
		key string
		dst *bool
	}{{KeyAddBOS, &v.AddBOS}, {KeyAddEOS, &v.AddEOS}, {KeyAddSpacePrefix, &v.AddSpacePrefix}} {
		if val, ok := md.Lookup(k.key); ok {
			b, ok := val.V.(bool)
			if !ok {
				return nil, fmt.Errorf("tokenizer: %s must be a bool, got %s: %w", k.key, val.Type, ErrVocab)
			}
			*k.dst = b
		}
	}
	return New(v)
}

func str(md Metadata, key string) (string, error) {
	v, ok := md.Lookup(key)
	if !ok {
		return "", fmt.Errorf("tokenizer: metadata %q: %w", key, errors.Join(ErrVocab, gguf.ErrNotFound))
	}
	s, ok := v.V.(string)
	if !ok {
		return "", fmt.Errorf("tokenizer: %s must be a string, got %s: %w", key, v.Type, ErrVocab)
	}
	return s, nil
}
