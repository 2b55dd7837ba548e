package tokenizer

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// tinyVocab has hand-chosen scores so that merge order matters:
// "ab"+"c" beats "a"+"bc" because ab scores higher than bc.
func tinyVocab() Vocab {
	v := Vocab{BOS: 1, EOS: 2, Unknown: 0, Padding: -1, AddBOS: true}
	add := func(s string, score float32, typ TokenType) {
		v.Tokens = append(v.Tokens, s)
		v.Scores = append(v.Scores, score)
		v.Types = append(v.Types, typ)
	}
	add("<unk>", 0, Unknown)   // 0
	add("<s>", 0, Control)     // 1
	add("</s>", 0, Control)    // 2
	add("<u>", 0, UserDefined) // 3
	for b := 0; b < 256; b++ { // 4..259
		add(fmt.Sprintf("<0x%02X>", b), 0, Byte)
	}
	add("a", -10, Normal)    // 260
	add("b", -10, Normal)    // 261
	add("c", -10, Normal)    // 262
	add("ab", -1, Normal)    // 263
	add("bc", -2, Normal)    // 264
	add("abc", -3, Normal)   // 265
	add("▁", -10, Normal)    // 266
	add("▁a", -4, Normal)    // 267
	add("aa", -5, Normal)    // 268
	add("é", -10, Normal)    // 269
	add("cab", -0.5, Normal) // 270
	return v
}

func TestEncodeHandComputed(t *testing.T) {
	tok, err := New(tinyVocab())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		text         string
		add, special bool
		want         []int32
		why          string
	}{
		{"abc", false, false, []int32{265}, "ab (−1) first, then ab+c = abc"},
		{"bc", false, false, []int32{264}, "single merge"},
		{"cabc", false, false, []int32{270, 262}, "ca is not a piece: ab (−1) merges, then c+ab = cab (−0.5) beats ab+c = abc (−3)"},
		{"aaa", false, false, []int32{268, 260}, "tie between the two aa pairs goes to the leftmost"},
		{" a", false, false, []int32{267}, "space becomes ▁"},
		{"  ", false, false, []int32{266, 266}, ""},
		{"d", false, false, []int32{4 + 'd'}, "byte fallback"},
		{"é", false, false, []int32{269}, ""},
		{"è", false, false, []int32{4 + 0xC3, 4 + 0xA8}, "two-byte fallback"},
		{"a<u>b", false, false, []int32{260, 3, 261}, "user-defined tokens always split"},
		{"<s>a", false, false, []int32{4 + '<', 4 + 's', 4 + '>', 260}, "control text is plain text without parseSpecial"},
		{"<s>a", false, true, []int32{1, 260}, "control token with parseSpecial"},
		{"<unk>", false, true, []int32{0}, "unknown token with parseSpecial"},
		{"ab", true, false, []int32{1, 263}, "BOS with addSpecial"},
		{"", true, false, []int32{1}, "BOS only"},
		{"", false, false, nil, "nothing"},
	}
	for _, c := range cases {
		got := tok.Encode(c.text, c.add, c.special)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("Encode(%q, %v, %v): got %v, want %v (%s)", c.text, c.add, c.special, got, c.want, c.why)
		}
	}
}

func TestSpacePrefixAndEOS(t *testing.T) {
	v := tinyVocab()
	v.AddSpacePrefix, v.AddEOS = true, true
	tok, err := New(v)
	if err != nil {
		t.Fatal(err)
	}
	got := tok.Encode("a<s>a", true, true)
	want := []int32{1, 267, 1, 267, 2}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if s, err := tok.Decode([]int32{267, 261}, false); err != nil || s != "ab" {
		t.Errorf("Decode: got %q, %v, want %q (prefix space removed)", s, err, "ab")
	}
}

func TestDecode(t *testing.T) {
	tok, _ := New(tinyVocab())
	for _, c := range []struct {
		ids     []int32
		special bool
		want    string
	}{
		{[]int32{267, 4 + 0xC3, 4 + 0xA8, 3}, false, " aè<u>"},
		{[]int32{1, 265, 2}, false, "abc"},
		{[]int32{1, 265, 2}, true, "<s>abc</s>"},
		{[]int32{0}, true, "<unk>"},
	} {
		got, err := tok.Decode(c.ids, c.special)
		if err != nil || got != c.want {
			t.Errorf("Decode(%v, %v): got %q, %v, want %q", c.ids, c.special, got, err, c.want)
		}
	}
	if _, err := tok.Decode([]int32{271}, false); !errors.Is(err, ErrToken) {
		t.Errorf("Decode(271): got %v, want ErrToken", err)
	}
	if p, err := tok.Piece(267); err != nil || p != "▁a" {
		t.Errorf("Piece(267): got %q, %v", p, err)
	}
}

func TestNewErrors(t *testing.T) {
	v := tinyVocab()
	noBytes := Vocab{Tokens: []string{"a"}, BOS: -1, EOS: -1, Unknown: -1, Padding: -1}
	badScores := v
	badScores.Scores = v.Scores[:3]
	badID := v
	badID.BOS = 999
	for name, bad := range map[string]Vocab{"empty": {}, "no byte fallback": noBytes, "scores": badScores, "bos": badID} {
		if _, err := New(bad); !errors.Is(err, ErrVocab) {
			t.Errorf("%s: got %v, want ErrVocab", name, err)
		}
	}
}

func TestGemmaChat(t *testing.T) {
	got, err := GemmaChat([]Message{
		{"system", "Be brief."},
		{"user", "  Hi there \n"},
		{"assistant", "Hello!"},
		{"user", "Bye"},
	}, true)
	want := "<bos><start_of_turn>user\nBe brief.\n\nHi there<end_of_turn>\n" +
		"<start_of_turn>model\nHello!<end_of_turn>\n" +
		"<start_of_turn>user\nBye<end_of_turn>\n" +
		"<start_of_turn>model\n"
	if err != nil || got != want {
		t.Errorf("got %q, %v\nwant %q", got, err, want)
	}
	got, _ = GemmaChat([]Message{{"user", "x"}}, false)
	if got != "<bos><start_of_turn>user\nx<end_of_turn>\n" {
		t.Errorf("single turn: got %q", got)
	}
	for _, bad := range [][]Message{{{"assistant", "x"}}, {{"user", "a"}, {"user", "b"}}, {{"system", "s"}, {"system", "t"}}} {
		if _, err := GemmaChat(bad, true); err == nil {
			t.Errorf("GemmaChat(%v): got no error", bad)
		}
	}
}

// TestGemmaChatTokens encodes a chat with the llama.cpp-checked test
// vocabulary: the special tokens must come out as single ids, BOS once.
func TestGemmaChatTokens(t *testing.T) {
	tok := loadTokenizer(t, "vocab.gguf")
	s, _ := GemmaChat([]Message{{"user", "hello"}}, true)
	ids := tok.Encode(s, false, true)
	if ids[0] != 2 || ids[1] != 4 || ids[len(ids)-3] != 4 {
		t.Fatalf("got %v, want <bos>=2 <start_of_turn>=4 … <start_of_turn>=4 model \\n", ids)
	}
	back, _ := tok.Decode(ids, true)
	if back != s {
		t.Errorf("Decode: got %q, want %q", back, s)
	}
}

func TestRoundTripCorpus(t *testing.T) {
	tok := loadTokenizer(t, "vocab.gguf")
	for _, line := range strings.Split(corpus+"\n\t \n  x  \x00\x7f", "\n") {
		got, err := tok.Decode(tok.Encode(line, false, false), false)
		if err != nil || got != line {
			t.Errorf("round trip of %q: got %q, %v", line, got, err)
		}
	}
}

func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "Hello world", "  \n\n\t", "café 你好 👋🏽", "<start_of_turn>user\n", "<table>x", "\xff\xfe", "<0x41>"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	tok := loadTokenizer(f, "vocab.gguf")
	tokP := loadTokenizer(f, "vocab_prefix.gguf")
	f.Fuzz(func(t *testing.T, s string, special bool) {
		for _, tk := range []*Tokenizer{tok, tokP} {
			ids := tk.Encode(s, true, special)
			for _, id := range ids {
				if id < 0 || int(id) >= tk.Len() {
					t.Fatalf("Encode(%q): id %d out of range", s, id)
				}
			}
			if !utf8.ValidString(s) || strings.Contains(s, spaceEsc) {
				continue
			}
			if fr := tk.partition(s, special); tk.v.AddSpacePrefix && (len(fr) > 1 || len(fr) == 1 && fr[0].token >= 0) {
				continue // a space prefix after each special token is not undone
			}
			got, err := tk.Decode(tk.Encode(s, false, special), special)
			if err != nil || got != s {
				t.Fatalf("Decode(Encode(%q, parseSpecial=%v)) = %q, %v", s, special, got, err)
			}
		}
	})
}
