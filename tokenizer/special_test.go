package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// partitionLoop is llama.cpp's tokenizer_st_partition transcribed: one
// scan of every run of text per special piece, longest piece first. It is
// the specification that partition must match.
func partitionLoop(t *Tokenizer, text string, parseSpecial bool) []fragment {
	if text == "" {
		return nil
	}
	frags := []fragment{{text: text, token: -1}}
	if t.match == nil {
		return frags
	}
	for _, id := range t.match.ids {
		if typ := t.types[id]; !parseSpecial && (typ == Control || typ == Unknown) {
			continue
		}
		tok := t.v.Tokens[id]
		var next []fragment
		for _, f := range frags {
			if f.token >= 0 {
				next = append(next, f)
				continue
			}
			rest := f.text
			for {
				i := strings.Index(rest, tok)
				if i < 0 {
					break
				}
				if i > 0 {
					next = append(next, fragment{text: rest[:i], token: -1})
				}
				next = append(next, fragment{token: id})
				rest = rest[i+len(tok):]
			}
			if rest != "" {
				next = append(next, fragment{text: rest, token: -1})
			}
		}
		frags = next
	}
	return frags
}

// withSpecials returns tinyVocab with extra tokens appended.
func withSpecials(extra ...any) Vocab {
	v := tinyVocab()
	for i := 0; i < len(extra); i += 2 {
		v.Tokens = append(v.Tokens, extra[i].(string))
		v.Scores = append(v.Scores, 0)
		v.Types = append(v.Types, extra[i+1].(TokenType))
	}
	return v
}

func TestPartitionHandComputed(t *testing.T) {
	// tinyVocab ends at id 270.
	tok, err := New(withSpecials(
		"x#y#z", UserDefined, // 271
		"w#x", UserDefined, // 272
		"q#r", UserDefined, // 273
		"r#s", UserDefined, // 274
		"%%%", UserDefined, // 275
		"%%", UserDefined, // 276
		"<c>", Control, // 277
	))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		text    string
		special bool
		want    string
	}{
		{"w#x#y#z", false, `"w#" 271`},               // the longer piece first, though the shorter starts further left
		{"q#r#s", false, `273 "#s"`},                 // equal lengths: the lower id first
		{"r#s#q#r", false, `274 "#" 273`},            //
		{"%%%%%%%%", false, `275 275 276`},           // longest first, left to right
		{"%%%%%", false, `275 276`},                  //
		{"%%%%", false, `275 "%"`},                   // %% only sees the runs %%% left
		{"a<c>b", false, `"a<c>b"`},                  // control pieces only with parseSpecial
		{"a<c>b", true, `"a" 277 "b"`},               //
		{"<s><u></s>", false, `"<s>" 3 "</s>"`},      // </s> is control in tinyVocab
		{"<s><u></s>", true, `1 3 2`},                //
		{"", true, ``},                               //
		{"plain", true, `"plain"`},                   //
		{"%w#x#y#z%%q#r", true, `"%w#" 271 276 273`}, //
	} {
		got := fragString(tok.partition(tc.text, tc.special))
		if got != tc.want {
			t.Errorf("partition(%q, parseSpecial=%v) = %s, want %s", tc.text, tc.special, got, tc.want)
		}
		if ref := fragString(partitionLoop(tok, tc.text, tc.special)); ref != got {
			t.Errorf("partition(%q, parseSpecial=%v) = %s, llama.cpp's loop gives %s", tc.text, tc.special, got, ref)
		}
	}
}

func fragString(fs []fragment) string {
	var parts []string
	for _, f := range fs {
		if f.token >= 0 {
			parts = append(parts, fmt.Sprint(f.token))
		} else {
			parts = append(parts, fmt.Sprintf("%q", f.text))
		}
	}
	return strings.Join(parts, " ")
}

// TestPartitionRandom compares partition with llama.cpp's loop on random
// vocabularies of short, overlapping special pieces over a small alphabet.
func TestPartitionRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ab#"
	randString := func(maxLen int) string {
		b := make([]byte, 1+rng.IntN(maxLen))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	types := []TokenType{Control, UserDefined, Unknown, Normal, Unused}
	for iter := 0; iter < 2000; iter++ {
		v := tinyVocab()
		seen := map[string]bool{}
		for _, s := range v.Tokens {
			seen[s] = true
		}
		for n := rng.IntN(12); n > 0; n-- {
			s := randString(5)
			if seen[s] {
				continue
			}
			seen[s] = true
			v.Tokens = append(v.Tokens, s)
			v.Scores = append(v.Scores, 0)
			v.Types = append(v.Types, types[rng.IntN(len(types))])
		}
		tok, err := New(v)
		if err != nil {
			t.Fatal(err)
		}
		for k := 0; k < 5; k++ {
			text := randString(40)
			for _, special := range []bool{false, true} {
				got, want := fragString(tok.partition(text, special)), fragString(partitionLoop(tok, text, special))
				if got != want {
					t.Fatalf("specials %q\ntypes %v\npartition(%q, %v) = %s\nllama.cpp's loop:     %s",
						v.Tokens[len(tinyVocab().Tokens):], v.Types[len(tinyVocab().Tokens):], text, special, got, want)
				}
			}
		}
	}
}

// TestPartitionLinear checks that partition does not scan the text once
// per special piece: text with no special piece in it costs the same with
// 10 or 20,000 special pieces (generous bound: 4× on a loaded machine).
func TestPartitionLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	text := strings.Repeat(corpus, 30)
	cost := func(n int) float64 {
		tok, err := New(benchVocab(n))
		if err != nil {
			t.Fatal(err)
		}
		return float64(testing.Benchmark(func(b *testing.B) {
			for b.Loop() {
				tok.partition(text, true)
			}
		}).NsPerOp())
	}
	small, large := cost(10), cost(20000)
	if large > 4*small+1e5 {
		t.Errorf("partition of %d bytes: %.0f ns with 10 specials, %.0f ns with 20,000", len(text), small, large)
	}
}

// TestHugeSpecialPieces builds the matcher over 1 MB of special text (a
// hostile vocabulary) and still finds the pieces.
func TestHugeSpecialPieces(t *testing.T) {
	a, b := strings.Repeat("ab", 1<<17), strings.Repeat("ba", 1<<17)+"x"
	tok, err := New(withSpecials(a, UserDefined, b, Control, a+"a", Unknown))
	if err != nil {
		t.Fatal(err)
	}
	text := "c" + a + "c" + b + "c"
	if got, want := fragString(tok.partition(text, true)), `"c" 271 "c" 272 "c"`; got != want {
		t.Errorf("partition with huge pieces = %s, want %s", got, want)
	}
	if got, want := fragString(tok.partition(text, false)), fragString(partitionLoop(tok, text, false)); got != want {
		t.Errorf("partition with huge pieces, parseSpecial false = %.80s, llama.cpp's loop gives %.80s", got, want)
	}
}

func TestRetype(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra []any
		fim   uint8
		want  map[string]TokenType
	}{
		{"end of generation", []any{"</s>x", UserDefined, "<end_of_turn>", Normal, "<eos>", Byte, "<|eot_id|>", Unknown},
			0, map[string]TokenType{"</s>x": UserDefined, "<end_of_turn>": Control, "<eos>": Control, "<|eot_id|>": Control}},
		{"fim first by id", []any{"<PRE>", UserDefined, "<fim_prefix>", Normal, "<|file_sep|>", Normal},
			0, map[string]TokenType{"<PRE>": Control, "<fim_prefix>": Normal, "<|file_sep|>": Control}},
		{"fim given by the file", []any{"<PRE>", UserDefined, "<|file_sep|>", Normal},
			1 << fimPre, map[string]TokenType{"<PRE>": UserDefined, "<|file_sep|>": Control}},
		{"gpt-oss", []any{"<|channel|>", Control, "<|message|>", Normal, "<|start|>", Unused},
			0, map[string]TokenType{"<|channel|>": UserDefined, "<|message|>": UserDefined, "<|start|>": UserDefined}},
		{"harmony", []any{"<|end|>", Control, "<|return|>", Control, "<|call|>", Normal},
			0, map[string]TokenType{"<|end|>": UserDefined, "<|return|>": Control, "<|call|>": Control}},
		{"harmony incomplete", []any{"<|end|>", Normal, "<|return|>", Control},
			0, map[string]TokenType{"<|end|>": Control}},
		{"solar-open", []any{"<|end|>", Control, "<|calls|>", Control, "<|flush|>", Control},
			0, map[string]TokenType{"<|end|>": UserDefined}},
		{"gemma4", []any{"<|tool_response>", UserDefined},
			0, map[string]TokenType{"</s>": Normal, "<|tool_response>": Control}},
		{"odd types", []any{"x1", TokenType(7), "x2", TokenType(-3)},
			0, map[string]TokenType{"x1": Undefined, "x2": Undefined}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := withSpecials(tc.extra...)
			v.fimGiven = tc.fim
			tok, err := New(v)
			if err != nil {
				t.Fatal(err)
			}
			for s, want := range tc.want {
				id := tok.byText[s]
				if got := tok.Type(id); got != want {
					t.Errorf("Type(%d %q) = %d, want %d", id, s, got, want)
				}
			}
		})
	}
}

// TestUserDefinedMadeControl is the case of issue 16: Gemma 3's </s> is
// typed user-defined, and llama.cpp spells it out as text unless special
// tokens are parsed.
func TestUserDefinedMadeControl(t *testing.T) {
	v := tinyVocab()
	v.Types[2] = UserDefined // </s>, as Gemma 3 types it
	tok, err := New(v)
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Encode("</s>", false, false); slices.Contains(got, 2) {
		t.Errorf("Encode(%q, parseSpecial=false) = %v: matched </s> (2), want it spelled out", "</s>", got)
	}
	if got := tok.Encode("</s>", false, true); !slices.Equal(got, []int32{2}) {
		t.Errorf("Encode(%q, parseSpecial=true) = %v, want [2]", "</s>", got)
	}
	for _, tc := range []struct {
		render bool
		want   string
	}{{false, "a"}, {true, "a</s>"}} {
		if got, err := tok.Decode([]int32{260, 2}, tc.render); err != nil || got != tc.want {
			t.Errorf("Decode([a </s>], %v) = %q, %v; want %q", tc.render, got, err, tc.want)
		}
	}
	if v.Types[2] != UserDefined {
		t.Error("New changed the caller's Types")
	}
}

func TestNewDuplicateAndEmpty(t *testing.T) {
	v := tinyVocab()
	v.Tokens = append(v.Tokens, "ab")
	v.Scores = append(v.Scores, 0)
	v.Types = append(v.Types, Normal)
	if _, err := New(v); !errors.Is(err, ErrVocab) || !strings.Contains(err.Error(), "263") {
		t.Errorf("New with a duplicate piece: got %v, want ErrVocab naming token 263", err)
	}
	v = withSpecials("", Control, "", Normal)
	caller := slices.Clone(v.Tokens)
	tok, err := New(v)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v.Tokens, caller) {
		t.Error("New changed the caller's Tokens")
	}
	for id, want := range map[int32]string{271: "[EMPTY_271]", 272: "[EMPTY_272]"} {
		if p, _ := tok.Piece(id); p != want {
			t.Errorf("Piece(%d) = %q, want %q (llama.cpp's name for an empty piece)", id, p, want)
		}
	}
	if got := tok.Encode("[EMPTY_271]", false, true); !slices.Equal(got, []int32{271}) {
		t.Errorf("Encode(%q, true) = %v, want [271]", "[EMPTY_271]", got)
	}
	// Duplicates made by the renaming are duplicates too, as in llama.cpp.
	if _, err := New(withSpecials("", Normal, "[EMPTY_271]", Normal)); !errors.Is(err, ErrVocab) {
		t.Errorf("New with [EMPTY_271] twice: got %v, want ErrVocab", err)
	}
}

// specialVocabFiles are vocabularies with control-looking and overlapping
// special pieces, written by TestWriteSpecialVocabFiles -update and
// recorded by llama.cpp with testdata/tokenizer/special_goldens.mjs.
// Each keeps at most 16 special pieces, so that llama.cpp's std::sort of
// equal lengths keeps the vocabulary order (insertion sort).
var specialVocabFiles = []struct {
	name  string
	extra []any
	keys  map[string]any
}{
	{"vocab_retype.gguf", []any{
		"</s>", UserDefined, // Gemma 3: control
		"<|im_end|>", Normal, // end of generation: control
		"<PRE>", UserDefined, // fill-in-the-middle prefix: control
		"<|fim_suffix|>", Normal, // its role's id is in the file: stays normal
		"<|channel|>", Control, // gpt-oss: user-defined
		"<|message|>", Normal, // gpt-oss: user-defined
	}, map[string]any{"tokenizer.ggml.fim_suf_token_id": uint32(5)}},
	{"vocab_overlap.gguf", []any{
		"x#y#z", UserDefined,
		"w#x", UserDefined,
		"q#r", UserDefined,
		"r#s", UserDefined,
		"%%%", UserDefined,
		"%%", UserDefined,
		"<|end|>", Control, // harmony: user-defined
		"<|return|>", Normal,
		"<|call|>", UserDefined,
	}, nil},
	{"vocab_gemma4.gguf", []any{
		"</s>", UserDefined, // with <|tool_response>: normal
		"<|tool_response>", UserDefined,
		"", Control, // named [EMPTY_688]
		"", Normal, // named [EMPTY_689]
	}, nil},
}

func specialVocab(extra []any) Vocab {
	v := testVocab(700)
	for i := 0; i < len(extra); i += 2 {
		v.Tokens = append(v.Tokens, extra[i].(string))
		v.Scores = append(v.Scores, 0)
		v.Types = append(v.Types, extra[i+1].(TokenType))
	}
	return v
}

func TestWriteSpecialVocabFiles(t *testing.T) {
	for _, vf := range specialVocabFiles {
		b := vocabFile(specialVocab(vf.extra), false, false)
		for k, v := range vf.keys {
			if err := b.Set(k, v); err != nil {
				t.Fatal(err)
			}
		}
		var sb strings.Builder
		if _, err := b.WriteTo(&sb); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(testdataDir, vf.name)
		if *update {
			if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./tokenizer -run TestWriteSpecialVocabFiles -update)", err)
		}
		if string(got) != sb.String() {
			t.Errorf("%s differs from the generator's output; rerun with -update and regenerate the llama.cpp goldens", path)
		}
	}
}

// TestLlamaCppSpecialGoldens checks Encode and Decode against llama.cpp on
// the special-piece vocabularies (testdata/tokenizer/llamacpp_special.json).
func TestLlamaCppSpecialGoldens(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testdataDir, "llamacpp_special.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g llamaGoldens
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Files) != len(specialVocabFiles) {
		t.Fatalf("goldens cover %d files, want %d", len(g.Files), len(specialVocabFiles))
	}
	n := 0
	for name, file := range g.Files {
		tok := loadTokenizer(t, name)
		for _, c := range file.Cases {
			got := tok.Encode(c.Text, false, c.ParseSpecial)
			if fmt.Sprint(got) != fmt.Sprint(c.IDs) {
				t.Errorf("%s: Encode(%q, parseSpecial=%v):\ngot  %v\nwant %v (llama.cpp %s)", name, c.Text, c.ParseSpecial, got, c.IDs, g.LlamaCpp.Release)
			}
			dec, err := tok.Decode(c.IDs, c.ParseSpecial)
			if err != nil || dec != c.Detokenized {
				t.Errorf("%s: Decode(%v, %v): got %q, %v, want %q", name, c.IDs, c.ParseSpecial, dec, err, c.Detokenized)
			}
			n++
		}
	}
	t.Logf("%d cases identical to llama.cpp %s", n, g.LlamaCpp.Release)
}
