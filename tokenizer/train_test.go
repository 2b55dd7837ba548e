package tokenizer

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/gguf"
)

const trainText = "the cat sat on the mat. the cat ate the rat.\nthe end\n\nthe cat is fat; the mat is flat. ünïcödé x"

func TestTrainLayoutAndMerges(t *testing.T) {
	v, err := Train(trainText, TrainOptions{VocabSize: 300})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Tokens) > 300 {
		t.Fatalf("got %d tokens, want at most 300", len(v.Tokens))
	}
	for id, want := range map[int32]string{TrainPad: "<pad>", TrainEOS: "<eos>", TrainBOS: "<bos>", TrainUnk: "<unk>",
		4: "<start_of_turn>", 5: "<end_of_turn>", 6: "<0x00>", 6 + 255: "<0xFF>"} {
		if got := v.Tokens[id]; got != want {
			t.Errorf("token %d: got %q, want %q", id, got, want)
		}
	}
	idx := map[string]int{}
	for i, s := range v.Tokens {
		idx[s] = i
	}
	// "▁the" occurs 7 times, the most frequent word: its pieces are learned
	// first. "▁t"/"he" and "▁the" must be present; "ü" occurs once (byte
	// fallback) and so must not be a piece.
	for _, s := range []string{"▁the", "▁cat", "at"} {
		if _, ok := idx[s]; !ok {
			t.Errorf("piece %q missing from %q", s, v.Tokens[262:])
		}
	}
	if _, ok := idx["ü"]; ok {
		t.Errorf("piece %q present, want byte fallback for a character seen once", "ü")
	}
	// The most frequent pair is "a"+"t": cat×3, sat, mat×2, ate, rat, fat,
	// flat = 10, against 7 for "t"+"h" and "h"+"e". Merge 0 scores 0, the
	// highest merge score.
	if got := v.Scores[idx["at"]]; got != 0 {
		t.Errorf("score of \"at\": got %v, want 0 (first merge)", got)
	}
	tok, err := New(v)
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode(trainText, false, false)
	got, err := tok.Decode(ids, false)
	if err != nil || got != trainText {
		t.Fatalf("Decode(Encode(text)) = %q, %v; want %q", got, err, trainText)
	}
	if n := len([]rune(trainText)); 10*len(ids) >= 6*n {
		t.Errorf("encoded %d characters to %d tokens, want under 60%%", n, len(ids))
	}
}

func TestTrainGGUFRoundTrip(t *testing.T) {
	v, err := Train(trainText, TrainOptions{VocabSize: 290})
	if err != nil {
		t.Fatal(err)
	}
	b := gguf.NewBuilder()
	for _, kv := range v.Metadata() {
		if err := b.Set(kv.Key, kv.Value); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Read(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	direct, _ := New(v)
	text := "the flat cat sat. ÿ"
	a, b2 := tok.Encode(text, true, false), direct.Encode(text, true, false)
	if len(a) != len(b2) || a[0] != TrainBOS {
		t.Fatalf("FromGGUF encodes %v, New encodes %v (want equal, starting with BOS)", a, b2)
	}
	for i := range a {
		if a[i] != b2[i] {
			t.Fatalf("token %d: FromGGUF %d, New %d", i, a[i], b2[i])
		}
	}
}

func TestTrainErrors(t *testing.T) {
	for _, tc := range []struct {
		text string
		size int
	}{{"", 400}, {"abc", 262}, {"abc", 10}} {
		if _, err := Train(tc.text, TrainOptions{VocabSize: tc.size}); err == nil || !strings.Contains(err.Error(), "tokenizer: train") {
			t.Errorf("Train(%q, %d): got %v, want a tokenizer: train error", tc.text, tc.size, err)
		}
	}
	for _, specials := range [][]string{{""}, {"<x>", "<x>"}, {"<bos>"}, {"<0x0A>"}} {
		if _, err := Train("abc abc", TrainOptions{VocabSize: 400, Specials: specials}); !errors.Is(err, ErrVocab) {
			t.Errorf("Train with specials %q: got %v, want ErrVocab", specials, err)
		}
	}
	if _, err := Train("abc abc", TrainOptions{VocabSize: 400, Specials: []string{"<0x0a>", "<x>"}}); err != nil {
		t.Errorf("Train with specials <0x0a> (not a byte token's text) and <x>: %v", err)
	}
}
