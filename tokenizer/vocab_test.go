package tokenizer

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/gguf"
)

var update = flag.Bool("update", false, "rewrite testdata/tokenizer/*.gguf (then rerun tools/llamacpp for the goldens)")

// corpus trains the test vocabulary. Some characters below (in
// outOfVocab) are removed from the vocabulary afterwards so that byte
// fallback is exercised.
const corpus = `The quick brown fox jumps over the lazy dog. Hello world, hello there!
The model reads the text and the tokenizer splits the text into pieces.
Zerfoo runs Gemma models on CPUs: quantized weights, fast kernels, and a tokenizer that matches llama.cpp.
In the beginning there was the word, and the word was tokenized.
café naïve résumé à la crème brûlée, déjà vu, Straße Größe Übermut, señor año mañana
func main() { fmt.Println("hello") } // code, with tabs	and	spaces
你好世界，这是一个测试。日本語のテキストです。한국어 텍스트
numbers 0 1 2 3 4 5 6 7 8 9 10 100 2024 and symbols $ % # @ & * + - = / \ | ~ ^ ' ? ! ; : , . ( ) [ ] < > { }
emoji 👋 🎉 🙂`

// outOfVocab are characters of the corpus left out of the vocabulary.
const outOfVocab = "界测日한👋🎉"

// testVocab builds a SentencePiece-BPE-style vocabulary laid out like
// Gemma's: control tokens first, the 256 byte tokens, then pieces with
// scores (merged pieces score higher the earlier they were learned).
func testVocab(nMerges int) Vocab {
	v := Vocab{BOS: 2, EOS: 1, Unknown: 3, Padding: 0, AddBOS: true}
	seen := map[string]bool{}
	add := func(s string, score float32, typ TokenType) {
		if seen[s] {
			return
		}
		seen[s] = true
		v.Tokens = append(v.Tokens, s)
		v.Scores = append(v.Scores, score)
		v.Types = append(v.Types, typ)
	}
	for _, s := range []string{"<pad>", "<eos>", "<bos>"} {
		add(s, 0, Control)
	}
	add("<unk>", 0, Unknown)
	add("<start_of_turn>", 0, Control)
	add("<end_of_turn>", 0, Control)
	add("<unused0>", 0, Unused)
	add("<table>", 0, UserDefined)
	for b := 0; b < 256; b++ {
		add(fmt.Sprintf("<0x%02X>", b), 0, Byte)
	}
	// BPE training over ▁-prefixed words (SentencePiece treats a space as
	// the start of the next piece).
	text := strings.ReplaceAll(corpus, " ", spaceEsc)
	var words [][]string
	for _, line := range strings.Split(text, "\n") {
		for i, w := range strings.Split(line, spaceEsc) {
			if i > 0 {
				w = spaceEsc + w
			}
			if w == "" {
				continue
			}
			var syms []string
			for _, r := range w {
				syms = append(syms, string(r))
			}
			words = append(words, syms)
		}
	}
	chars := map[string]bool{}
	for _, w := range words {
		for _, s := range w {
			if !strings.Contains(outOfVocab, s) {
				chars[s] = true
			}
		}
	}
	chars["\n"] = true
	known := map[string]bool{}
	var merges []string
	for len(merges) < nMerges {
		count := map[[2]string]int{}
		for _, w := range words {
			for i := 1; i < len(w); i++ {
				count[[2]string{w[i-1], w[i]}]++
			}
		}
		var best [2]string
		bestN := 0
		for p, n := range count {
			if n > bestN || n == bestN && p[0]+"\x00"+p[1] < best[0]+"\x00"+best[1] {
				best, bestN = p, n
			}
		}
		if bestN < 1 {
			break
		}
		m := best[0] + best[1]
		for i, w := range words {
			var nw []string
			for j := 0; j < len(w); j++ {
				if j+1 < len(w) && w[j] == best[0] && w[j+1] == best[1] {
					nw = append(nw, m)
					j++
				} else {
					nw = append(nw, w[j])
				}
			}
			words[i] = nw
		}
		if !known[m] && !strings.ContainsAny(m, outOfVocab) {
			known[m] = true
			merges = append(merges, m)
		}
	}
	for i, m := range merges {
		add(m, -float32(i), Normal)
	}
	// Whitespace runs, as Gemma's vocabulary has them; ▁▁ ties with the
	// first merge so that equal scores occur.
	add(spaceEsc+spaceEsc, 0, Normal)
	add(spaceEsc+spaceEsc+spaceEsc+spaceEsc, -5, Normal)
	add("\n\n", -3, Normal)
	add("\t", -1000, Normal)
	sorted := make([]string, 0, len(chars))
	for c := range chars {
		if !known[c] {
			sorted = append(sorted, c)
		}
	}
	sort.Strings(sorted)
	for i, c := range sorted {
		add(c, -float32(len(merges)+i), Normal)
	}
	return v
}

// vocabFile returns the GGUF metadata of a vocabulary-only Gemma 3 file
// that llama.cpp loads with vocab_only.
func vocabFile(v Vocab, addSpacePrefix, addEOS bool) *gguf.Builder {
	b := gguf.NewBuilder()
	types := make([]int32, len(v.Types))
	for i, t := range v.Types {
		types[i] = int32(t)
	}
	for _, kv := range []struct {
		k string
		v any
	}{
		{gguf.KeyArchitecture, "gemma3"},
		{gguf.KeyName, "zerfoo-test-vocab"},
		{"gemma3.context_length", uint32(128)},
		{"gemma3.embedding_length", uint32(256)},
		{"gemma3.block_count", uint32(1)},
		{"gemma3.feed_forward_length", uint32(256)},
		{"gemma3.attention.head_count", uint32(1)},
		{"gemma3.attention.head_count_kv", uint32(1)},
		{"gemma3.attention.key_length", uint32(256)},
		{"gemma3.attention.value_length", uint32(256)},
		{"gemma3.attention.layer_norm_rms_epsilon", float32(1e-6)},
		{"gemma3.rope.freq_base", float32(1e6)},
		{"gemma3.attention.sliding_window", uint32(512)},
		{KeyModel, "llama"},
		{"tokenizer.ggml.pre", "default"},
		{KeyTokens, v.Tokens},
		{KeyScores, v.Scores},
		{KeyTokenType, types},
		{KeyBOS, uint32(v.BOS)},
		{KeyEOS, uint32(v.EOS)},
		{KeyUnknown, uint32(v.Unknown)},
		{KeyPadding, uint32(v.Padding)},
		{KeyAddBOS, true},
		{KeyAddEOS, addEOS},
		{KeyAddSpacePrefix, addSpacePrefix},
	} {
		if err := b.Set(kv.k, kv.v); err != nil {
			panic(err)
		}
	}
	return b
}

// vocabFiles are the committed test vocabularies: Gemma's flags, and the
// SentencePiece defaults (space prefix) with EOS added.
var vocabFiles = []struct {
	name                   string
	addSpacePrefix, addEOS bool
}{
	{"vocab.gguf", false, false},
	{"vocab_prefix.gguf", true, true},
}

const testdataDir = "../testdata/tokenizer"

func TestWriteVocabFiles(t *testing.T) {
	for _, vf := range vocabFiles {
		b := vocabFile(testVocab(700), vf.addSpacePrefix, vf.addEOS)
		path := filepath.Join(testdataDir, vf.name)
		var sb strings.Builder
		if _, err := b.WriteTo(&sb); err != nil {
			t.Fatal(err)
		}
		if *update {
			if err := os.MkdirAll(testdataDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./tokenizer -run TestWriteVocabFiles -update)", err)
		}
		if string(got) != sb.String() {
			t.Errorf("%s differs from the generator's output; rerun with -update and regenerate the llama.cpp goldens", path)
		}
	}
}
