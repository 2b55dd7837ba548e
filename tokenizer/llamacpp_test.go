package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/zerfoo/zerfoo/gguf"
)

// llamaGoldens is testdata/tokenizer/llamacpp.json, written by
// tools/llamacpp/goldens.mjs from llama.cpp's own tokenizer.
type llamaGoldens struct {
	LlamaCpp struct{ Release string } `json:"llama_cpp"`
	Files    map[string]struct {
		BOS, EOS int32
		Cases    []struct {
			Text         string
			ParseSpecial bool    `json:"parse_special"`
			IDs          []int32 `json:"ids"`
			Detokenized  string
		}
	}
}

func loadTokenizer(t testing.TB, name string) *Tokenizer {
	t.Helper()
	f, err := gguf.Open(filepath.Join(testdataDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tok, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestLlamaCppGoldens checks that Encode gives llama.cpp's token ids, and
// Decode its text, on every recorded case.
func TestLlamaCppGoldens(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testdataDir, "llamacpp.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g llamaGoldens
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Files) != len(vocabFiles) {
		t.Fatalf("goldens cover %d files, want %d", len(g.Files), len(vocabFiles))
	}
	n := 0
	for name, file := range g.Files {
		tok := loadTokenizer(t, name)
		if tok.Vocab().BOS != file.BOS || tok.Vocab().EOS != file.EOS {
			t.Errorf("%s: got BOS %d EOS %d, llama.cpp has %d %d", name, tok.Vocab().BOS, tok.Vocab().EOS, file.BOS, file.EOS)
		}
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
