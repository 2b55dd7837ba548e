package tokenizer

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/gguf"
)

// Flags of the first byte of a FuzzVocabChat vocabulary spec.
const (
	specByteTokens = 1 << iota // append the 256 byte tokens <0x00>…<0xFF>
	specNoScores               // Scores nil
	specNoTypes                // Types nil
	specSpacePrefix
	specAddBOS
	specAddEOS
	specBadMetadata // GGUF path: one tokenizer key of the wrong type
	specMerges      // GGUF path: a tokenizer.ggml.merges array (unused by SPM)
)

// vocabFromSpec decodes a hostile vocabulary from fuzz bytes: a flag byte,
// BOS, EOS, unknown and padding ids (int8), then entries of a type byte
// (values −1…8, so also outside the known types), a score byte (int8;
// 127 NaN, 126 +Inf, −128 −Inf), a length byte and that many piece bytes
// (empty pieces and duplicates come naturally; length 255 makes a 64 KB
// piece of the next 4 bytes repeated, for the first 8 such entries).
func vocabFromSpec(spec []byte) (v Vocab, flags byte) {
	next := func() (byte, bool) {
		if len(spec) == 0 {
			return 0, false
		}
		b := spec[0]
		spec = spec[1:]
		return b, true
	}
	flags, _ = next()
	ids := [4]int32{-1, -1, -1, -1}
	for i := range ids {
		if b, ok := next(); ok {
			ids[i] = int32(int8(b))
		}
	}
	v.BOS, v.EOS, v.Unknown, v.Padding = ids[0], ids[1], ids[2], ids[3]
	v.AddSpacePrefix, v.AddBOS, v.AddEOS = flags&specSpacePrefix != 0, flags&specAddBOS != 0, flags&specAddEOS != 0
	huge := 0
	for len(v.Tokens) < 4000 {
		typ, ok := next()
		if !ok {
			break
		}
		sb, _ := next()
		n, _ := next()
		var piece string
		if n == 255 && huge < 8 { // at most 8, to keep each run fast
			huge++
			k := min(4, len(spec))
			piece = strings.Repeat(string(spec[:k]), 1<<14)
			spec = spec[k:]
		} else {
			k := min(int(n), len(spec))
			piece = string(spec[:k])
			spec = spec[k:]
		}
		score := float32(int8(sb))
		switch int8(sb) {
		case 127:
			score = float32(math.NaN())
		case 126:
			score = float32(math.Inf(1))
		case -128:
			score = float32(math.Inf(-1))
		}
		v.Tokens = append(v.Tokens, piece)
		v.Scores = append(v.Scores, score)
		v.Types = append(v.Types, TokenType(int(typ%10)-1))
	}
	if flags&specByteTokens != 0 {
		for b := 0; b < 256; b++ {
			v.Tokens = append(v.Tokens, fmt.Sprintf("<0x%02X>", b))
			v.Scores = append(v.Scores, 0)
			v.Types = append(v.Types, Byte)
		}
	}
	if flags&specNoScores != 0 {
		v.Scores = nil
	}
	if flags&specNoTypes != 0 {
		v.Types = nil
	}
	return v, flags
}

// ggufFromSpec writes v as the tokenizer metadata of a GGUF file in memory
// and reads it back, so that FromGGUF sees what a file would give it; bad
// chooses one key of the wrong type. ok is false if the gguf package
// refuses the file (not the tokenizer's business).
func ggufFromSpec(v Vocab, flags byte, bad int) (md *gguf.File, ok bool) {
	b := gguf.NewBuilder()
	kvs := []struct {
		k string
		v any
	}{
		{KeyModel, "llama"},
		{KeyTokens, v.Tokens},
		{KeyBOS, v.BOS},
		{KeyEOS, uint32(v.EOS)},
		{KeyUnknown, int64(v.Unknown)},
		{KeyPadding, v.Padding},
		{KeyAddBOS, v.AddBOS},
		{KeyAddEOS, v.AddEOS},
		{KeyAddSpacePrefix, v.AddSpacePrefix},
		{"tokenizer.ggml.fim_pre_token_id", uint32(bad)},
	}
	if v.Scores != nil {
		kvs = append(kvs, struct {
			k string
			v any
		}{KeyScores, v.Scores})
	}
	if v.Types != nil {
		types := make([]int32, len(v.Types))
		for i, t := range v.Types {
			types[i] = int32(t)
		}
		kvs = append(kvs, struct {
			k string
			v any
		}{KeyTokenType, types})
	}
	if flags&specMerges != 0 {
		kvs = append(kvs, struct {
			k string
			v any
		}{"tokenizer.ggml.merges", []string{"a b", "", "▁ ▁"}})
	}
	if flags&specBadMetadata != 0 && len(kvs) > 0 {
		// Wrong types: a number for the model, strings for numbers,
		// float32 types, int32 scores, a uint8 for a bool.
		wrong := []any{uint32(1), "two", []float32{1}, []int32{1}, uint8(1), []string{"x"}}
		kvs[bad%len(kvs)].v = wrong[bad%len(wrong)]
	}
	for _, kv := range kvs {
		if err := b.Set(kv.k, kv.v); err != nil {
			return nil, false
		}
	}
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		return nil, false
	}
	f, err := gguf.Read(buf.Bytes())
	if err != nil {
		return nil, false
	}
	return f, true
}

// chatFromString splits s at NUL bytes into messages whose first byte
// picks the role.
func chatFromString(s string) []Message {
	var msgs []Message
	for _, part := range strings.Split(s, "\x00") {
		role := "user"
		if part != "" {
			switch part[0] % 5 {
			case 0:
				role = "system"
			case 1:
				role = "assistant"
			case 2:
				role = "model"
			case 3:
				role = part[:1]
			}
			part = part[1:]
		}
		msgs = append(msgs, Message{Role: role, Content: part})
	}
	return msgs
}

// FuzzVocabChat builds a tokenizer from a hostile vocabulary (directly and
// through a GGUF file in memory), renders a chat with it and encodes and
// decodes text and chat in every mode. Building must succeed or fail with
// ErrVocab; nothing may panic, every id must be in the vocabulary, Decode
// must accept what Encode returns, and the one-pass special-piece cut must
// agree with llama.cpp's loop.
func FuzzVocabChat(f *testing.F) {
	seed := func(v Vocab, flags byte) []byte {
		spec := []byte{flags, byte(v.BOS), byte(v.EOS), byte(v.Unknown), byte(v.Padding)}
		for i, s := range v.Tokens {
			if len(s) > 254 {
				s = s[:254]
			}
			spec = append(spec, byte(v.Types[i]+1), byte(int8(v.Scores[i])), byte(len(s)))
			spec = append(spec, s...)
		}
		return spec
	}
	tiny := tinyVocab()
	tiny.Tokens, tiny.Scores, tiny.Types = slices.Delete(tiny.Tokens, 4, 260), slices.Delete(tiny.Scores, 4, 260), slices.Delete(tiny.Types, 4, 260)
	chat := "user hi\x00\x01hello\x00\x00x"
	f.Add(seed(tiny, specByteTokens|specAddBOS), "abc</s><u>", chat, true, false)
	f.Add(seed(tiny, specByteTokens|specSpacePrefix|specAddEOS), " a b\n", chat, false, true)
	f.Add(seed(tiny, specByteTokens|specBadMetadata), "x", "", false, true)
	f.Add(seed(tiny, 0), "abc", chat, true, false) // no byte fallback: an error
	f.Add([]byte{specByteTokens, 0, 0, 0, 0, 4, 0, 4, '<', '/', 's', '>', 5, 0, 0, 5, 0, 0, 2, 127, 2, 'a', 'a', 2, 126, 1, 'a'}, "</s>aaaa", chat, true, true)
	f.Add([]byte{specByteTokens | specNoScores | specNoTypes | specMerges, 0, 1, 2, 3, 4, 0, 255, 'a', 'b', 'a', 'b'}, "abababab", "", true, true)
	f.Fuzz(func(t *testing.T, spec []byte, text, chat string, special, viaGGUF bool) {
		v, flags := vocabFromSpec(spec)
		var tok *Tokenizer
		var err error
		if viaGGUF {
			md, ok := ggufFromSpec(v, flags, len(text))
			if !ok {
				return
			}
			tok, err = FromGGUF(md)
		} else {
			tok, err = New(v)
		}
		if err != nil {
			if !errors.Is(err, ErrVocab) {
				t.Fatalf("building the tokenizer: %v, want an error wrapping ErrVocab", err)
			}
			return
		}
		check := func(what, s string) {
			for _, parse := range []bool{false, true} {
				if got, want := fragString(tok.partition(s, parse)), fragString(partitionLoop(tok, s, parse)); got != want {
					t.Fatalf("%s: partition(%q, %v) = %s, llama.cpp's loop gives %s", what, s, parse, got, want)
				}
				for _, add := range []bool{false, true} {
					ids := tok.Encode(s, add, parse)
					for _, id := range ids {
						if id < 0 || int(id) >= tok.Len() {
							t.Fatalf("%s: Encode(%q, %v, %v) gave id %d of %d", what, s, add, parse, id, tok.Len())
						}
					}
					for _, render := range []bool{false, true} {
						if _, err := tok.Decode(ids, render); err != nil {
							t.Fatalf("%s: Decode(Encode(%q, %v, %v), %v): %v", what, s, add, parse, render, err)
						}
					}
				}
			}
		}
		check("text", text)
		if s, err := GemmaChat(chatFromString(chat), special); err == nil {
			check("chat", s)
		}
		// Arbitrary ids, in and out of range.
		var ids []int32
		for i := 0; i+1 < len(text) && i < 64; i += 2 {
			ids = append(ids, int32(int16(uint16(text[i])<<8|uint16(text[i+1])))%int32(tok.Len()+2))
		}
		if _, err := tok.Decode(ids, special); err != nil && !errors.Is(err, ErrToken) {
			t.Fatalf("Decode(%v): %v, want nil or ErrToken", ids, err)
		}
		for _, id := range ids {
			_, _ = tok.Piece(id)
			_ = tok.Type(id)
		}
	})
}
