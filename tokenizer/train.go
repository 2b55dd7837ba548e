package tokenizer

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// TrainOptions configures Train.
type TrainOptions struct {
	// VocabSize is the total number of tokens, special and byte tokens
	// included. It must leave room for them: at least 262 + 1.
	VocabSize int
	// MinCharCount is how often a character must occur to get its own
	// piece (default 2); rarer characters are encoded as byte tokens.
	MinCharCount int
	// Specials are control tokens appended after the fixed ones (<pad> 0,
	// <eos> 1, <bos> 2, <unk> 3), each non-empty, distinct and not a fixed
	// or byte token; nil means <start_of_turn> and <end_of_turn>, which the
	// Gemma chat template uses.
	Specials []string
}

// The ids of the special tokens of a vocabulary built by Train.
const (
	TrainPad int32 = 0
	TrainEOS int32 = 1
	TrainBOS int32 = 2
	TrainUnk int32 = 3
)

// Train learns a SentencePiece-style BPE vocabulary from text, in the form
// GGUF stores it (tokenizer.ggml.model = "llama"), so that the result loads
// with New, FromGGUF and llama.cpp.
//
// The vocabulary is: <pad> 0, <eos> 1, <bos> 2, <unk> 3, the specials, the
// 256 byte tokens <0x00>…<0xFF> (byte fallback), every character that occurs
// at least MinCharCount times, then merged pieces. Text is split into
// segments — a word with its leading ▁ (space), or a run of newlines — and
// the most frequent adjacent pair inside segments is merged repeatedly
// (ties: the lexically smallest pair, so the result is deterministic). Merge
// i gets score −i, so earlier (more frequent) merges win in Encode, which
// merges highest score first. BOS is added on encode, no space prefix,
// like Gemma.
func Train(text string, opt TrainOptions) (Vocab, error) {
	specials := opt.Specials
	if specials == nil {
		specials = []string{"<start_of_turn>", "<end_of_turn>"}
	}
	seen := map[string]bool{"<pad>": true, "<eos>": true, "<bos>": true, "<unk>": true}
	for _, sp := range specials {
		b, isByte := parseByte(sp)
		if sp == "" || seen[sp] || isByte && sp == fmt.Sprintf("<0x%02X>", b) {
			return Vocab{}, fmt.Errorf("tokenizer: train: special %q is empty, repeated or a fixed token: %w", sp, ErrVocab)
		}
		seen[sp] = true
	}
	fixed := 4 + len(specials) + 256
	if opt.VocabSize <= fixed {
		return Vocab{}, fmt.Errorf("tokenizer: train: vocabulary size %d leaves no room after %d special and byte tokens: %w",
			opt.VocabSize, fixed, ErrVocab)
	}
	if text == "" {
		return Vocab{}, fmt.Errorf("tokenizer: train: empty text: %w", ErrVocab)
	}
	minCount := opt.MinCharCount
	if minCount <= 0 {
		minCount = 2
	}
	v := Vocab{BOS: TrainBOS, EOS: TrainEOS, Unknown: TrainUnk, Padding: TrainPad, AddBOS: true}
	add := func(s string, score float32, t TokenType) {
		v.Tokens = append(v.Tokens, s)
		v.Scores = append(v.Scores, score)
		v.Types = append(v.Types, t)
	}
	add("<pad>", 0, Control)
	add("<eos>", 0, Control)
	add("<bos>", 0, Control)
	add("<unk>", 0, Unknown)
	for _, s := range specials {
		add(s, 0, Control)
	}
	for b := 0; b < 256; b++ {
		add(fmt.Sprintf("<0x%02X>", b), 0, Byte)
	}
	have := map[string]bool{}
	for _, s := range v.Tokens {
		have[s] = true
	}

	// Segment the text and count segments.
	segCount := map[string]int{}
	for _, s := range segments(strings.ReplaceAll(text, " ", spaceEsc)) {
		segCount[s]++
	}
	charCount := map[string]int{}
	for s, n := range segCount {
		for _, r := range s {
			charCount[string(r)] += n
		}
	}
	chars := make([]string, 0, len(charCount))
	for c, n := range charCount {
		if n >= minCount && !have[c] {
			chars = append(chars, c)
		}
	}
	sort.Slice(chars, func(i, j int) bool {
		if charCount[chars[i]] != charCount[chars[j]] {
			return charCount[chars[i]] > charCount[chars[j]]
		}
		return chars[i] < chars[j]
	})
	if room := opt.VocabSize - len(v.Tokens); len(chars) > room {
		chars = chars[:room]
	}
	known := map[string]bool{}
	for _, c := range chars {
		add(c, -1e9, Normal) // never the result of a merge: score unused
		known[c] = true
		have[c] = true
	}

	// Words as symbol lists; characters without a piece split a word (no
	// merge can cross a byte-fallback character).
	type word struct {
		syms []string
		n    int
	}
	keys := make([]string, 0, len(segCount))
	for s := range segCount {
		keys = append(keys, s)
	}
	sort.Strings(keys)
	var words []word
	for _, s := range keys {
		var cur []string
		flush := func() {
			if len(cur) > 1 {
				words = append(words, word{cur, segCount[s]})
			}
			cur = nil
		}
		for _, r := range s {
			c := string(r)
			if !known[c] {
				flush()
				continue
			}
			cur = append(cur, c)
		}
		flush()
	}

	type pair struct{ a, b string }
	for merge := 0; len(v.Tokens) < opt.VocabSize; merge++ {
		counts := map[pair]int{}
		for _, w := range words {
			for i := 0; i+1 < len(w.syms); i++ {
				counts[pair{w.syms[i], w.syms[i+1]}] += w.n
			}
		}
		var best pair
		bestN := 0
		for p, n := range counts {
			if n > bestN || (n == bestN && (p.a+"\x00"+p.b) < (best.a+"\x00"+best.b)) {
				best, bestN = p, n
			}
		}
		if bestN < 2 {
			break // nothing left worth a piece
		}
		joined := best.a + best.b
		if !have[joined] {
			add(joined, -float32(merge), Normal)
			have[joined] = true
		}
		for wi := range words {
			s := words[wi].syms
			out := s[:0]
			for i := 0; i < len(s); i++ {
				if i+1 < len(s) && s[i] == best.a && s[i+1] == best.b {
					out = append(out, joined)
					i++
					continue
				}
				out = append(out, s[i])
			}
			words[wi].syms = out
		}
	}
	return v, nil
}

// segments splits text (spaces already ▁) before every ▁ and around runs
// of newlines.
func segments(text string) []string {
	var out []string
	start := 0
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case r == '\n':
			if i > start {
				out = append(out, text[start:i])
			}
			j := i
			for j < len(text) && text[j] == '\n' {
				j++
			}
			out = append(out, text[i:j])
			start, i = j, j
			continue
		case r == '\u2581' && i > start:
			out = append(out, text[start:i])
			start = i
		}
		i += size
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

// KV is one GGUF metadata entry.
type KV struct {
	Key   string
	Value any
}

// Metadata returns v as the tokenizer.ggml.* entries of a GGUF file
// (model "llama"), in the order llama.cpp's converter writes them.
func (v *Vocab) Metadata() []KV {
	types := make([]int32, len(v.Tokens))
	for i := range types {
		types[i] = int32(Normal)
		if v.Types != nil {
			types[i] = int32(v.Types[i])
		}
	}
	scores := v.Scores
	if scores == nil {
		scores = make([]float32, len(v.Tokens))
	}
	md := []KV{
		{KeyModel, "llama"},
		{"tokenizer.ggml.pre", "default"},
		{KeyTokens, v.Tokens},
		{KeyScores, scores},
		{KeyTokenType, types},
	}
	for _, s := range []struct {
		key string
		id  int32
	}{{KeyBOS, v.BOS}, {KeyEOS, v.EOS}, {KeyUnknown, v.Unknown}, {KeyPadding, v.Padding}} {
		if s.id >= 0 {
			md = append(md, KV{s.key, uint32(s.id)})
		}
	}
	return append(md, KV{KeyAddBOS, v.AddBOS}, KV{KeyAddEOS, v.AddEOS}, KV{KeyAddSpacePrefix, v.AddSpacePrefix})
}
