package tokenizer

import (
	"fmt"
	"strings"
	"testing"
)

// benchVocab is the test vocabulary with n extra special pieces laid out
// like Gemma 3's 6,414: mostly control "<unusedN>" tokens, one in sixteen a
// user-defined HTML-like tag.
func benchVocab(n int) Vocab {
	v := testVocab(700)
	for i := 0; i < n; i++ {
		s, typ := fmt.Sprintf("<unused%d>", i), Control
		if i%16 == 0 {
			s, typ = fmt.Sprintf("<tag%d>", i), UserDefined
		}
		v.Tokens = append(v.Tokens, s)
		v.Scores = append(v.Scores, 0)
		v.Types = append(v.Types, typ)
	}
	return v
}

// benchText is about size bytes of the corpus with a chat turn and a few
// special pieces every few hundred bytes.
func benchText(size int) string {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		b.WriteString("<start_of_turn>user\n")
		b.WriteString(corpus)
		fmt.Fprintf(&b, "<end_of_turn>\n<tag%d><unused%d>\n", 16*(i%50), i%100)
	}
	return b.String()
}

// BenchmarkEncode encodes about 1 MB of text with vocabularies of growing
// numbers of special pieces: the time must not grow with their number.
// Example: go test ./tokenizer -run - -bench Encode -benchtime 3x
func BenchmarkEncode(b *testing.B) {
	text := benchText(1 << 20)
	for _, n := range []int{0, 1000, 6400} {
		tok, err := New(benchVocab(n))
		if err != nil {
			b.Fatal(err)
		}
		for _, special := range []bool{false, true} {
			b.Run(fmt.Sprintf("specials=%d/parseSpecial=%v", len(tok.match.ids), special), func(b *testing.B) {
				for b.Loop() {
					tok.Encode(text, false, special)
				}
				b.ReportMetric(float64(len(text))*float64(b.N)/b.Elapsed().Seconds()/1e6, "MB/s")
			})
		}
	}
}
