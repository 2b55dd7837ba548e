package generate

import (
	"math/rand/v2"
	"os"
	"testing"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/grammar"
	"github.com/zerfoo/zerfoo/tokenizer"
)

// BenchmarkConstrainedStep measures what grammar-constrained sampling adds
// to a step on Gemma 3's 262144-token vocabulary (ZERFOO_VOCAB names a
// GGUF holding it; the benchmark is skipped without one): sampling alone,
// sampling whose first pick the grammar accepts, and sampling whose first
// pick it refuses (the vocabulary is masked and sampled again), inside a
// JSON string and between values.
func BenchmarkConstrainedStep(b *testing.B) {
	path := os.Getenv("ZERFOO_VOCAB")
	if path == "" {
		b.Skip("ZERFOO_VOCAB not set")
	}
	f, err := gguf.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	tk, err := tokenizer.FromGGUF(f)
	if err != nil {
		b.Fatal(err)
	}
	m := &Model{Tokenizer: tk, stops: []int32{1, 106}}
	m.grammarVocab()
	n := tk.Len()
	rng := rand.New(rand.NewPCG(1, 1))
	base := make([]float32, n)
	for i := range base {
		base[i] = float32(rng.NormFloat64())
	}
	space := tk.Encode(" the", false, false)[0] // refused between values
	g := grammar.JSONObject()
	for _, sp := range []struct {
		name string
		s    Sampling
	}{{"greedy", Sampling{}}, {"topk40", Sampling{Temperature: 1, TopK: 40}}} {
		for _, tc := range []struct {
			name, prefix string
		}{
			{"plain", ""},
			{"string-accepted", `{"name": "Jo`},
			{"value-refused", `{"name": "Jo", "n": 1`},
			{"string-refused", `{"name": "Jo`},
		} {
			b.Run(sp.name+"/"+tc.name, func(b *testing.B) {
				logits := make([]float32, n)
				copy(logits, base)
				switch tc.name {
				case "string-accepted":
					logits[space] = 100
				case "value-refused":
					logits[space] = 100
				case "string-refused":
					logits[tk.Encode(`"}}`, false, false)[0]] = 100
				}
				smp := newSampler(sp.s, n)
				var con *constraint
				if tc.name != "plain" {
					con = m.newConstraint(g, n)
				}
				work := make([]float32, n)
				b.ResetTimer()
				for range b.N {
					b.StopTimer()
					copy(work, logits)
					if con != nil {
						con.match.Reset()
						con.match.Accept([]byte(tc.prefix))
					}
					b.StartTimer()
					if _, err := con.sample(smp, work, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
