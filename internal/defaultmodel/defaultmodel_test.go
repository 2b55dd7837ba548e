package defaultmodel

import (
	"bytes"
	"context"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/models/gemma3"
)

// passage is from the Go specification ($(go env GOROOT)/doc/go_spec.html),
// part of the training corpus.
const passage = `A "go" statement starts the execution of a function call
as an independent concurrent thread of control, or goroutine,
within the same address space.`

func TestPath(t *testing.T) {
	if n := len(Bytes()); n > 5<<20 {
		t.Errorf("embedded model is %d bytes, want at most 5 MiB", n)
	}
	p, err := Path()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil || !bytes.Equal(got, Bytes()) {
		t.Fatalf("Path() = %s holds %d bytes (%v), want the %d embedded bytes", p, len(got), err, len(Bytes()))
	}
	if p2, err := Path(); err != nil || p2 != p {
		t.Errorf("second Path() = %q, %v; want %q", p2, err, p)
	}
}

// TestModelKnowsItsCorpus loads the embedded model with the inference
// decoder and measures its cross-entropy on a passage of the corpus: a model
// that learned the Go documentation predicts it far better than the uniform
// ln(1024) ≈ 6.93 nats per token.
func TestModelKnowsItsCorpus(t *testing.T) {
	ctx := context.Background()
	p, err := Path()
	if err != nil {
		t.Fatal(err)
	}
	m, err := generate.Load(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := m.Model.Config
	if c.Layers != 6 || c.Hidden != 128 || c.Vocab != 1024 {
		t.Errorf("config: %d layers, hidden %d, vocab %d; want 6, 128, 1024", c.Layers, c.Hidden, c.Vocab)
	}
	ids := m.Tokenizer.Encode(passage, true, false)
	st := m.Model.NewState(gemma3.StateOptions{MaxLen: len(ids)})
	logits := make([]float32, c.Vocab)
	var nll float64
	for i := 0; i+1 < len(ids); i++ {
		if err := st.Forward(ctx, ids[i:i+1], logits); err != nil {
			t.Fatal(err)
		}
		mx := math.Inf(-1)
		for _, v := range logits {
			mx = math.Max(mx, float64(v))
		}
		var sum float64
		for _, v := range logits {
			sum += math.Exp(float64(v) - mx)
		}
		nll += mx + math.Log(sum) - float64(logits[ids[i+1]])
	}
	nll /= float64(len(ids) - 1)
	t.Logf("passage: %d tokens, %.3f nats/token", len(ids), nll)
	if nll > maxNLL {
		t.Errorf("cross-entropy on a corpus passage: got %.3f nats/token, want at most %.1f", nll, maxNLL)
	}
	out, err := m.Generate(ctx, `A "go" statement starts the`, generate.Options{MaxTokens: 24})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("greedy continuation: %q", out)
	if strings.TrimSpace(out) == "" {
		t.Errorf("greedy continuation is empty")
	}
}

const maxNLL = 3.0
