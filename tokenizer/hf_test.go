package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

var updateHF = flag.Bool("update-hf", false, "rewrite testdata/hf/tokenizer.json and tokenizer_config.json")

const hfDir = "../testdata/hf"

// hfCorpus trains the synthetic SentencePiece model behind
// testdata/hf/tokenizer.json.
const hfCorpus = `The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs.
Tokenizers split text into pieces, and pieces into ids. Gemma reads the ids.
func main() {
	fmt.Println("hello, world")
	for i := 0; i < 10; i++ {
		total += i * i
	}
}
café naïve résumé, déjà vu; Straße und Größe; señor año mañana
Привет мир, как дела? Привет снова.
你好世界，你好朋友。日本語のテキスト。
numbers 0 1 2 3 4 5 6 7 8 9 10 42 100 2024 3.14 and symbols $ % # @ & * + - = / ( ) [ ] { } < > !
    indented    text   with   runs   of   spaces

and blank lines


and tabs		here`

// spPiece is one piece of a SentencePiece model.
type spPiece struct {
	text  string
	score float32
	typ   TokenType // Normal, Control, Unknown, Byte or UserDefined
}

// hfSynthetic is a small SentencePiece model laid out like Gemma's: the
// control, unknown, byte and trained pieces of Train, then user-defined
// pieces with score 0 (whitespace runs with their ▁, newlines and tabs —
// retyped where Train made them pieces —, tags, <mask>, <unusedN>,
// [multimodal]).
func hfSynthetic(t testing.TB) []spPiece {
	t.Helper()
	v, err := Train(hfCorpus, TrainOptions{VocabSize: 560, Specials: []string{"<start_of_turn>", "<end_of_turn>"}})
	if err != nil {
		t.Fatal(err)
	}
	var sp []spPiece
	at := map[string]int{}
	for i, s := range v.Tokens {
		sp = append(sp, spPiece{s, v.Scores[i], v.Types[i]})
		at[s] = i
	}
	for _, s := range []string{
		"<mask>", "[multimodal]", "<unused0>", "<unused1>", "\n", "\n\n", "\n\n\n",
		"▁▁", "▁▁▁", "▁▁▁▁", "\t", "\t\t", "<table>", "</table>", "<b>", "</s>",
	} {
		if i, ok := at[s]; ok { // a trained piece becomes user-defined, as in Gemma
			sp[i] = spPiece{s, 0, UserDefined}
			continue
		}
		sp = append(sp, spPiece{s, 0, UserDefined})
	}
	return sp
}

// hfFiles converts a SentencePiece model to tokenizer.json and
// tokenizer_config.json as transformers' GemmaConverter does: the vocab
// maps pieces to ids; the merges are every split of every piece into two
// pieces, sorted by the piece's score, then by the lengths (in
// characters) of the halves, longest first, ties in id order; control
// pieces are special added tokens, user-defined ones non-special.
func hfFiles(sp []spPiece) (tok, cfg []byte) {
	ids := map[string]int{}
	for i, p := range sp {
		ids[p.text] = i
	}
	type merge struct {
		l, r  string
		score float32
	}
	var merges []merge
	for _, p := range sp {
		var local []merge
		for i := 1; i < len(p.text); i++ {
			l, r := p.text[:i], p.text[i:]
			if !utf8.ValidString(l) || !utf8.ValidString(r) {
				continue
			}
			_, okL := ids[l]
			_, okR := ids[r]
			if okL && okR {
				local = append(local, merge{l, r, p.score})
			}
		}
		sort.SliceStable(local, func(a, b int) bool {
			if ids[local[a].l] != ids[local[b].l] {
				return ids[local[a].l] < ids[local[b].l]
			}
			return ids[local[a].r] < ids[local[b].r]
		})
		merges = append(merges, local...)
	}
	key := func(m merge) [3]float64 {
		return [3]float64{float64(m.score), float64(utf8.RuneCountInString(m.l)), float64(utf8.RuneCountInString(m.r))}
	}
	sort.SliceStable(merges, func(a, b int) bool {
		ka, kb := key(merges[a]), key(merges[b])
		for i := range ka {
			if ka[i] != kb[i] {
				return ka[i] > kb[i]
			}
		}
		return false
	})

	var b strings.Builder
	str := func(s string) string {
		var sb bytes.Buffer
		enc := json.NewEncoder(&sb)
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		return strings.TrimSuffix(sb.String(), "\n")
	}
	type added struct {
		id      int
		content string
		special bool
	}
	var adds []added
	for i, p := range sp {
		if p.typ == Control || p.typ == UserDefined || p.typ == Unknown {
			adds = append(adds, added{i, p.text, p.typ != UserDefined})
		}
	}
	b.WriteString("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [\n")
	for i, a := range adds {
		fmt.Fprintf(&b, "    {\"id\": %d, \"content\": %s, \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": %v}", a.id, str(a.content), a.special)
		if i < len(adds)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString(`  ],
  "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
  "pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious", "invert": false},
  "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}], "pair": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "<bos>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}], "special_tokens": {"<bos>": {"id": "<bos>", "ids": [2], "tokens": ["<bos>"]}}},
  "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}]},
  "model": {
    "type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null, "end_of_word_suffix": null,
    "fuse_unk": true, "byte_fallback": true, "ignore_merges": false,
    "vocab": {
`)
	for i, p := range sp {
		fmt.Fprintf(&b, "      %s: %d", str(p.text), i)
		if i < len(sp)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("    },\n    \"merges\": [\n")
	for i, m := range merges {
		fmt.Fprintf(&b, "      [%s, %s]", str(m.l), str(m.r))
		if i < len(merges)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("    ]\n  }\n}\n")
	tok = []byte(b.String())

	var c strings.Builder
	c.WriteString("{\n  \"add_bos_token\": true,\n  \"add_eos_token\": false,\n  \"added_tokens_decoder\": {\n")
	for i, a := range adds {
		fmt.Fprintf(&c, "    %s: {\"content\": %s, \"lstrip\": false, \"normalized\": false, \"rstrip\": false, \"single_word\": false, \"special\": %v}", str(strconv.Itoa(a.id)), str(a.content), a.special)
		if i < len(adds)-1 {
			c.WriteString(",")
		}
		c.WriteString("\n")
	}
	c.WriteString("  },\n")
	fmt.Fprintf(&c, "  \"bos_token\": \"<bos>\",\n  \"chat_template\": %s,\n", str(gemmaTemplate))
	c.WriteString(`  "eos_token": "<end_of_turn>",
  "pad_token": "<pad>",
  "tokenizer_class": "GemmaTokenizer",
  "unk_token": "<unk>"
}
`)
	return tok, []byte(c.String())
}

// gemmaTemplate is Gemma 3's chat template (text only), as
// tokenizer_config.json has it.
const gemmaTemplate = "{{ bos_token }}\n{%- if messages[0]['role'] == 'system' -%}\n    {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}\n    {%- set loop_messages = messages[1:] -%}\n{%- else -%}\n    {%- set first_user_prefix = \"\" -%}\n    {%- set loop_messages = messages -%}\n{%- endif -%}\n{%- for message in loop_messages -%}\n    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}\n        {{ raise_exception(\"Conversation roles must alternate user/assistant/user/assistant/...\") }}\n    {%- endif -%}\n    {%- if (message['role'] == 'assistant') -%}\n        {%- set role = \"model\" -%}\n    {%- else -%}\n        {%- set role = message['role'] -%}\n    {%- endif -%}\n    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else \"\") }}\n    {{ message['content'] | trim }}\n    {{ '<end_of_turn>\n' }}\n{%- endfor -%}\n{%- if add_generation_prompt -%}\n    {{'<start_of_turn>model\n'}}\n{%- endif -%}\n"

// ggufVocab converts a SentencePiece model with its tokenizer_config.json
// added tokens as convert_hf_to_gguf.py's _create_vocab_sentencepiece
// does, with the model's own scores: the GGUF path's vocabulary.
func ggufVocab(sp []spPiece) Vocab {
	v := Vocab{BOS: 2, EOS: -1, Unknown: 3, Padding: 0, AddBOS: true}
	for _, p := range sp {
		typ := p.typ
		if typ == UserDefined {
			typ = Normal // the converter reads user-defined pieces as normal…
		}
		v.Tokens = append(v.Tokens, p.text)
		v.Scores = append(v.Scores, p.score)
		v.Types = append(v.Types, typ)
	}
	for i, p := range sp { // …then added_tokens_decoder retypes them
		if p.typ == Control || p.typ == UserDefined || p.typ == Unknown {
			if p.typ != UserDefined || looksSpecial(p.text) {
				v.Types[i] = Control
			} else {
				v.Types[i] = UserDefined
				v.Tokens[i] = strings.ReplaceAll(p.text, spaceEsc, " ")
			}
			v.Scores[i] = -1000
		}
		if p.text == "<end_of_turn>" {
			v.EOS = int32(i)
		}
	}
	return v
}

// TestWriteHFFiles keeps testdata/hf/tokenizer.json and
// tokenizer_config.json equal to what hfFiles makes of hfSynthetic
// (-update-hf rewrites them).
func TestWriteHFFiles(t *testing.T) {
	tok, cfg := hfFiles(hfSynthetic(t))
	for _, f := range []struct {
		name string
		data []byte
	}{{"tokenizer.json", tok}, {"tokenizer_config.json", cfg}} {
		path := filepath.Join(hfDir, f.name)
		if *updateHF {
			if err := os.WriteFile(path, f.data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./tokenizer -run TestWriteHFFiles -update-hf)", err)
		}
		if !bytes.Equal(got, f.data) {
			t.Errorf("%s differs from the generator's output (go test ./tokenizer -run TestWriteHFFiles -update-hf)", path)
		}
	}
}

func readHFFiles(t testing.TB) (tok, cfg []byte) {
	t.Helper()
	tok, err := os.ReadFile(filepath.Join(hfDir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err = os.ReadFile(filepath.Join(hfDir, "tokenizer_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	return tok, cfg
}

// hfTexts are encoded by the synthetic tests: the corpus lines, their
// pieces glued differently, special tokens, whitespace runs, literal ▁
// and text outside the vocabulary.
func hfTexts() []string {
	texts := []string{"", " ", "  ", "   ", "\n", "\n\n\n\n", "\t\t\t", "a  b   c", "x\n\ny",
		"<start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\n",
		"<bos>text<eos>", "<unk><pad><mask><unused1>", "[multimodal]<table><b>bold</b></table></s>",
		"<0x41> <0x0A>", "▁literal ▁▁ ▁ space", "emoji 👋🎉 and ŋ unseen", "日本語のテキスト、你好",
		"The the THE tHe", "totals += i*i;", "3.14159 2024-06-01"}
	for _, line := range strings.Split(hfCorpus, "\n") {
		texts = append(texts, line, strings.ToUpper(line), strings.ReplaceAll(line, " ", ""), strings.ReplaceAll(line, " ", "  "))
	}
	words := strings.Fields(hfCorpus)
	for i := 0; i+3 < len(words); i += 2 {
		texts = append(texts, strings.Join(words[i:i+3], " "), words[i]+words[i+3], " "+words[i+1]+"\t"+words[i+2])
	}
	return texts
}

// TestFromHFSynthetic checks FromHF on the committed synthetic files
// against the GGUF path's vocabulary of the SentencePiece model they were
// converted from: the same pieces, types and special ids, scores in the
// same order, and the same ids for every text.
func TestFromHFSynthetic(t *testing.T) {
	sp := hfSynthetic(t)
	tokJSON, cfgJSON := readHFFiles(t)
	h, err := ParseHF(tokJSON, cfgJSON)
	if err != nil {
		t.Fatal(err)
	}
	want := ggufVocab(sp)
	got := h.Vocab
	if !slices.Equal(got.Tokens, want.Tokens) || !slices.Equal(got.Types, want.Types) {
		for i := range min(len(got.Tokens), len(want.Tokens)) {
			if got.Tokens[i] != want.Tokens[i] || got.Types[i] != want.Types[i] {
				t.Errorf("token %d: got %q type %d, want %q type %d", i, got.Tokens[i], got.Types[i], want.Tokens[i], want.Types[i])
			}
		}
		t.Fatalf("vocabulary of %d tokens, want %d", len(got.Tokens), len(want.Tokens))
	}
	if got.BOS != want.BOS || got.EOS != want.EOS || got.Unknown != want.Unknown || got.Padding != want.Padding ||
		got.AddBOS != want.AddBOS || got.AddEOS != want.AddEOS || got.AddSpacePrefix != want.AddSpacePrefix {
		t.Errorf("specials: got BOS %d EOS %d unk %d pad %d add %v/%v prefix %v, want %d %d %d %d %v/%v %v",
			got.BOS, got.EOS, got.Unknown, got.Padding, got.AddBOS, got.AddEOS, got.AddSpacePrefix,
			want.BOS, want.EOS, want.Unknown, want.Padding, want.AddBOS, want.AddEOS, want.AddSpacePrefix)
	}
	// Normal pieces that merges form keep the model's score order.
	for i := range got.Tokens {
		for j := range got.Tokens {
			if got.Types[i] == Normal && got.Types[j] == Normal && want.Scores[i] > -1e9 && want.Scores[j] > -1e9 &&
				(want.Scores[i] > want.Scores[j]) != (got.Scores[i] > got.Scores[j]) {
				t.Fatalf("pieces %q and %q: scores %v, %v; the model's %v, %v", got.Tokens[i], got.Tokens[j], got.Scores[i], got.Scores[j], want.Scores[i], want.Scores[j])
			}
		}
	}
	if h.ChatTemplate != gemmaTemplate {
		t.Errorf("chat template %q", h.ChatTemplate)
	}
	tok, err := New(got)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := New(want)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, text := range hfTexts() {
		for _, special := range []bool{false, true} {
			g, w := tok.Encode(text, true, special), ref.Encode(text, true, special)
			if !slices.Equal(g, w) {
				t.Errorf("Encode(%q, parseSpecial=%v): got %v, want %v", text, special, g, w)
			}
			n++
		}
	}
	t.Logf("%d encodings identical to the GGUF path's", n)
}

func TestHFMetadataAndTemplate(t *testing.T) {
	tokJSON, cfgJSON := readHFFiles(t)
	h, err := ParseHF(tokJSON, cfgJSON)
	if err != nil {
		t.Fatal(err)
	}
	md := h.Metadata()
	if last := md[len(md)-1]; last.Key != KeyChatTemplate || last.Value != gemmaTemplate {
		t.Errorf("last metadata entry %v", last)
	}
	// A list of named templates: "default" is taken.
	var cfg map[string]any
	if err := json.Unmarshal(cfgJSON, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["chat_template"] = []map[string]string{{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}}
	c2, _ := json.Marshal(cfg)
	if h2, err := ParseHF(tokJSON, c2); err != nil || h2.ChatTemplate != "D" {
		t.Errorf("template list: got %v, %v", h2, err)
	}
	cfg["chat_template"] = []map[string]string{{"name": "tool_use", "template": "T"}}
	c3, _ := json.Marshal(cfg)
	if _, err := ParseHF(tokJSON, c3); err == nil || !strings.Contains(err.Error(), `no "default"`) {
		t.Errorf("template list without default: %v", err)
	}
	// Without tokenizer_config.json: BOS from the post-processor, EOS
	// llama.cpp's default, the template absent.
	h4, err := ParseHF(tokJSON, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h4.Vocab.BOS != 2 || h4.Vocab.EOS != 2 || h4.Vocab.Unknown != 3 || !h4.Vocab.AddBOS || h4.ChatTemplate != "" {
		t.Errorf("no config: BOS %d EOS %d unk %d addBOS %v template %q", h4.Vocab.BOS, h4.Vocab.EOS, h4.Vocab.Unknown, h4.Vocab.AddBOS, h4.ChatTemplate)
	}
}

// editJSON returns tokenizer.json with edit applied to its decoded form.
func editJSON(t *testing.T, data []byte, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFromHFErrors(t *testing.T) {
	tokJSON, cfgJSON := readHFFiles(t)
	model := func(m map[string]any) map[string]any { return m["model"].(map[string]any) }
	for _, c := range []struct {
		name string
		edit func(m map[string]any)
		cfg  string // replaces tokenizer_config.json when set
		want string
	}{
		{"WordPiece", func(m map[string]any) { model(m)["type"] = "WordPiece" }, "", `model type "WordPiece" is not supported`},
		{"Unigram", func(m map[string]any) {
			m["model"] = map[string]any{"type": "Unigram", "vocab": [][]any{{"a", -1.5}}, "unk_id": 0}
		}, "", `model type "Unigram" is not supported`},
		{"no type", func(m map[string]any) { delete(model(m), "type") }, "", `model type "(none)" is not supported`},
		{"no model", func(m map[string]any) { delete(m, "model") }, "", "no model"},
		{"byte-level", func(m map[string]any) { model(m)["byte_fallback"] = false }, "", "without byte_fallback"},
		{"ByteLevel decoder", func(m map[string]any) { m["decoder"] = map[string]any{"type": "ByteLevel"} }, "", "decoder ByteLevel"},
		{"NFKC", func(m map[string]any) {
			m["normalizer"] = map[string]any{"type": "Sequence", "normalizers": []any{map[string]any{"type": "NFKC"}, m["normalizer"]}}
		}, "", `normalizer "NFKC" is not supported`},
		{"no space mapping", func(m map[string]any) { m["normalizer"] = nil; m["pre_tokenizer"] = nil }, "", "maps spaces to ▁"},
		{"Whitespace pre-tokenizer", func(m map[string]any) { m["pre_tokenizer"] = map[string]any{"type": "Whitespace"} }, "", `pre-tokenizer "Whitespace"`},
		{"Metaspace split", func(m map[string]any) {
			m["normalizer"] = nil
			m["pre_tokenizer"] = map[string]any{"type": "Metaspace", "replacement": "▁", "split": true}
		}, "", `pre-tokenizer "Metaspace"`},
		{"merge half missing", func(m map[string]any) { model(m)["merges"] = []any{[]any{"zz", "q"}} }, "", `merge 0 ("zz" "q"): "zz" is not in model.vocab`},
		{"merged piece missing", func(m map[string]any) { model(m)["merges"] = []any{[]any{"<0x41>", "<0x42>"}} }, "", "merged piece is not in model.vocab"},
		{"merge of three", func(m map[string]any) { model(m)["merges"] = []any{[]any{"a", "b", "c"}} }, "", "merge 0 has 3 pieces"},
		{"merge string", func(m map[string]any) { model(m)["merges"] = []any{"a b c"} }, "", `merge 0 "a b c" is not two pieces`},
		{"negative id", func(m map[string]any) { model(m)["vocab"].(map[string]any)["zz"] = -1 }, "", "outside [0,"},
		{"two pieces one id", func(m map[string]any) { model(m)["vocab"].(map[string]any)["zz"] = 5 }, "", "gives id 5 to two pieces"},
		{"sparse ids", func(m map[string]any) { model(m)["vocab"].(map[string]any)["zz"] = 1 << 20 }, "", "ids run to 1048576"},
		{"vocab not an object", func(m map[string]any) { model(m)["vocab"] = []any{"a"} }, "", "model.vocab"},
		{"bad added id", nil, `{"added_tokens_decoder": {"x": {"content": "a"}}}`, `added_tokens_decoder key "x"`},
		{"bad chat template", nil, `{"chat_template": 7}`, "chat_template must be"},
		{"bad config JSON", nil, `{"bos_token": `, "tokenizer_config.json: JSON ends early"},
		{"bad special token", nil, `{"bos_token": 7}`, "tokenizer_config.json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tj, cj := tokJSON, cfgJSON
			if c.edit != nil {
				tj = editJSON(t, tokJSON, c.edit)
			}
			if c.cfg != "" {
				cj = []byte(c.cfg)
			}
			_, err := FromHF(tj, cj)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrVocab) || !strings.Contains(err.Error(), c.want) || strings.ContainsAny(err.Error(), "\n\r") {
				t.Errorf("got %q, want a one-line error wrapping ErrVocab containing %q", err, c.want)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `{"model": 5}`, `{"model": {"type": "BPE", "byte_fallback": true, "vocab": {}}, "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}}`} {
		if _, err := FromHF([]byte(bad), nil); err == nil || !errors.Is(err, ErrVocab) {
			t.Errorf("FromHF(%q): got %v, want an error wrapping ErrVocab", bad, err)
		}
	}
}

// TestFromHFMergeForms checks that "a b" merge strings and [a, b] pairs
// give the same vocabulary.
func TestFromHFMergeForms(t *testing.T) {
	tokJSON, cfgJSON := readHFFiles(t)
	strs := editJSON(t, tokJSON, func(m map[string]any) {
		mm := m["model"].(map[string]any)
		var out []any
		for _, p := range mm["merges"].([]any) {
			pp := p.([]any)
			if strings.Contains(pp[0].(string), " ") || strings.Contains(pp[1].(string), " ") {
				continue
			}
			out = append(out, pp[0].(string)+" "+pp[1].(string))
		}
		mm["merges"] = out
	})
	a, err := ParseHF(tokJSON, cfgJSON)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseHF(strs, cfgJSON)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Vocab.Scores, b.Vocab.Scores) || !slices.Equal(a.Vocab.Tokens, b.Vocab.Tokens) {
		t.Error("merge strings and merge pairs give different vocabularies")
	}
}
