package tokenizer

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

func hfTotalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// hfSmallJSON is the smallest tokenizer.json of Gemma's form that FromHF
// accepts: four special tokens, the 256 byte tokens, a few pieces and
// their merges, user-defined tokens. (The committed synthetic files are
// too large for coverage-guided fuzzing to mutate quickly.)
func hfSmallJSON() string {
	var v []string
	for i, p := range []string{"<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "\n", "▁▁"} {
		v = append(v, fmt.Sprintf("%q:%d", p, i))
	}
	for b := range 256 {
		v = append(v, fmt.Sprintf(`"<0x%02X>":%d`, b, 7+b))
	}
	for i, p := range []string{"▁", "a", "b", "ab", "▁ab", "ba"} {
		v = append(v, fmt.Sprintf("%q:%d", p, 263+i))
	}
	return `{"added_tokens":[{"id":0,"content":"<pad>","special":true},{"id":1,"content":"<eos>","special":true},` +
		`{"id":2,"content":"<bos>","special":true},{"id":3,"content":"<unk>","special":true},` +
		`{"id":4,"content":"<start_of_turn>","special":true},{"id":5,"content":"\n","special":false},{"id":6,"content":"▁▁","special":false}],` +
		`"normalizer":{"type":"Replace","pattern":{"String":" "},"content":"▁"},` +
		`"pre_tokenizer":{"type":"Split","pattern":{"String":" "},"behavior":"MergedWithPrevious"},` +
		`"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<bos>"}},{"Sequence":{"id":"A"}}]},` +
		`"model":{"type":"BPE","unk_token":"<unk>","byte_fallback":true,"vocab":{` + strings.Join(v, ",") +
		`},"merges":[["▁","▁"],["a","b"],["▁","ab"],["b","a"]]}}`
}

// FuzzFromHF feeds arbitrary tokenizer.json and tokenizer_config.json
// contents to FromHF. It must not panic, must allocate no more than a
// small multiple of its input, and a tokenizer it returns must encode and
// decode.
func FuzzFromHF(f *testing.F) {
	small := []byte(hfSmallJSON())
	f.Add(small, []byte(`{"bos_token":"<bos>","eos_token":{"content":"<eos>"},"add_bos_token":false,"chat_template":[{"name":"default","template":"x"}]}`))
	f.Add(small, []byte(nil))
	f.Add([]byte(`{"model": {"type": "BPE", "byte_fallback": true, "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]},
		"normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}, "added_tokens": [{"id": 3, "content": "<s>", "special": true}]}`),
		[]byte(`{"bos_token": "<s>", "added_tokens_decoder": {"1": {"content": "<mask>"}}}`))
	f.Add([]byte(`{"model": {"type": "Unigram", "vocab": [["a", -1]]}}`), []byte(`{}`))
	f.Fuzz(func(t *testing.T, tokJSON, cfgJSON []byte) {
		before := hfTotalAlloc()
		tk, err := FromHF(tokJSON, cfgJSON)
		if got, bound := hfTotalAlloc()-before, 64*uint64(len(tokJSON)+len(cfgJSON))+1<<20; got > bound {
			t.Fatalf("FromHF of %d+%d bytes allocated %d bytes (bound %d); err = %v", len(tokJSON), len(cfgJSON), got, bound, err)
		}
		if err != nil {
			return
		}
		ids := tk.Encode("Hello ▁ wörld  <bos>\n\t日本 ab ba <start_of_turn>", true, true)
		for _, id := range ids {
			if id < 0 || int(id) >= tk.Len() {
				t.Fatalf("Encode gave id %d of %d", id, tk.Len())
			}
		}
		if _, err := tk.Decode(ids, true); err != nil {
			t.Fatal(err)
		}
	})
}

func TestHFSmallSeed(t *testing.T) {
	tk, err := FromHF([]byte(hfSmallJSON()), nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := tk.Encode("ab  ab▁ab ba<start_of_turn>x", true, true)
	// <bos>, ab, "  " (user-defined, renamed from ▁▁), ab, ▁ab, ▁ (there
	// is no ▁ba), ba, <start_of_turn>, then x as its byte.
	want := []int32{2, 266, 6, 266, 267, 263, 268, 4, 7 + 'x'}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", ids, want)
	}
}
