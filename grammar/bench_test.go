package grammar

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// SyntheticVocab returns n distinct tokens shaped like a SentencePiece
// vocabulary of Gemma's size: the 256 bytes, words with and without a
// leading space, digits, punctuation runs, white-space runs, accented and
// CJK pieces.
func syntheticVocab(n int) [][]byte {
	rng := rand.New(rand.NewPCG(262144, 1))
	seen := map[string]bool{}
	var toks [][]byte
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			toks = append(toks, []byte(s))
		}
	}
	for b := range 256 {
		add(string([]byte{byte(b)}))
	}
	punct := []string{`"`, `",`, `":`, `{"`, `"}`, `}`, `},`, `]`, `],`, `[`, `[{`, `,`, `.`, `:`, `(`, `)`, `;`, `\n`, `\"`, `'`, `-`, `_`, `/`, `=`, `==`, `->`, `!`, `?`}
	for len(toks) < n {
		switch k := rng.IntN(20); {
		case k < 12:
			w := make([]byte, 1+rng.IntN(10))
			for i := range w {
				w[i] = byte('a' + rng.IntN(26))
			}
			s := string(w)
			if rng.IntN(10) == 0 {
				s = strings.ToUpper(s[:1]) + s[1:]
			}
			if rng.IntN(5) < 3 {
				s = " " + s
			}
			add(s)
		case k < 14:
			add(punct[rng.IntN(len(punct))] + punct[rng.IntN(len(punct))])
		case k < 15:
			add(strings.Repeat([]string{" ", "\n", "\t"}[rng.IntN(3)], 1+rng.IntN(31)))
		case k < 16:
			add("\n" + strings.Repeat(" ", rng.IntN(16)))
		case k < 18:
			r := make([]rune, 1+rng.IntN(3))
			for i := range r {
				r[i] = rune(0x4E00 + rng.IntN(20000))
			}
			add(string(r))
		default:
			add([]string{"é", "ü", "ñ", " über", " café", "ção", "ß"}[rng.IntN(7)] + string(rune('a'+rng.IntN(26))))
		}
	}
	return toks
}

var benchVocab *Vocab

func vocab262144(b *testing.B) *Vocab {
	if benchVocab == nil {
		benchVocab = NewVocab(syntheticVocab(262144))
	}
	return benchVocab
}

// BenchmarkFill measures the masking of a 262144-token vocabulary at
// several points of a JSON object, the cost of a step whose first sample
// the grammar refused.
func BenchmarkFill(b *testing.B) {
	v := vocab262144(b)
	g, err := FromJSONSchema([]byte(`{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},"tags":{"type":"array","items":{"type":"string","maxLength":8}}},"additionalProperties":{"type":"number"}}`))
	if err != nil {
		b.Fatal(err)
	}
	allow := make([]bool, v.Len())
	for _, tc := range []struct{ name, prefix string }{
		{"start", ``},
		{"key", `{"na`},
		{"string", `{"name": "Jo`},
		{"bounded-string", `{"name": "Jo", "age": 4, "tags": ["ab`},
		{"number", `{"name": "Jo", "age": 4`},
		{"extra-key", `{"name": "Jo", "xy`},
	} {
		m := g.Matcher()
		if !m.Accept([]byte(tc.prefix)) {
			b.Fatalf("%q refused", tc.prefix)
		}
		n := m.Fill(v, allow)
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				m.Fill(v, allow)
			}
			b.ReportMetric(float64(n), "allowed")
		})
	}
}

// BenchmarkAllows measures the check of one sampled token.
func BenchmarkAllows(b *testing.B) {
	m := JSONObject().Matcher()
	m.Accept([]byte(`{"key": [1, 2, {"name": "Jo`))
	for _, tok := range []string{"hn", ` Smith", "age": 42}`} {
		b.Run(fmt.Sprint(len(tok)), func(b *testing.B) {
			for range b.N {
				m.Allows([]byte(tok))
			}
		})
	}
}
