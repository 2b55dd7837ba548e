package tokenizer

import "testing"

// TestDecodeMore: Decode(a) + DecodeMore(b) == Decode(a + b) at every split
// of every encoded text, in both vocabularies (with and without a space
// prefix).
func TestDecodeMore(t *testing.T) {
	for _, name := range []string{"vocab.gguf", "vocab_prefix.gguf"} {
		tok := loadTokenizer(t, name)
		for _, text := range []string{" leading space", "Hello world, héllo  wörld!", "emoji 🙂 and <0x41> bytes", "  two spaces"} {
			ids := tok.Encode(text, false, false)
			want, err := tok.Decode(ids, false)
			if err != nil {
				t.Fatal(err)
			}
			for k := 1; k <= len(ids); k++ {
				a, _ := tok.Decode(ids[:k], false)
				b, err := tok.DecodeMore(ids[k:], false)
				if err != nil {
					t.Fatal(err)
				}
				if a+b != want {
					t.Errorf("%s %q split at %d: %q + %q, want %q", name, text, k, a, b, want)
				}
			}
		}
	}
	if _, err := loadTokenizer(t, "vocab.gguf").DecodeMore([]int32{-1}, false); err == nil {
		t.Error("DecodeMore(-1): no error")
	}
}
